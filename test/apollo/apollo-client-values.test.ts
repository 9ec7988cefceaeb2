// The values ordinary Apollo clients send: null for a field they leave unset or want cleared (Python's
// None, Pipedream sending a search result back), "" for an empty form field, booleans as Python and
// Rails write them ("True", "t", "yes", "on"). Apollo takes them all; so does the facade.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts } from "../fixtures";
import { call, env, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const json = async <T>(r: Response) => (await r.json()) as T;

const send = (key: string, method: string, path: string, body: unknown) =>
  call(`${BASE}${path}`, { method, headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

beforeEach(() => resetClock());

describe("Apollo client values", () => {
  it("an update sending a search result's nulls back clears those fields and keeps the others", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const created = await json<{ contact: { id: string } }>(
      await send(key, "POST", "/contacts", {
        first_name: "Ada",
        email: "ada@calc.test",
        title: "Countess",
        organization_name: "Engine",
        linkedin_url: "https://www.linkedin.com/in/ada",
        contact_stage_id: "",
        owner_id: null,
        label_names: null,
      }),
    );
    const res = await send(key, "PUT", `/contacts/${created.contact.id}`, {
      first_name: "Ada",
      last_name: null,
      title: null,
      linkedin_url: null,
      organization_name: null,
      contact_stage_id: null,
    });
    expect(res.status).toBe(200);
    const row = await env.DB.prepare(
      "SELECT first_name, last_name, title, company, linkedin_url, owner_id, stage_id FROM contacts WHERE id = ?",
    )
      .bind(created.contact.id)
      .first<Record<string, string | null>>();
    expect(row).toMatchObject({ first_name: "Ada", last_name: "", title: null, company: null, linkedin_url: null, owner_id: x.userId });
    expect(row!.stage_id).toBeTruthy();
  });

  it("reads empty strings as absent and booleans in any case, as Python and Rails write them", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    await makeContacts(x.teamId, 2);
    const qs = new URLSearchParams({ api_key: key, sort_ascending: "True", page: "", per_page: "", q_keywords: "" });
    const found = await call(`${BASE}/contacts/search?${qs}`);
    expect(found.status).toBe(200);
    expect((await json<{ contacts: unknown[] }>(found)).contacts).toHaveLength(2);

    const ids = await makeContacts(x.teamId, 4);
    await env.DB.prepare(`UPDATE contacts SET email_status = 'unverified' WHERE id IN (${ids.map(() => "?").join(",")})`)
      .bind(...ids)
      .run();
    for (const [i, word] of ["TRUE", "yes", "On", "t"].entries()) {
      const res = await send(key, "POST", `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
        contact_ids: [ids[i]],
        sequence_unverified_email: word,
        send_email_from_email_account_id: null,
        user_id: "",
        sequence_same_company_in_same_campaign: "True",
      });
      expect(res.status, word).toBe(200);
      expect((await json<{ contacts: { id: string }[] }>(res)).contacts.map((c) => c.id)).toEqual([ids[i]]);
    }
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM enrollments WHERE sequence_id = ?").bind(x.sequenceId).first<{ n: number }>())!.n,
    ).toBe(4);
  });

  it("still refuses a boolean it can't read, naming the field", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const err = await errorOf(await send(key, "POST", "/contacts/search", { sort_ascending: "maybe" }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("sort_ascending");
  });
});
