// Apollo's add_contact_ids with user_id: a master key acting for a member of the team. The key is checked
// as a key (its row, its creator), the member as a user; the runs are the member's (added_by), as Apollo's
// user_id names "the user taking the action".
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeMailbox, makeUser } from "../fixtures";
import { call, env } from "../helpers";
import { masterKey } from "./apollo-key";

const json = async <T>(r: Response) => (await r.json()) as T;

beforeEach(() => resetClock());

describe("Apollo add_contact_ids acting for a member (user_id)", () => {
  it("adds every contact, as the member's runs, when a master key sends user_id = a member (sim.ai's shape)", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    // The member's rights: the sequence is shared with them to edit, and they send from their own mailbox.
    const member = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    const own = await makeMailbox(x.teamId, member);
    const ids = await makeContacts(x.teamId, 3);
    // sim.ai's Apollo tool: JSON body, key in the header, the campaign id repeated, one mailbox, user_id.
    const res = await call(`/apollo/api/v1/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", "cache-control": "no-cache" },
      body: JSON.stringify({
        emailer_campaign_id: x.sequenceId,
        contact_ids: ids,
        send_email_from_email_account_id: own,
        sequence_active_in_other_campaigns: false,
        user_id: member,
      }),
    });
    expect(res.status).toBe(200);
    const body = await json<{ contacts: { id: string }[]; skipped_contact_ids: Record<string, string> }>(res);
    expect(body.skipped_contact_ids).toEqual({});
    expect(body.contacts.map((c) => c.id).sort()).toEqual([...ids].sort());
    const runs = await env.DB.prepare("SELECT contact_id, added_by FROM enrollments WHERE sequence_id = ? ORDER BY contact_id")
      .bind(x.sequenceId)
      .all<{ contact_id: string; added_by: string }>();
    expect(runs.results).toEqual([...ids].sort().map((id) => ({ contact_id: id, added_by: member })));
    const job = await env.DB.prepare("SELECT user_id, status, enrolled FROM jobs WHERE sequence_id = ?")
      .bind(x.sequenceId)
      .first<{ user_id: string; status: string; enrolled: number }>();
    expect(job).toEqual({ user_id: member, status: "completed", enrolled: 3 });
  });

  it("still stops a job acting for a member once that member is disabled (the user's own state), and once the key is revoked", async () => {
    const { callerNow } = await import("../../worker/services/auth");
    const { db } = await import("../../worker/db/client");
    const x = await addContactsSetup();
    await masterKey(x.teamId, x.userId);
    const member = await makeUser(x.teamId, "member");
    const keyId = (await env.DB.prepare("SELECT id FROM api_keys WHERE team_id = ?").bind(x.teamId).first<{ id: string }>())!.id;
    const stored = {
      teamId: x.teamId,
      userId: member,
      role: "admin" as const,
      via: "api_key" as const,
      apiKeyId: keyId,
      apiKeyKind: "master" as const,
    };
    // The member's own rights (a member), never the key's admin ones.
    expect(await callerNow(db(env.DB), stored)).toMatchObject({ userId: member, role: "member" });
    // The key's creator demoted: a master key stops, whoever it acts for.
    await env.DB.prepare("UPDATE users SET role = 'member' WHERE id = ?").bind(x.userId).run();
    expect(await callerNow(db(env.DB), stored)).toBeNull();
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(x.userId).run();
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(member).run();
    expect(await callerNow(db(env.DB), stored)).toBeNull();
    await env.DB.prepare("UPDATE users SET disabled_at = NULL WHERE id = ?").bind(member).run();
    await env.DB.prepare("UPDATE api_keys SET revoked_at = 1 WHERE id = ?").bind(keyId).run();
    expect(await callerNow(db(env.DB), stored)).toBeNull();
  });

  // The review's repro: a master key (an admin's) naming a member added contacts to a sequence the member
  // can't see, sending from a mailbox the member can't send from, as the member (200, enrolled).
  describe("acts with that user's rights exactly", () => {
    const add = (key: string, sequenceId: string, body: Record<string, unknown>) =>
      call(`/apollo/api/v1/emailer_campaigns/${sequenceId}/add_contact_ids`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ sequence_unverified_email: true, ...body }),
      });
    const runsOf = async (sequenceId: string) =>
      (await env.DB.prepare("SELECT COUNT(*) AS n FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n;

    it("a sequence not shared with the member is a 404, and nothing is added or queued", async () => {
      const x = await addContactsSetup();
      const key = await masterKey(x.teamId, x.userId);
      const member = await makeUser(x.teamId, "member");
      const own = await makeMailbox(x.teamId, member);
      const ids = await makeContacts(x.teamId, 1);
      const res = await add(key, x.sequenceId, { contact_ids: ids, send_email_from_email_account_id: own, user_id: member });
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({ error: { code: "not_found", message: "Sequence not found" } });
      expect(await runsOf(x.sequenceId)).toBe(0);
      expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE team_id = ?").bind(x.teamId).first<{ n: number }>())!.n).toBe(0);
    });

    it("another's mailbox is refused naming send_email_from_email_account_id, where the key alone may send from it", async () => {
      const x = await addContactsSetup();
      const key = await masterKey(x.teamId, x.userId);
      const member = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
      const ids = await makeContacts(x.teamId, 1);
      const res = await add(key, x.sequenceId, { contact_ids: ids, send_email_from_email_account_id: x.mailboxIds[0], user_id: member });
      expect([403, 422]).toContain(res.status);
      const { error } = await json<{ error: { message: string; details: { fields: { field: string }[] } } }>(res);
      expect(error.message).toMatch(/^You can't send from .*: only a mailbox's owner or an admin can$/);
      expect(error.details.fields.map((f) => f.field)).toEqual(["send_email_from_email_account_id"]);
      expect(await runsOf(x.sequenceId)).toBe(0);
    });

    it("a disabled user is refused, naming user_id", async () => {
      const x = await addContactsSetup();
      const key = await masterKey(x.teamId, x.userId);
      const member = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
      await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(member).run();
      const ids = await makeContacts(x.teamId, 1);
      const res = await add(key, x.sequenceId, { contact_ids: ids, user_id: member });
      expect(res.status).toBe(422);
      const { error } = await json<{ error: { message: string; details: { fields: { field: string; message: string }[] } } }>(res);
      expect(error.message).toMatch(/disabled/);
      expect(error.details.fields.map((f) => [f.field, f.message])).toEqual([["user_id", "This user is disabled"]]);
      expect(await runsOf(x.sequenceId)).toBe(0);
    });

    it("remove_or_stop_contact_ids for a member who can only view the sequence is refused, and the runs stay", async () => {
      const x = await addContactsSetup();
      const key = await masterKey(x.teamId, x.userId);
      const viewer = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "view" });
      const stranger = await makeUser(x.teamId, "member");
      const ids = await makeContacts(x.teamId, 1);
      expect((await add(key, x.sequenceId, { contact_ids: ids, send_email_from_email_account_id: x.mailboxIds[0] })).status).toBe(200);
      expect(await runsOf(x.sequenceId)).toBe(1);
      const stop = (user_id: string) =>
        call("/apollo/api/v1/emailer_campaigns/remove_or_stop_contact_ids", {
          method: "POST",
          headers: { "x-api-key": key, "content-type": "application/json" },
          body: JSON.stringify({ emailer_campaign_ids: [x.sequenceId], contact_ids: ids, mode: "remove", user_id }),
        });
      expect((await stop(viewer)).status).toBe(403);
      expect((await stop(stranger)).status).toBe(404);
      expect(await runsOf(x.sequenceId)).toBe(1);
    });
  });
});
