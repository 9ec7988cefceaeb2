// Request shapes Apollo documents that the facade must answer like Apollo: the current People API
// Search path, paths written with a trailing slash, and add_contact_ids' send_email_from_email_address.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeMailbox } from "../fixtures";
import { call, env, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const json = async <T>(r: Response) => (await r.json()) as T;

const post = (key: string, path: string, body: unknown) =>
  call(`${BASE}${path}`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

const mailboxOf = async (sequenceId: string, contactId: string) =>
  (
    await env.DB.prepare("SELECT mailbox_id FROM enrollments WHERE sequence_id = ? AND contact_id = ?")
      .bind(sequenceId, contactId)
      .first<{ mailbox_id: string }>()
  )?.mailbox_id;

beforeEach(() => resetClock());

describe("Apollo's documented paths and parameters", () => {
  it("answers mixed_people/api_search as mixed_people/search", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const filters = { person_seniorities: ["director"], per_page: 5 };
    const old = await json<{ people: { id: string }[]; pagination: unknown }>(await post(key, "/mixed_people/search", filters));
    const res = await post(key, "/mixed_people/api_search", filters);
    expect(res.status).toBe(200);
    const current = await json<{ people: { id: string }[]; pagination: unknown }>(res);
    expect(current.people.length).toBeGreaterThan(0);
    expect(current).toEqual(old);
  });

  it("answers a path written with a trailing slash, reads and writes alike", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [c] = await makeContacts(x.teamId, 1);
    const search = await post(key, "/contacts/search/", {});
    expect(search.status).toBe(200);
    expect((await json<{ contacts: { id: string }[] }>(search)).contacts.map((r) => r.id)).toEqual([c]);
    expect((await call(`/apollo/v1/email_accounts/?api_key=${key}`)).status).toBe(200);
    const add = await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids/`, { contact_ids: [c] });
    expect(add.status).toBe(200);
    expect(await mailboxOf(x.sequenceId, c!)).toBe(x.mailboxIds[0]);
  });

  it("sends from the mailbox send_email_from_email_address names, and refuses an address that isn't one", async () => {
    const x = await addContactsSetup({ mailboxes: [{}, {}] });
    const key = await masterKey(x.teamId, x.userId);
    const [one, two, three] = await makeContacts(x.teamId, 3);
    const emailOf = async (id: string) =>
      (await env.DB.prepare("SELECT email FROM mailboxes WHERE id = ?").bind(id).first<{ email: string }>())!.email;
    const second = await emailOf(x.mailboxIds[1]!);

    const alone = await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      contact_ids: [one],
      send_email_from_email_address: second.toUpperCase(),
    });
    expect(alone.status).toBe(200);
    expect(await mailboxOf(x.sequenceId, one!)).toBe(x.mailboxIds[1]);

    const withId = await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      contact_ids: [two],
      send_email_from_email_account_id: x.mailboxIds[1],
      send_email_from_email_address: second,
    });
    expect(withId.status).toBe(200);
    expect(await mailboxOf(x.sequenceId, two!)).toBe(x.mailboxIds[1]);

    // Another account's address, or an address no mailbox of the team has: 422, nobody added.
    const other = await makeMailbox((await addContactsSetup()).teamId, x.userId, {});
    for (const body of [
      { send_email_from_email_account_id: x.mailboxIds[0], send_email_from_email_address: second },
      { send_email_from_email_address: await emailOf(other) },
    ]) {
      const err = await errorOf(await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, { contact_ids: [three], ...body }));
      expect(err).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)[0]!.field).toBe("send_email_from_email_address");
    }
    expect(await mailboxOf(x.sequenceId, three!)).toBeUndefined();
  });
});
