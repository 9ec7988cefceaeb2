// The Apollo facade finds net-new people without their email (no people/match here); the README sends an
// integration to POST /api/people/save with the same key, which reveals it. This holds that path.
import { describe, expect, it } from "vitest";
import { call, env } from "../helpers";
import { addContactsSetup } from "../fixtures";
import { masterKey } from "./apollo-key";

const post = (key: string, path: string, body: unknown) =>
  call(path, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

type Found = { people: { id: string; email: string | null; email_status: string }[]; contacts: { id: string; email: string | null }[] };

describe("Apollo: saving people the facade found", () => {
  it("a person found without email is saved with POST /api/people/save (same key), then is a contact with the address", async () => {
    const x = await addContactsSetup({ credits: 10 });
    const key = await masterKey(x.teamId, x.userId);
    const found = (await (
      await post(key, "/apollo/api/v1/mixed_people/search", { contact_email_status: ["verified"], per_page: 1 })
    ).json()) as Found;
    const person = found.people[0]!;
    expect(person.email).toBeNull();
    const saved = await post(key, "/api/people/save", { people_ids: [person.id], list_name: "From Apollo" });
    expect(saved.status).toBe(200);
    expect(await saved.json()).toMatchObject({ saved: 1, credits_charged: 1 });
    const email = (await env.DB.prepare("SELECT email FROM people WHERE id = ?").bind(person.id).first<{ email: string }>())!.email;
    const again = (await (
      await post(key, "/apollo/api/v1/mixed_people/search", { contact_email_status: ["verified"], per_page: 1 })
    ).json()) as Found;
    expect(again.people.map((p) => p.id)).not.toContain(person.id);
    expect(again.contacts.map((c) => c.email)).toContain(email);
  });
});
