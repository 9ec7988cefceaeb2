// An Apollo add (add_contact_ids) runs as a job acting for the key and its user_id as they are when each
// part of it runs. A revoked key and a disabled user_id both stop it; before, the contacts it had not
// reached were skipped with one reason for both (caller_not_permitted, Apollo's contacts_without_permission),
// and the job said "was revoked, or its user can no longer use it", so an integration could not tell a key
// to replace from a user to enable. Each now has its own reason, and the job says which.
import { beforeEach, describe, expect, it } from "vitest";
import { APOLLO_SKIP_REASON } from "../../worker/apollo/routes";
import { db } from "../../worker/db/client";
import { now, resetClock } from "../../worker/lib/clock";
import type { QueueMessage } from "../../worker/queue/messages";
import { commitAddContacts, processChunk } from "../../worker/services/add-contacts/jobs";
import { callerFromApiKey } from "../../worker/services/auth";
import { addContactsSetup, makeContacts, makeUser, withQueue } from "../fixtures";
import { call, env } from "../helpers";
import { masterKey } from "./apollo-key";

type Setup = Awaited<ReturnType<typeof addContactsSetup>>;

/**
 * The job an Apollo add with `user_id` = a member commits (the key's caller acting for the member, as the
 * route's actingAs makes it), its chunks held back so they run after the change the test makes.
 */
async function apolloAddForMember(x: Setup) {
  const key = await masterKey(x.teamId, x.userId);
  const member = await makeUser(x.teamId, "member");
  const keyCaller = (await callerFromApiKey(db(env.DB), key))!;
  const ids = await makeContacts(x.teamId, 3);
  const sent: QueueMessage[] = [];
  const quiet = withQueue(sent);
  const { job } = await commitAddContacts(
    quiet,
    db(env.DB),
    { ...keyCaller, userId: member },
    x.sequenceId,
    { source: { contact_ids: ids }, mailbox_ids: [x.mailboxIds[0]!], skip_validation: false, enrich: false },
    null,
    "apollo",
  );
  const run = async () => {
    for (const m of sent) if (m.kind === "add_contacts_chunk") await processChunk(quiet, m.jobId, m.from, m.to);
  };
  return { key, member, keyId: keyCaller.apiKeyId!, job, ids, run };
}

const jobRow = (id: string) =>
  env.DB.prepare("SELECT status, error, enrolled, skipped FROM jobs WHERE id = ?").bind(id).first<Record<string, unknown>>();
const reasonsOf = async (jobId: string) =>
  (
    await env.DB.prepare("SELECT reasons FROM job_outcomes WHERE job_id = ? AND outcome = 'skipped'").bind(jobId).all<{ reasons: string }>()
  ).results.map((r) => JSON.parse(r.reasons) as string[]);
const enrolledIn = async (sequenceId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n;

interface Outcomes {
  outcomes: { contact_id: string; outcome: string; reasons: string[] }[];
  reasons: Record<string, { label: string; fix: string }>;
}

beforeEach(() => resetClock());

describe("An Apollo add stopped by who it acts for", () => {
  it("a disabled user_id: its contacts are skipped as caller_disabled, and the job says the user was disabled", async () => {
    const x = await addContactsSetup();
    const a = await apolloAddForMember(x);
    await env.DB.prepare("UPDATE users SET disabled_at = ? WHERE id = ?").bind(now(), a.member).run();
    await a.run();
    expect(await jobRow(a.job.id)).toMatchObject({
      status: "completed",
      error: "Stopped: the user the API key acted for was disabled or removed",
      enrolled: 0,
      skipped: 3,
    });
    expect(await reasonsOf(a.job.id)).toEqual([["caller_disabled"], ["caller_disabled"], ["caller_disabled"]]);
    expect(await enrolledIn(x.sequenceId)).toBe(0);
    // The key still works: the integration follows seqflare.job.url and reads why, in words.
    const res = await call(`/api/jobs/${a.job.id}/outcomes`, { headers: { "x-api-key": a.key } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Outcomes;
    expect(body.outcomes.map((o) => o.reasons)).toEqual([["caller_disabled"], ["caller_disabled"], ["caller_disabled"]]);
    expect(body.reasons.caller_disabled!.label).toBe("Its user was disabled");
    expect(APOLLO_SKIP_REASON.caller_disabled).toBe("contacts_user_disabled");
  });

  it("a revoked key: its contacts are skipped as api_key_revoked, and the job says the key was revoked", async () => {
    const x = await addContactsSetup();
    const a = await apolloAddForMember(x);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(now(), a.keyId).run();
    await a.run();
    expect(await jobRow(a.job.id)).toMatchObject({
      status: "completed",
      error: "Stopped: the API key that asked for it was revoked",
      enrolled: 0,
      skipped: 3,
    });
    expect(await reasonsOf(a.job.id)).toEqual([["api_key_revoked"], ["api_key_revoked"], ["api_key_revoked"]]);
    expect(await enrolledIn(x.sequenceId)).toBe(0);
    // The key no longer answers; the team's admin reads why on the job.
    expect((await call(`/api/jobs/${a.job.id}/outcomes`, { headers: { "x-api-key": a.key } })).status).toBe(401);
    const res = await call(`/api/jobs/${a.job.id}/outcomes`, { headers: { cookie: x.s.cookie } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Outcomes;
    expect(body.outcomes.map((o) => o.reasons)).toEqual([["api_key_revoked"], ["api_key_revoked"], ["api_key_revoked"]]);
    expect(body.reasons.api_key_revoked!.label).toBe("Its API key was revoked");
    expect(APOLLO_SKIP_REASON.api_key_revoked).toBe("contacts_api_key_revoked");
  });

  it("a key whose creator is no longer an admin, the user enabled and the key not revoked, is neither: lost rights", async () => {
    const x = await addContactsSetup();
    const a = await apolloAddForMember(x);
    await env.DB.prepare("UPDATE users SET role = 'member' WHERE id = ?").bind(x.userId).run();
    await a.run();
    expect(await jobRow(a.job.id)).toMatchObject({
      error: "Stopped: the API key that asked for it no longer works: its creator was disabled or is no longer an admin",
      enrolled: 0,
    });
    expect(await reasonsOf(a.job.id)).toEqual([["caller_not_permitted"], ["caller_not_permitted"], ["caller_not_permitted"]]);
  });
});
