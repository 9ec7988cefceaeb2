// Apollo's two-call flow (create a contact, then add it to a sequence) and what add_contact_ids answers
// about the contacts it leaves out (Apollo's skipped_contact_ids, which clients branch on).
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeSequence } from "../fixtures";
import { call, env } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const json = async <T>(r: Response) => (await r.json()) as T;

const post = (key: string, path: string, body: unknown) =>
  call(`${BASE}${path}`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

const enrolledCount = async (sequenceId: string, contactId: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?")
    .bind(sequenceId, contactId)
    .first<{ n: number }>())!.n;

beforeEach(() => resetClock());

describe("Apollo add_contact_ids", () => {
  it("enrolls a contact created through POST contacts with just its email, as Apollo does (the address is the customer's)", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const created = await json<{ contact: { id: string; email_status: string } }>(
      await post(key, "/contacts", { email: "a@b.com", first_name: "A" }),
    );
    expect(created.contact.email_status).toBe("verified");
    const res = await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      contact_ids: [created.contact.id],
      emailer_campaign_id: x.sequenceId,
      send_email_from_email_account_id: x.mailboxIds[0],
    });
    expect(res.status).toBe(200);
    const body = await json<{ contacts: { id: string }[]; skipped_contact_ids: Record<string, string> }>(res);
    expect(body.contacts.map((c) => c.id)).toEqual([created.contact.id]);
    expect(body.skipped_contact_ids).toEqual({});
    expect(await enrolledCount(x.sequenceId, created.contact.id)).toBe(1);
  });

  it("keeps an email_status the client gives: an unverified address is held back and said so", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const created = await json<{ contact: { id: string; email_status: string } }>(
      await post(key, "/contacts", { email: "u@b.com", email_status: "unverified" }),
    );
    expect(created.contact.email_status).toBe("unverified");
    const body = await json<{ contacts: unknown[]; skipped_contact_ids: Record<string, string> }>(
      await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, { contact_ids: [created.contact.id] }),
    );
    expect(body.contacts).toEqual([]);
    expect(body.skipped_contact_ids).toEqual({ [created.contact.id]: "contacts_unverified_email" });
    expect(await enrolledCount(x.sequenceId, created.contact.id)).toBe(0);
  });

  it("answers skipped_contact_ids with Apollo's reason for every contact left out", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const other = await addContactsSetup();
    const [ok, unsub, noEmail, activeElsewhere, already] = await makeContacts(x.teamId, 5);
    const [foreign] = await makeContacts(other.teamId, 1);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE id = ?").bind(unsub),
      env.DB.prepare("UPDATE contacts SET email = NULL, email_status = 'unavailable' WHERE id = ?").bind(noEmail),
    ]);
    // One already here, one active in another sequence of the team.
    expect((await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, { contact_ids: [already] })).status).toBe(200);
    const { sequenceId: elsewhere } = await makeSequence(x.teamId, x.userId, [{ wait: 0 }], x.scheduleId);
    expect((await post(key, `/emailer_campaigns/${elsewhere}/add_contact_ids`, { contact_ids: [activeElsewhere] })).status).toBe(200);

    const res = await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      contact_ids: [ok, unsub, noEmail, activeElsewhere, already, foreign],
    });
    expect(res.status).toBe(200);
    const body = await json<{ contacts: { id: string }[]; skipped_contact_ids: Record<string, string> }>(res);
    expect(body.contacts.map((c) => c.id)).toEqual([ok]);
    expect(body.skipped_contact_ids).toEqual({
      [unsub!]: "contacts_unsubscribed",
      [noEmail!]: "contacts_without_email",
      [activeElsewhere!]: "contacts_active_in_other_campaigns",
      [already!]: "contacts_already_exists_in_current_campaign",
      [foreign!]: "contact_not_found",
    });
    // The override lifts the warning: the contact is added and no longer listed.
    const again = await json<{ contacts: { id: string }[]; skipped_contact_ids: Record<string, string> }>(
      await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
        contact_ids: [activeElsewhere],
        sequence_active_in_other_campaigns: true,
      }),
    );
    expect(again.contacts.map((c) => c.id)).toEqual([activeElsewhere]);
    expect(again.skipped_contact_ids).toEqual({});
    expect(await enrolledCount(x.sequenceId, activeElsewhere!)).toBe(1);
  });
});
