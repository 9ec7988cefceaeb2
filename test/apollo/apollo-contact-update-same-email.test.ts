// Apollo's PUT contacts/{id} from a client that saves the whole contact, its email repeated unchanged: what
// is known of the address stays (a guessed address isn't made verified), and the edit isn't one of the
// address, so a member with a view share of the contact's sequence may still change the title.
import { beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../worker/lib/crypto";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeUser } from "../fixtures";
import { call, env } from "../helpers";
import { masterKey } from "./apollo-key";

const put = (key: string, id: string, body: unknown) =>
  call(`/apollo/api/v1/contacts/${id}`, {
    method: "PUT",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const row = (id: string) =>
  env.DB.prepare("SELECT email, email_status, title FROM contacts WHERE id = ?")
    .bind(id)
    .first<{ email: string; email_status: string; title: string | null }>();

async function standardKey(teamId: string, userId: string) {
  const key = `s-${crypto.randomUUID()}`;
  await env.DB.prepare(
    "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'member', 'standard', ?, ?, 0)",
  )
    .bind(crypto.randomUUID(), teamId, userId, await sha256Hex(key), key.slice(0, 9))
    .run();
  return key;
}

beforeEach(() => resetClock());

describe("Apollo PUT contacts/{id} repeating the contact's email", () => {
  it("keeps a guessed address guessed; a new address is still taken as verified", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [id] = await makeContacts(x.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET email_status = 'guessed' WHERE id = ?").bind(id).run();
    const { email } = (await row(id!))!;
    const res = await put(key, id!, { email: email.toUpperCase(), title: "VP Sales" });
    expect(res.status).toBe(200);
    expect((await res.json()) as { contact: { email_status: string } }).toMatchObject({ contact: { email_status: "guessed" } });
    expect(await row(id!)).toEqual({ email, email_status: "guessed", title: "VP Sales" });
    // A changed address is the customer's to vouch for, as before.
    expect((await put(key, id!, { email: "new.address@example.org" })).status).toBe(200);
    expect(await row(id!)).toMatchObject({ email: "new.address@example.org", email_status: "verified" });
  });

  it("lets a member with a view share change the title of a contact running in that sequence", async () => {
    const x = await addContactsSetup();
    const admin = await masterKey(x.teamId, x.userId);
    const [id] = await makeContacts(x.teamId, 1);
    const added = await call(`/apollo/api/v1/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      method: "POST",
      headers: { "x-api-key": admin, "content-type": "application/json" },
      body: JSON.stringify({ contact_ids: [id] }),
    });
    expect(((await added.json()) as { contacts: { id: string }[] }).contacts.map((c) => c.id)).toEqual([id]);
    // Its address guessed since (a re-check): a default "verified" would be a status change, the editors' call.
    await env.DB.prepare("UPDATE contacts SET email_status = 'guessed' WHERE id = ?").bind(id).run();
    const member = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "view" });
    const key = await standardKey(x.teamId, member);
    const before = (await row(id!))!;
    const res = await put(key, id!, { email: before.email, title: "Head of Sales" });
    expect(res.status).toBe(200);
    expect(await row(id!)).toEqual({ ...before, title: "Head of Sales" });
    // Changing the address itself is still the sequence editors' call.
    expect((await put(key, id!, { email: "elsewhere@example.org" })).status).toBe(403);
    expect((await row(id!))!.email).toBe(before.email);
  });
});
