import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { engine, sequenceStub } from "../../durable-objects/engine";
import { MIRROR_SOON_MS } from "../../durable-objects/sequence-do";
import { ALARM_RETRY_MS } from "../../worker/lib/alarms";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { countD1Statements, env } from "../helpers";
import { addContactsSetup, mailboxLedger, makeContacts } from "../fixtures";
import { oneLine, watchStatements } from "./statements";

// D1's copy of a SequenceDO's enrollments (enrollment-mirror.ts). A hand-over changes only a row's
// reason as D1 sees it; a row D1 already has in full then gets its reason alone, the other columns
// (and their indexes) untouched, while a row D1 has not had yet is still inserted in full.
beforeEach(() => resetClock());

async function d1Rows(sequenceId: string) {
  const { results } = await env.DB.prepare("SELECT id, status, current_step, reason FROM enrollments WHERE sequence_id = ? ORDER BY id")
    .bind(sequenceId)
    .all<{ id: string; status: string; current_step: number; reason: string }>();
  return results;
}

describe("the enrollments mirror", () => {
  it("a hand-over of a row D1 already has writes its reason alone", async () => {
    const x = await addContactsSetup({ steps: [{ wait: 1, unit: "minutes" }, { wait: 2 }] });
    const contacts = await makeContacts(x.teamId, 3);
    await engine
      .sequence(env, x.sequenceId, x.teamId)
      .enroll(contacts.map((c, i) => ({ enrollmentId: `m-${i}`, contactId: c, mailboxId: x.mailboxIds[0]!, score: 1, timeZone: null })));
    expect((await d1Rows(x.sequenceId)).map((r) => [r.current_step, r.reason])).toEqual(Array(3).fill([1, "waiting_for_step"]));
    // A column only D1 holds this value of: a full upsert would put the object's value back.
    await env.DB.prepare("UPDATE enrollments SET current_step = 99 WHERE sequence_id = ?").bind(x.sequenceId).run();

    setClock(now() + 2 * 60_000);
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
    expect((await mailboxLedger(x.mailboxIds[0]!)).queue).toHaveLength(3);
    expect((await d1Rows(x.sequenceId)).map((r) => [r.status, r.current_step, r.reason])).toEqual(
      Array(3).fill(["active", 99, "queued_for_mailbox"]),
    );
    const inside = await sequenceStub(env, x.sequenceId).inspect();
    expect(inside.enrollments.map((e) => (e as unknown as { dirty: number }).dirty)).toEqual([0, 0, 0]);

    // Any other change goes in full again.
    await engine.sequence(env, x.sequenceId, x.teamId).pause(["m-0"]);
    expect((await d1Rows(x.sequenceId))[0]).toMatchObject({ status: "paused", current_step: 1, reason: "paused_by_user" });
  });

  it("one page of rows from several jobs and adders gives each row in D1 its own job and adder", async () => {
    // A page names each distinct (job, adder) once and its rows point at theirs (readMirrorPage's sources):
    // three enrolls whose mirror writes D1 refused reach D1 together in the retry's one page.
    const x = await addContactsSetup({ steps: [{ wait: 1 }] });
    const contacts = await makeContacts(x.teamId, 6);
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    const who: [string | null, string | null][] = [
      ["job-b", x.userId],
      [null, x.userId],
      ["job-a", null],
    ];
    await env.DB.prepare("CREATE TRIGGER mirror_down BEFORE INSERT ON enrollments BEGIN SELECT RAISE(ABORT, 'D1 is down'); END").run();
    try {
      for (const [k, [jobId, addedBy]] of who.entries()) {
        const failed = await seq
          .enroll(
            [0, 1].map((j) => ({
              enrollmentId: `s-${k}-${j}`,
              contactId: contacts[k * 2 + j]!,
              mailboxId: x.mailboxIds[0]!,
              score: 1,
              timeZone: null,
              jobId,
              addedBy,
            })),
          )
          .then(
            () => null,
            (e: unknown) => e,
          );
        expect(String(failed)).toMatch(/D1 is down/);
      }
    } finally {
      await env.DB.prepare("DROP TRIGGER mirror_down").run();
    }
    expect(await d1Rows(x.sequenceId)).toEqual([]);
    setClock(now() + ALARM_RETRY_MS);
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
    const { results } = await env.DB.prepare("SELECT id, job_id, added_by FROM enrollments WHERE sequence_id = ? ORDER BY id")
      .bind(x.sequenceId)
      .all<{ id: string; job_id: string | null; added_by: string | null }>();
    expect(results.map((r) => [r.id, r.job_id, r.added_by])).toEqual(
      who.flatMap(([jobId, addedBy], k) => [0, 1].map((j) => [`s-${k}-${j}`, jobId, addedBy])),
    );
  });

  it("mirroring a page rewrites none of its enrollments, and a call that changed nothing reads nothing to mirror", async () => {
    const x = await addContactsSetup({ steps: [{ wait: 1 }, { wait: 2 }] });
    const contacts = await makeContacts(x.teamId, 5);
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    // Every statement the object runs, with its cursor (rows written are read at the end).
    let ran: string[] = [];
    const restore = await watchStatements((q) => ran.push(oneLine(q)));
    const enrollmentWrites = () => ran.filter((q) => /^(UPDATE|INSERT|DELETE)\b[^(]*\benrollments\b/i.test(q)).map((q) => q.slice(0, 40));
    try {
      await seq.enroll(
        contacts.map((c, i) => ({ enrollmentId: `w-${i}`, contactId: c, mailboxId: x.mailboxIds[0]!, score: 1, timeZone: null })),
      );
      // The rows are written once, by the insert; D1 has them all and none is left to mirror.
      expect(enrollmentWrites()).toEqual([expect.stringMatching(/^INSERT INTO enrollments/)]);
      ran = [];
      await seq.stepsDone([]);
      expect(ran.filter((q) => q.includes("json_group_array"))).toEqual([]);
    } finally {
      restore();
    }
    expect((await d1Rows(x.sequenceId)).map((r) => r.id)).toEqual(["w-0", "w-1", "w-2", "w-3", "w-4"]);
    const inside = await sequenceStub(env, x.sequenceId).inspect();
    expect(inside.enrollments.map((e) => (e as unknown as { dirty: number }).dirty)).toEqual([0, 0, 0, 0, 0]);
    // Another change after these goes to D1 as before.
    await seq.pause(["w-1"]);
    expect((await d1Rows(x.sequenceId)).map((r) => r.status)).toEqual(["active", "paused", "active", "active", "active"]);
  });

  it("a step done on a row D1 already has writes the step, its due time and the reason alone", async () => {
    const x = await addContactsSetup({ steps: [{ wait: 1, unit: "minutes" }, { wait: 2 }] });
    const contacts = await makeContacts(x.teamId, 3);
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    await seq.enroll(
      contacts.map((c, i) => ({ enrollmentId: `s-${i}`, contactId: c, mailboxId: x.mailboxIds[0]!, score: 1, timeZone: null })),
    );
    setClock(now() + 2 * 60_000);
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
    // A column only D1 holds this value of: a full upsert would put the object's value back.
    await env.DB.prepare("UPDATE enrollments SET mailbox_id = 'only-in-d1' WHERE sequence_id = ?").bind(x.sequenceId).run();
    const at = now();
    await seq.stepsDone(
      ["s-0", "s-1", "s-2"].map((enrollmentId) => ({ enrollmentId, stepId: x.stepIds[0]!, outcome: "sent" as const, at })),
    );
    const inside = await sequenceStub(env, x.sequenceId).inspect();
    const { results } = await env.DB.prepare(
      "SELECT id, status, mailbox_id, current_step, next_due_at, reason FROM enrollments WHERE sequence_id = ? ORDER BY id",
    )
      .bind(x.sequenceId)
      .all();
    expect(results).toEqual(
      inside.enrollments.map((e) => ({
        id: e.id,
        status: "active",
        mailbox_id: "only-in-d1",
        current_step: 2,
        next_due_at: e.due_at,
        reason: "waiting_for_step",
      })),
    );
    expect(inside.enrollments.map((e) => [e.step_pos, e.waiting, (e as unknown as { dirty: number }).dirty])).toEqual(
      Array(3).fill([2, "timer", 0]),
    );
    // The last step done finishes them: that goes in full again (status, finished_at).
    await seq.stepsDone(
      ["s-0", "s-1"].map((enrollmentId) => ({ enrollmentId, stepId: x.stepIds[1]!, outcome: "sent" as const, at: now() })),
    );
    const after = await d1Rows(x.sequenceId);
    expect(after.map((r) => [r.id, r.status, r.reason])).toEqual([
      ["s-0", "finished", "completed_all_steps"],
      ["s-1", "finished", "completed_all_steps"],
      ["s-2", "active", "waiting_for_step"],
    ]);
  });
});

describe("the enrollments mirror of a mailbox's reports", () => {
  /** Enrolled, handed over to the mailbox (D1 has them in full), reported sent by the tests below. */
  let runs = 0;
  async function handedOver() {
    // Enrollment ids are D1's primary key, and this file's tests share one D1.
    const p = `r${++runs}`;
    const x = await addContactsSetup({ steps: [{ wait: 1, unit: "minutes" }, { wait: 2 }] });
    const contacts = await makeContacts(x.teamId, 3);
    const seq = engine.sequence(env, x.sequenceId, x.teamId);
    await seq.enroll(
      contacts.map((c, i) => ({ enrollmentId: `${p}-${i}`, contactId: c, mailboxId: x.mailboxIds[0]!, score: 1, timeZone: null })),
    );
    setClock(now() + 2 * 60_000);
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
    expect((await d1Rows(x.sequenceId)).map((r) => r.reason)).toEqual(Array(3).fill("queued_for_mailbox"));
    const sent = (ks: number[]) =>
      ks.map((k) => ({ enrollmentId: `${p}-${k}`, stepId: x.stepIds[0]!, outcome: "sent" as const, at: now() }));
    return { x, seq, sent };
  }

  /** Counts D1 statements by pattern, batches included (a mirror page goes out as one). */
  function watchD1(pattern: RegExp) {
    const dbProto = Object.getPrototypeOf(env.DB) as { batch: (s: { statement: string }[]) => Promise<unknown> };
    const batch = dbProto.batch;
    const seen = { batches: 0, statements: 0 };
    const single = countD1Statements(pattern);
    dbProto.batch = function (this: unknown, stmts: { statement: string }[]) {
      const n = stmts.filter((s) => pattern.test(s.statement)).length;
      if (n) seen.batches++;
      seen.statements += n;
      return batch.call(this, stmts);
    };
    return {
      counts: () => ({ ...seen, single: single.n }),
      restore: () => {
        dbProto.batch = batch;
        single.restore();
      },
    };
  }

  it("reports of one moment reach D1 in one mirror write within MIRROR_SOON_MS, with no config read of their own", async () => {
    const { x, seq, sent } = await handedOver();
    const mirror = watchD1(/\benrollments\b/);
    let configReads: ReturnType<typeof watchD1> | null = null;
    try {
      // Two mailboxes' reports a moment apart: the object has them at once, D1 none yet.
      await seq.stepsDone(sent([0]), undefined, "soon");
      await seq.stepsDone(sent([1, 2]), undefined, "soon");
      const inside = await sequenceStub(env, x.sequenceId).inspect();
      expect(inside.enrollments.map((e) => e.step_pos)).toEqual([2, 2, 2]);
      expect(mirror.counts()).toEqual({ batches: 0, statements: 0, single: 0 });
      expect(inside.alarm).toBe(now() + MIRROR_SOON_MS);

      configReads = watchD1(/\bFROM sequences\b/);
      setClock(now() + MIRROR_SOON_MS);
      await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
      // One round trip for both (a report of one result is mirrored in full, the other's step alone: two statements).
      expect(mirror.counts()).toMatchObject({ batches: 1, single: 0 });
      expect(configReads.counts()).toEqual({ batches: 0, statements: 0, single: 0 });
    } finally {
      configReads?.restore();
      mirror.restore();
    }
    expect((await d1Rows(x.sequenceId)).map((r) => [r.current_step, r.reason])).toEqual(Array(3).fill([2, "waiting_for_step"]));
    const after = await sequenceStub(env, x.sequenceId).inspect();
    expect(after.enrollments.map((e) => (e as unknown as { dirty: number }).dirty)).toEqual([0, 0, 0]);
    // Armed for the next step's timers now, not for a mirror write.
    expect(after.alarm).toBe(Math.min(...after.timers.map((t) => t.run_at)));
  });

  it("a restart between a report and its mirror write loses nothing: the stored alarm writes it", async () => {
    const { x, seq, sent } = await handedOver();
    await seq.stepsDone(sent([0, 1, 2]), undefined, "soon");
    await runInDurableObject(sequenceStub(env, x.sequenceId), (_o, state) => state.abort("simulated restart")).catch(() => undefined);
    expect((await d1Rows(x.sequenceId)).map((r) => r.current_step)).toEqual([1, 1, 1]);
    // The mirror write's alarm was stored with the report's changes.
    expect((await sequenceStub(env, x.sequenceId).inspect()).alarm).toBe(now() + MIRROR_SOON_MS);
    setClock(now() + MIRROR_SOON_MS);
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
    expect((await d1Rows(x.sequenceId)).map((r) => [r.current_step, r.reason])).toEqual(Array(3).fill([2, "waiting_for_step"]));
    // Written, and no longer due: the restarted object knew of it and cleared it.
    const after = await sequenceStub(env, x.sequenceId).inspect();
    expect(after.alarm).toBe(Math.min(...after.timers.map((t) => t.run_at)));
  });

  it("a stored mirror write with nothing left to write is cleared, not fired again and again", async () => {
    const { x } = await handedOver();
    // As after a report whose revisions went with a rolled-back transaction, then a restart: flush_at
    // stored, every row in D1.
    const stub = sequenceStub(env, x.sequenceId);
    await runInDurableObject(stub, async (_o, state) => {
      state.storage.sql.exec("INSERT INTO meta (key, value) VALUES ('flush_at', ?)", String(now()));
      // D1 has every row (the kept `mirrored` is saved only every 2,000 revisions: as if it had just been).
      state.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) SELECT 'mirrored', CAST(max(dirty) AS TEXT) FROM enrollments");
      await state.storage.sync();
      state.abort("simulated restart");
    }).catch(() => undefined);
    expect((await sequenceStub(env, x.sequenceId).inspect()).alarm).not.toBe(now());
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
    const after = await sequenceStub(env, x.sequenceId).inspect();
    expect(after.alarm).toBe(Math.min(...after.timers.map((t) => t.run_at)));
    expect(after.alarm).toBeGreaterThan(now());
  });

  it("a mirror write D1 refuses is tried again ALARM_RETRY_MS later, not at once in a loop", async () => {
    const { x, seq, sent } = await handedOver();
    await seq.stepsDone(sent([0, 1, 2]), undefined, "soon");
    await env.DB.prepare("CREATE TRIGGER mirror_down BEFORE UPDATE ON enrollments BEGIN SELECT RAISE(ABORT, 'D1 is down'); END").run();
    try {
      setClock(now() + MIRROR_SOON_MS);
      await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
      expect((await sequenceStub(env, x.sequenceId).inspect()).alarm).toBe(now() + ALARM_RETRY_MS);
    } finally {
      await env.DB.prepare("DROP TRIGGER mirror_down").run();
    }
    expect((await d1Rows(x.sequenceId)).map((r) => r.current_step)).toEqual([1, 1, 1]);
    setClock(now() + ALARM_RETRY_MS);
    await runDurableObjectAlarm(sequenceStub(env, x.sequenceId));
    expect((await d1Rows(x.sequenceId)).map((r) => [r.current_step, r.reason])).toEqual(Array(3).fill([2, "waiting_for_step"]));
  });

  it("an alarm with steps due whose mirror write D1 refuses still hands them over, and D1 gets every row on the retry", async () => {
    const { x, seq, sent } = await handedOver();
    await seq.stepsDone(sent([0, 1, 2]), undefined, "soon");
    const stub = sequenceStub(env, x.sequenceId);
    // The mirror write's moment passes unnoticed (no alarm ran) until the next step falls due.
    const { timers } = await stub.inspect();
    setClock(Math.max(...timers.map((t) => t.run_at)));
    await env.DB.prepare("CREATE TRIGGER mirror_down BEFORE UPDATE ON enrollments BEGIN SELECT RAISE(ABORT, 'D1 is down'); END").run();
    try {
      await runDurableObjectAlarm(stub).catch(() => undefined);
      // The due steps went to the mailbox all the same, and a retry is armed: nothing waits on D1 coming back by itself.
      const queued = (await mailboxLedger(x.mailboxIds[0]!)).queue.filter((r) => r.step_id === x.stepIds[1]);
      expect(queued.map((r) => r.state)).toEqual(["queued", "queued", "queued"]);
      const inside = await stub.inspect();
      expect(inside.alarm).not.toBeNull();
      expect(inside.alarm!).toBeGreaterThan(now());
      expect(inside.alarm!).toBeLessThanOrEqual(now() + ALARM_RETRY_MS);
    } finally {
      await env.DB.prepare("DROP TRIGGER mirror_down").run();
    }
    expect((await d1Rows(x.sequenceId)).map((r) => r.current_step)).toEqual([1, 1, 1]);
    setClock((await stub.inspect()).alarm!);
    await runDurableObjectAlarm(stub);
    expect((await d1Rows(x.sequenceId)).map((r) => [r.current_step, r.reason])).toEqual(Array(3).fill([2, "queued_for_mailbox"]));
    expect((await stub.inspect()).enrollments.map((e) => (e as unknown as { dirty: number }).dirty)).toEqual([0, 0, 0]);
  });

  it("an alarm finding D1 down altogether (the mirror write and the config read) is tried again ALARM_RETRY_MS later", async () => {
    const { x, seq, sent } = await handedOver();
    await seq.stepsDone(sent([0, 1, 2]), undefined, "soon");
    const stub = sequenceStub(env, x.sequenceId);
    const { timers } = await stub.inspect();
    setClock(Math.max(...timers.map((t) => t.run_at)));
    // Every D1 call of this isolate fails, reads included (the objects share the test's isolate and its D1 binding).
    const dbProto = Object.getPrototypeOf(env.DB) as Record<string, unknown>;
    const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, unknown>;
    const saved = { batch: dbProto.batch, raw: stmtProto.raw, all: stmtProto.all, first: stmtProto.first, run: stmtProto.run };
    const down = () => Promise.reject(new Error("D1 is down"));
    Object.assign(dbProto, { batch: down });
    Object.assign(stmtProto, { raw: down, all: down, first: down, run: down });
    try {
      await runDurableObjectAlarm(stub).catch(() => undefined);
    } finally {
      Object.assign(dbProto, { batch: saved.batch });
      Object.assign(stmtProto, { raw: saved.raw, all: saved.all, first: saved.first, run: saved.run });
    }
    expect((await stub.inspect()).alarm).toBe(now() + ALARM_RETRY_MS);
    expect((await d1Rows(x.sequenceId)).map((r) => r.current_step)).toEqual([1, 1, 1]);
    setClock(now() + ALARM_RETRY_MS);
    await runDurableObjectAlarm(stub);
    expect((await d1Rows(x.sequenceId)).map((r) => [r.current_step, r.reason])).toEqual(Array(3).fill([2, "queued_for_mailbox"]));
    const queued = (await mailboxLedger(x.mailboxIds[0]!)).queue.filter((r) => r.step_id === x.stepIds[1]);
    expect(queued.map((r) => r.state)).toEqual(["queued", "queued", "queued"]);
  });
});
