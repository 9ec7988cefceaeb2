// An add-contacts job acts with the rights of the caller who asked for it, key included, as they are
// when it acts. Before, a job kept only its user: a scheduled add made with an API key started after the
// key was revoked (re-checked as a session of the key's creator, with an admin's rights for a standard
// key), enrolled and spent credits; and a started job's chunks never re-checked anyone.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { now, setClock } from "../../worker/lib/clock";
import type { QueueMessage } from "../../worker/queue/messages";
import { commitAddContacts, processChunk, startDueJobs } from "../../worker/services/add-contacts/jobs";
import { client, env, ok, withKey } from "../helpers";
import { addContactsSetup, HOUR, makeMailbox, makeUser, sessionFor, startSimulation, withQueue } from "../fixtures";

type Setup = Awaited<ReturnType<typeof addContactsSetup>>;

/** Two net-new people with verified addresses: adding them holds 2 credits. */
async function netNewPeople(offset: number) {
  const { results } = await env.DB.prepare(
    "SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 2 OFFSET ?",
  )
    .bind(offset)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

async function standardKey(x: Setup, userId = x.userId) {
  const s = userId === x.userId ? x.s : await sessionFor(x.teamId, userId);
  return ok(client(s).api["api-keys"].$post({ json: { name: `job key ${userId}`, kind: "standard" } }), 201);
}

const jobRow = (id: string) =>
  env.DB.prepare("SELECT status, error, enrolled, skipped, credits_used FROM jobs WHERE id = ?").bind(id).first<Record<string, unknown>>();
const enrolledIn = async (sequenceId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n;
const balance = async (teamId: string) =>
  (await env.DB.prepare("SELECT credit_balance AS b FROM teams WHERE id = ?").bind(teamId).first<{ b: number }>())!.b;

async function scheduleWithKey(key: string, sequenceId: string, people: string[]) {
  const res = await withKey(key, "POST", `/api/sequences/${sequenceId}/add-contacts`, {
    source: { people_ids: people },
    add_at: now() + HOUR,
  });
  if (res.status !== 202) throw new Error(await res.text());
  return ((await res.json()) as { job: { id: string } }).job.id;
}

describe("an add-contacts job's caller, key included, as they are when it acts", () => {
  beforeEach(() => startSimulation());

  it("a scheduled add made with a key revoked before its time doesn't start, says why, and returns its hold", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const { key, api_key } = await standardKey(x);
    const jobId = await scheduleWithKey(key, x.sequenceId, await netNewPeople(0));
    expect(await balance(x.teamId)).toBe(98);
    expect((await client(x.s).api["api-keys"][":id"].$delete({ param: { id: api_key.id } })).status).toBe(200);
    setClock(now() + 2 * HOUR);
    await startDueJobs(env);
    expect(await jobRow(jobId)).toMatchObject({
      status: "failed",
      error: "Not started: the API key that scheduled it was revoked",
    });
    expect(await enrolledIn(x.sequenceId)).toBe(0);
    expect(await balance(x.teamId)).toBe(100);
  });

  it("a standard key's scheduled add starts with a member's rights, whatever its creator's role", async () => {
    const x = await addContactsSetup({ credits: 100 });
    // An admin the sequence is shared with: their standard key may add to it while the share lasts.
    const adminId = await makeUser(x.teamId, "admin", { sequenceId: x.sequenceId, access: "edit" });
    await makeMailbox(x.teamId, adminId);
    const { key } = await standardKey(x, adminId);
    const jobId = await scheduleWithKey(key, x.sequenceId, await netNewPeople(2));
    await env.DB.prepare("DELETE FROM sequence_shares WHERE sequence_id = ? AND user_id = ?").bind(x.sequenceId, adminId).run();
    setClock(now() + 2 * HOUR);
    await startDueJobs(env);
    expect(await jobRow(jobId)).toMatchObject({
      status: "failed",
      error: "Not started: the API key that scheduled it can no longer add contacts to this sequence",
    });
    expect(await enrolledIn(x.sequenceId)).toBe(0);
    expect(await balance(x.teamId)).toBe(100);
  });

  it("a started job's chunks stop once its key is revoked: nobody enrolled, each contact says why, the hold returned", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const { key, api_key } = await standardKey(x);
    expect(key).toBeTruthy();
    const caller: Caller = {
      teamId: x.teamId,
      userId: x.userId,
      role: "member",
      via: "api_key",
      apiKeyId: api_key.id,
      apiKeyKind: "standard",
    };
    const sent: QueueMessage[] = [];
    const quiet = withQueue(sent);
    const { job } = await commitAddContacts(
      quiet,
      db(env.DB),
      caller,
      x.sequenceId,
      { source: { people_ids: await netNewPeople(4) }, skip_validation: false, enrich: false },
      null,
      "api_key",
    );
    expect(await balance(x.teamId)).toBe(98);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(now(), api_key.id).run();
    for (const m of sent) if (m.kind === "add_contacts_chunk") await processChunk(quiet, m.jobId, m.from, m.to);
    expect(await jobRow(job.id)).toMatchObject({
      status: "completed",
      error: "Stopped: the API key that asked for it was revoked",
      enrolled: 0,
      skipped: 2,
      credits_used: 0,
    });
    const reasons = await env.DB.prepare("SELECT reasons FROM job_outcomes WHERE job_id = ?").bind(job.id).all<{ reasons: string }>();
    expect(reasons.results.map((r) => JSON.parse(r.reasons))).toEqual([["api_key_revoked"], ["api_key_revoked"]]);
    expect(await enrolledIn(x.sequenceId)).toBe(0);
    expect(await balance(x.teamId)).toBe(100);
  });
});
