// Apollo's add_contact_ids with user_id: a master key acting for a member of the team. The key is checked
// as a key (its row, its creator), the member as a user; the runs are the member's (added_by), as Apollo's
// user_id names "the user taking the action".
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeUser } from "../fixtures";
import { call, env } from "../helpers";
import { masterKey } from "./apollo-key";

const json = async <T>(r: Response) => (await r.json()) as T;

beforeEach(() => resetClock());

describe("Apollo add_contact_ids acting for a member (user_id)", () => {
  it("adds every contact, as the member's runs, when a master key sends user_id = a member (sim.ai's shape)", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const member = await makeUser(x.teamId, "member");
    const ids = await makeContacts(x.teamId, 3);
    // sim.ai's Apollo tool: JSON body, key in the header, the campaign id repeated, one mailbox, user_id.
    const res = await call(`/apollo/api/v1/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", "cache-control": "no-cache" },
      body: JSON.stringify({
        emailer_campaign_id: x.sequenceId,
        contact_ids: ids,
        send_email_from_email_account_id: x.mailboxIds[0],
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
    expect(await callerNow(db(env.DB), stored)).toMatchObject({ userId: member, role: "admin" });
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
});
