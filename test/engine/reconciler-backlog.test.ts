// The reconciler's checks on steps a mailbox holds (invariant 10) at the cost the sending benchmark
// measures: a mailbox with days of backlog is asked about each queued email a few times, not every day,
// and a hand-over the mailbox lost while it waited is still repaired within a week. Sends are counted at
// the transport.
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mailboxStub } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { env } from "../helpers";
import { oneLine, watchStatements, type Counted } from "./statements";
import {
  DAY,
  enroll,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sequenceState,
  SIM_START,
  startSimulation,
} from "../fixtures";

type Probe = (this: unknown, mailboxId: string, items: { enrollmentId: string; stepId: string }[]) => Promise<unknown>;

describe("reconciler checks on a mailbox's backlog", () => {
  const restore: (() => void)[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const r of restore.splice(0)) r();
  });

  /** One email step, `n` contacts on one mailbox that sends `daily` a day: the last ones wait weeks. */
  async function backlog(n: number, daily: number) {
    const { teamId, userId } = await makeTeam();
    const scheduleId = await makeSchedule(teamId, {
      windows: Object.fromEntries(["1", "2", "3", "4", "5", "6", "7"].map((d) => [d, [["00:00", "24:00"]]])),
    });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
    const mailboxId = await makeMailbox(teamId, userId, { daily, hourly: daily, gapSeconds: 0 });
    const sent: string[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (sent.push(e.messageId), { ok: true, response: "counted" }),
    });
    restore.push(() => setTransportOverride(mailboxId, null));
    const contacts = await makeContacts(teamId, n);
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    // Count the keys the SequenceDOs ask the mailbox about (the reconciler's probe).
    const proto = (await runInDurableObject(mailboxStub(env, mailboxId), (o) => Object.getPrototypeOf(o))) as { probe: Probe };
    const orig = proto.probe;
    const asked: string[] = [];
    proto.probe = function (mailboxId, items) {
      asked.push(...items.map((i) => i.enrollmentId));
      return orig.call(this, mailboxId, items);
    };
    restore.push(() => (proto.probe = orig));
    return { sequenceId, mailboxId, sent, asked };
  }

  it("asks about each queued email a few times while it waits weeks, not every day, and sends each once", async () => {
    const { sent, asked } = await backlog(20, 1);
    await runUntil(SIM_START + 22 * DAY);
    expect(sent.length).toBe(20);
    expect(new Set(sent).size).toBe(20);
    // Every day: the i-th email waits about i days and is checked each of them (about 190 checks in all).
    // After one day, then after as many days as it waited (at most a week): about 4 checks at most each.
    expect(asked.length).toBeLessThanOrEqual(20 * 4);
    const perEmail = new Map<string, number>();
    for (const id of asked) perEmail.set(id, (perEmail.get(id) ?? 0) + 1);
    expect(Math.max(...perEmail.values())).toBeLessThanOrEqual(5);
  });

  it("a queued email the mailbox lost while it waited is handed over again within a week and sent once", async () => {
    const { sequenceId, mailboxId, sent } = await backlog(3, 1);
    await runUntil(SIM_START + 2 * 60_000);
    // The third email waits in the queue; the mailbox loses it (as if its row were gone).
    const { queue } = await mailboxLedger(mailboxId);
    const lost = queue.filter((r) => r.state === "queued").at(-1)!;
    await runInDurableObject(mailboxStub(env, mailboxId), (_o, state) => {
      state.storage.sql.exec("DELETE FROM queue WHERE enrollment_id = ? AND step_id = ?", lost.enrollment_id, lost.step_id);
    });
    await runUntil(now() + 9 * DAY);
    expect(sent.length).toBe(3);
    expect(new Set(sent).size).toBe(3);
    const st = await sequenceState(sequenceId);
    expect(st.enrollments.find((e) => e.id === lost.enrollment_id)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("a backlog costs its objects a few rows per pass: the next alarm is one index entry, the checks' answers one statement", async () => {
    // 300 emails, 10 a day: the mailbox holds about 290 queued for weeks and is asked about them.
    const { asked } = await backlog(300, 10);
    await runUntil(SIM_START + 2 * 60_000);
    const ran: { q: string; b: unknown[]; cursor: Counted }[] = [];
    const stop = await watchStatements((q, b, cursor) => ran.push({ q: oneLine(q), b, cursor }));
    try {
      await runUntil(now() + 3 * DAY);
    } finally {
      stop();
    }
    expect(asked.length, "the reconciler asked about the backlog").toBeGreaterThan(200);
    // The mailbox's next alarm: each window group's earliest ready row, not a walk over every queued row.
    const next = ran.filter((r) => /^SELECT (min\()?max\(due_at, coalesce\(next_attempt_at, 0\)\)/.test(r.q));
    expect(next.length).toBeGreaterThan(0);
    expect(Math.max(...next.map((r) => r.cursor.rowsRead)), next[0]!.q).toBeLessThanOrEqual(2);
    // The mailbox's answers about queued emails move timers in one statement, not a read and a write per key.
    const single = ran.filter(
      (r) =>
        r.q === "SELECT * FROM enrollments WHERE id = ?" ||
        (r.q.startsWith("INSERT INTO timers") && (JSON.parse(String(r.b[1])) as unknown[]).length === 1),
    );
    expect(single.length).toBeLessThan(20);
  });
});
