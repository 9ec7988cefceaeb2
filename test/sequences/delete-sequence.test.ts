// Deleting a sequence: only one nobody was ever added to goes, with its steps, variants, shares and its
// SequenceDO's storage, by its owner or an admin; one with history (or a workflow adding to it) is a 409
// that says why and what to do instead, and nothing of it changes. The delete and an add exclude each
// other: an add committed between the delete's check and its write makes the delete a 409, and an add
// that read the sequence before the delete and commits after writes no job, candidate or hold (404).
import { runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import { db } from "../../worker/db/client";
import type { Caller, Env } from "../../worker/env";
import { newId } from "../../worker/lib/ids";
import { commitAddContacts } from "../../worker/services/add-contacts/jobs";
import { deleteSequence } from "../../worker/services/sequences";
import { client, env, errorOf, ok, type Session } from "../helpers";
import {
  addContactsSetup,
  enroll,
  makeContacts,
  makeList,
  makeMailbox,
  makeSequence,
  makeTeam,
  makeUser,
  sessionFor,
  startSimulation,
} from "../fixtures";

const count = async (q: string, ...args: unknown[]) =>
  (await env.DB.prepare(q)
    .bind(...args)
    .first<{ n: number }>())!.n;

/** Every row the sequence owns, counted by table: what a delete removes and a refused one leaves. */
async function rowsOf(sequenceId: string) {
  return {
    sequence: await count("SELECT count(*) n FROM sequences WHERE id = ?", sequenceId),
    steps: await count("SELECT count(*) n FROM steps WHERE sequence_id = ?", sequenceId),
    variants: await count("SELECT count(*) n FROM step_variants WHERE step_id IN (SELECT id FROM steps WHERE sequence_id = ?)", sequenceId),
    shares: await count("SELECT count(*) n FROM sequence_shares WHERE sequence_id = ?", sequenceId),
    deleted_steps: await count("SELECT count(*) n FROM deleted_steps WHERE sequence_id = ?", sequenceId),
  };
}

/** What the SequenceDO kept of its sequence: its meta rows (the sequence it is bound to, the steps' places...) but its schema version. */
const objectMeta = (sequenceId: string) =>
  runInDurableObject(sequenceStub(env, sequenceId), (_, state) =>
    state.storage.sql
      .exec("SELECT key FROM meta WHERE key <> 'schema' ORDER BY key")
      .toArray()
      .map((r) => r.key),
  );

/** An env whose D1 runs `hook` once, just before the first batch of several statements that `matches`. */
function beforeBatch(base: Env, matches: RegExp, hook: () => Promise<unknown>): Env {
  let done = false;
  const DB = new Proxy(base.DB, {
    get(t, k) {
      if (k === "batch")
        return async (stmts: D1PreparedStatement[]) => {
          const sqls = stmts.map((s) => String((s as unknown as { statement?: string }).statement ?? ""));
          if (!done && stmts.length > 1 && sqls.some((s) => matches.test(s))) {
            done = true;
            await hook();
          }
          return t.batch(stmts);
        };
      const v: unknown = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return { ...base, DB } as Env;
}

/** A sequence with two steps (two variants on the first), shared with a teammate, as a user makes one. */
async function unused(teamId: string, ownerId: string, shareWith: string) {
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    ownerId,
    [
      {
        wait: 0,
        variants: [
          { subject: "A", body: "One" },
          { subject: "B", body: "Two" },
        ],
      },
      { wait: 2 },
    ],
    null,
    false,
  );
  await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'edit')")
    .bind(sequenceId, shareWith, teamId)
    .run();
  return { sequenceId, stepIds };
}

const del = (s: Session, id: string) => client(s).api.sequences[":id"].$delete({ param: { id } });

describe("deleting a sequence", () => {
  beforeEach(() => startSimulation());

  it("one nobody was added to goes with its steps, variants, shares and its object's storage; the team's other sequence stays whole", async () => {
    const { teamId, userId } = await makeTeam();
    const rep = await makeUser(teamId, "member");
    const s = await sessionFor(teamId, userId);
    const gone = await unused(teamId, userId, rep);
    const kept = await unused(teamId, userId, rep);
    // Turned on once (its SequenceDO binds to it and keeps that), then off again: still nobody in it.
    await ok(client(s).api.sequences[":id"].$patch({ param: { id: gone.sequenceId }, json: { active: true } }));
    await ok(client(s).api.sequences[":id"].$patch({ param: { id: gone.sequenceId }, json: { active: false } }));
    expect(await objectMeta(gone.sequenceId)).toContain("sequence_id");
    const before = await rowsOf(kept.sequenceId);
    expect(await rowsOf(gone.sequenceId)).toEqual(before);

    const listed = await ok(client(s).api.sequences.$get({ query: {} }));
    expect(listed.sequences.find((x) => x.id === gone.sequenceId)).toMatchObject({ in_use: null, can_manage: true });

    expect(await ok(del(s, gone.sequenceId))).toEqual({ deleted: true });
    expect(await rowsOf(gone.sequenceId)).toEqual({ sequence: 0, steps: 0, variants: 0, shares: 0, deleted_steps: 0 });
    expect(await rowsOf(kept.sequenceId)).toEqual(before);
    expect(await objectMeta(gone.sequenceId)).toEqual([]);
    const audit = await env.DB.prepare("SELECT user_id, action, details FROM audit_log WHERE team_id = ? AND target_id = ?")
      .bind(teamId, gone.sequenceId)
      .all<{ user_id: string; action: string; details: string }>();
    expect(audit.results.filter((a) => a.action === "sequence.delete")).toEqual([
      { user_id: userId, action: "sequence.delete", details: expect.stringContaining(`"name":"Seq ${gone.sequenceId}"`) },
    ]);
    expect((await client(s).api.sequences[":id"].$get({ param: { id: gone.sequenceId } })).status).toBe(404);
    // Deleted already: a second delete finds nothing, and audits nothing.
    expect((await del(s, gone.sequenceId)).status).toBe(404);
    expect(await count("SELECT count(*) n FROM audit_log WHERE target_id = ? AND action = 'sequence.delete'", gone.sequenceId)).toBe(1);
  });

  it("one somebody was added to is refused (409 sequence_has_history, how many, archive instead) and nothing of it goes", async () => {
    const { teamId, userId } = await makeTeam();
    const rep = await makeUser(teamId, "member");
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await unused(teamId, userId, rep);
    const mailboxId = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mailboxId]);
    const before = await rowsOf(sequenceId);

    const listed = await ok(client(s).api.sequences.$get({ query: {} }));
    expect(listed.sequences.find((x) => x.id === sequenceId)?.in_use).toBe("contacts");
    const res = await del(s, sequenceId);
    expect(res.status).toBe(409);
    const err = await errorOf(res);
    expect(err).toMatchObject({
      code: "sequence_has_history",
      message: "3 people were added to it: archive it instead, its reports and replies stay",
      details: { people: 3 },
    });
    expect(await rowsOf(sequenceId)).toEqual(before);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", sequenceId)).toBe(3);
    expect(await count("SELECT count(*) n FROM audit_log WHERE target_id = ? AND action = 'sequence.delete'", sequenceId)).toBe(0);
  });

  it("one a workflow adds to is refused (409 sequence_in_workflow naming it) and stays", async () => {
    const { teamId, userId } = await makeTeam();
    const rep = await makeUser(teamId, "member");
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await unused(teamId, userId, rep);
    const workflowId = newId();
    await env.DB.prepare(
      "INSERT INTO workflows (id, team_id, owner_id, name, sequence_id, filters, options, interval_minutes, max_per_run, active, created_at) VALUES (?, ?, ?, 'New VPs', ?, '{}', '{}', 1440, 10, 0, 0)",
    )
      .bind(workflowId, teamId, userId, sequenceId)
      .run();
    const before = await rowsOf(sequenceId);

    const { sequence } = await ok(client(s).api.sequences[":id"].$get({ param: { id: sequenceId } }));
    expect(sequence.in_use).toBe("workflow");
    const res = await del(s, sequenceId);
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toMatchObject({
      code: "sequence_in_workflow",
      message: "The workflow “New VPs” adds contacts to it: delete it or point it at another sequence first",
      details: { workflows: [{ id: workflowId, name: "New VPs" }] },
    });
    expect(await rowsOf(sequenceId)).toEqual(before);
  });

  it("an add committed between the delete's check and its write makes the delete a 409, and nothing goes", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    const before = await rowsOf(x.sequenceId);
    let jobId = "";
    // The add commits its job just before the delete's batch runs, after the delete found the sequence unused.
    const racing = beforeBatch(env, /^DELETE FROM "?steps"?/i, async () => {
      const { job } = await commitAddContacts(
        env,
        db(env.DB),
        caller,
        x.sequenceId,
        { source: { contact_ids: [c!] }, mailbox_ids: x.mailboxIds, skip_validation: false, enrich: false, add_at: Date.now() + 60_000 },
        null,
        "session",
      );
      jobId = job.id;
    });
    const refused = await deleteSequence(racing, db(racing.DB), caller, x.sequenceId).catch((e: unknown) => e);
    expect(jobId).not.toBe("");
    expect(refused).toMatchObject({ code: "sequence_has_history" });
    expect(await rowsOf(x.sequenceId)).toEqual(before);
    expect(await count("SELECT count(*) n FROM jobs WHERE id = ? AND sequence_id = ?", jobId, x.sequenceId)).toBe(1);
    expect(await count("SELECT count(*) n FROM audit_log WHERE target_id = ? AND action = 'sequence.delete'", x.sequenceId)).toBe(0);
  });

  it("an add that read the sequence before the delete and commits after it writes no job, candidate or hold (404)", async () => {
    const x = await addContactsSetup({ credits: 1000 });
    const contacts = await makeContacts(x.teamId, 2);
    // No address, a domain: enriching them costs credits, so committed, this add would hold some.
    await env.DB.prepare(
      "UPDATE contacts SET email = NULL, email_status = 'unavailable', domain = 'acme.test' WHERE id IN (SELECT value FROM json_each(?))",
    )
      .bind(JSON.stringify(contacts))
      .run();
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    const balance = await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId);
    const req = {
      source: { contact_ids: contacts },
      mailbox_ids: x.mailboxIds,
      skip_validation: false,
      enrich: true,
      add_at: Date.now() + 60_000,
    };
    const pv = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: x.sequenceId }, query: {}, json: req }),
    );
    expect(pv.credits.maximum).toBeGreaterThan(0);
    // The sequence is deleted just before the add's commit: the add planned against it and is about to write its job.
    const late = beforeBatch(env, /INSERT INTO jobs/i, () => deleteSequence(env, db(env.DB), caller, x.sequenceId));
    const res = await commitAddContacts(late, db(late.DB), caller, x.sequenceId, req, null, "session").catch((e: unknown) => e);
    expect(res).toMatchObject({ code: "not_found" });
    expect(await rowsOf(x.sequenceId)).toMatchObject({ sequence: 0, steps: 0 });
    expect(await count("SELECT count(*) n FROM jobs WHERE sequence_id = ?", x.sequenceId)).toBe(0);
    expect(await count("SELECT count(*) n FROM job_candidates WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await count("SELECT count(*) n FROM credit_ledger WHERE team_id = ? AND kind = 'hold'", x.teamId)).toBe(0);
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(balance);
  });

  it("a large add (planned in pages) that read the sequence before the delete and commits after it writes no job or candidate (404)", async () => {
    const x = await addContactsSetup();
    // More than one plan page (5,000): the job and its candidates are staged in one batch, planned later.
    const list = await makeList(x.teamId, x.userId, await makeContacts(x.teamId, 5_001));
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    const late = beforeBatch(env, /insert into "?jobs"?/i, () => deleteSequence(env, db(env.DB), caller, x.sequenceId));
    const res = await commitAddContacts(
      late,
      db(late.DB),
      caller,
      x.sequenceId,
      { source: { list_ids: [list] }, mailbox_ids: x.mailboxIds, skip_validation: false, enrich: false },
      null,
      "session",
    ).catch((e: unknown) => e);
    expect(res).toMatchObject({ code: "not_found" });
    expect(await rowsOf(x.sequenceId)).toMatchObject({ sequence: 0, steps: 0 });
    expect(await count("SELECT count(*) n FROM jobs WHERE sequence_id = ?", x.sequenceId)).toBe(0);
    expect(await count("SELECT count(*) n FROM job_candidates WHERE team_id = ?", x.teamId)).toBe(0);
  });

  it("is its owner's or an admin's: an editor gets 403, another team 404, and the sequence stays", async () => {
    const { teamId, userId } = await makeTeam();
    const rep = await makeUser(teamId, "member");
    const { sequenceId } = await unused(teamId, userId, rep);
    const before = await rowsOf(sequenceId);

    // The rep may edit it (shared for editing) but not delete it.
    const asRep = await del(await sessionFor(teamId, rep), sequenceId);
    expect(asRep.status).toBe(403);
    expect((await errorOf(asRep)).code).toBe("forbidden");
    const rival = await makeTeam();
    const asRival = await del(await sessionFor(rival.teamId, rival.userId), sequenceId);
    expect(asRival.status).toBe(404);
    expect(await rowsOf(sequenceId)).toEqual(before);

    // Its owner, a member, may.
    const own = await unused(teamId, rep, userId);
    expect(await ok(del(await sessionFor(teamId, rep), own.sequenceId))).toEqual({ deleted: true });
    expect(await rowsOf(own.sequenceId)).toMatchObject({ sequence: 0, steps: 0, variants: 0, shares: 0 });
  });
});
