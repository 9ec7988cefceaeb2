// Apollo's contacts/search orders and sequence filter: an order it can't apply is refused (it sorted by
// creation date in silence), and emailer_campaign_ids[] keeps to the contacts of sequences the caller sees.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeSequence } from "../fixtures";
import { call, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const json = async <T>(r: Response) => (await r.json()) as T;

const post = (key: string, path: string, body: unknown) =>
  call(`${BASE}${path}`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

beforeEach(() => resetClock());

describe("Apollo contacts/search", () => {
  it("refuses an order it can't apply and applies those it can", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    await makeContacts(x.teamId, 2);
    for (const field of ["contact_last_activity_date", "contact_email_last_opened_at", "contact_email_last_clicked_at"]) {
      const err = await errorOf(await post(key, "/contacts/search", { sort_by_field: field }));
      expect(err, field).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)[0]!.field).toBe("sort_by_field");
    }
    for (const field of ["contact_created_at", "contact_updated_at", "contact_last_name"])
      expect((await post(key, "/contacts/search", { sort_by_field: field })).status, field).toBe(200);
  });

  it("keeps to the contacts of the sequences in emailer_campaign_ids; another team's sequence answers 404", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [a, b, c] = await makeContacts(x.teamId, 3);
    const { sequenceId: second } = await makeSequence(x.teamId, x.userId, [{ wait: 0 }], x.scheduleId);
    await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, { contact_ids: [a] });
    await post(key, `/emailer_campaigns/${second}/add_contact_ids`, { contact_ids: [b], sequence_active_in_other_campaigns: true });
    const ids = async (campaigns: string[]) =>
      (await json<{ contacts: { id: string }[] }>(await post(key, "/contacts/search", { emailer_campaign_ids: campaigns }))).contacts
        .map((r) => r.id)
        .sort();
    expect(await ids([x.sequenceId])).toEqual([a]);
    expect(await ids([x.sequenceId, second])).toEqual([a, b].sort());
    expect(await ids([])).toEqual([a, b, c].sort());
    const other = await addContactsSetup();
    const err = await errorOf(await post(key, "/contacts/search", { emailer_campaign_ids: [other.sequenceId] }));
    expect(err).toMatchObject({ status: 404, code: "not_found" });
  });

  it("counts emailer_campaign_ids by distinct id: the caller's own sequence sent twice is no 404", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [a] = await makeContacts(x.teamId, 2);
    await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, { contact_ids: [a] });
    const found = await post(key, "/contacts/search", { emailer_campaign_ids: [x.sequenceId, x.sequenceId] });
    expect(found.status).toBe(200);
    expect((await json<{ contacts: { id: string }[] }>(found)).contacts.map((r) => r.id)).toEqual([a]);
    const messages = await post(key, "/emailer_messages/search", { emailer_campaign_ids: [x.sequenceId, x.sequenceId] });
    expect(messages.status).toBe(200);
    // A repeated own id does not hide another team's sequence sent with it.
    const other = await addContactsSetup();
    for (const path of ["/contacts/search", "/emailer_messages/search"]) {
      const err = await errorOf(await post(key, path, { emailer_campaign_ids: [x.sequenceId, x.sequenceId, other.sequenceId] }));
      expect(err, path).toMatchObject({ status: 404, code: "not_found" });
    }
  });
});
