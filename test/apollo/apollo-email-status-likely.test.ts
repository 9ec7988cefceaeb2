// Apollo documents contact_email_status values "verified", "unverified", "likely to engage" and
// "unavailable"; "likely to engage" was a 422, so an integration copying Apollo's examples couldn't search.
// Apollo's "likely to engage" is a verified address it also saw activity on: here, every verified address.
import { describe, expect, it } from "vitest";
import { call, env } from "../helpers";
import { addContactsSetup } from "../fixtures";
import { masterKey } from "./apollo-key";

type Answer = { people: { email_status: string }[]; contacts: unknown[]; pagination: { total_entries: number } };

const search = (key: string, body: unknown) =>
  call("/apollo/api/v1/mixed_people/api_search", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("Apollo people search contact_email_status", () => {
  it('"likely to engage" finds the people with a verified address, and no one else', async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const verified = (await env.DB.prepare("SELECT count(*) AS n FROM people WHERE email_status = 'verified'").first<{ n: number }>())!.n;
    const all = (await env.DB.prepare("SELECT count(*) AS n FROM people").first<{ n: number }>())!.n;
    expect(verified).toBeGreaterThan(0);
    expect(verified).toBeLessThan(all);
    for (const value of ["likely to engage", "likely_to_engage"]) {
      const res = await search(key, { contact_email_status: [value], per_page: 100 });
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as Answer;
      expect(body.pagination.total_entries).toBe(verified);
      expect(body.people.length).toBeGreaterThan(0);
      expect(body.people.every((p) => p.email_status === "verified")).toBe(true);
    }
    // With "verified" too it is the same search, not twice the people.
    const both = (await (await search(key, { contact_email_status: ["likely to engage", "verified"] })).json()) as Answer;
    expect(both.pagination.total_entries).toBe(verified);
  });
});
