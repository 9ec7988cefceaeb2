// The engine at real sizes (issue 9, defect 7): every request and alarm works in bounded pages
// whatever the size of the sequence or mailbox; the send ledger is pruned of settled rows; the
// forecast replays the same rules at a cost per window group, not per queued row.
import fc from "fast-check";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { planSends } from "../../durable-objects/mailbox-do";
import { bulkInsert } from "../../worker/db/bulk";
import { now } from "../../worker/lib/clock";
import { mailboxStub, sequenceStub } from "../../durable-objects/engine";
import { inWindow, nextWindowStart, type WindowSpec } from "../../worker/services/schedule-time";
import { ALWAYS_OPEN } from "../../durable-objects/sequence-config";
import { setTransportOverride } from "../../worker/transports";
import { env } from "../helpers";
import {
  DAY,
  HOUR,
  MIN,
  SIM_START,
  enroll,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  startSimulation,
} from "../fixtures";

const DAYTIME: WindowSpec = {
  ...ALWAYS_OPEN,
  timeZone: "America/New_York",
  windows: Object.fromEntries(["1", "2", "3", "4", "5"].map((d) => [d, [["09:00", "17:00"]]])) as WindowSpec["windows"],
};

/** Every night from 01:00 to 03:30 in New York: the hour the spring clock change skips and the one autumn repeats. */
const NIGHT: WindowSpec = {
  ...ALWAYS_OPEN,
  timeZone: "America/New_York",
  windows: Object.fromEntries(["1", "2", "3", "4", "5", "6", "7"].map((d) => [d, [["01:00", "03:30"]]])) as WindowSpec["windows"],
};

/** What planSends reads of a queued row, and its score (the order the rows arrive in). */
type QueueRow = Parameters<typeof planSends>[0][number] & { score: number };

/** The forecast as it was written before grouping (one window check per queued row): the reference. */
function referencePlan(
  rows: QueueRow[],
  mb: { dailyLimit: number; hourlyLimit: number; minGapSeconds: number },
  from: number,
  until: number,
  limit: number,
  sent: number[] = [],
  nextSendAt = 0,
) {
  const out: { enrollmentId: string; stepId: string; at: number | null }[] = [];
  const pending = rows.map((r) => ({ r, w: JSON.parse(r.window) as WindowSpec, ready: Math.max(r.due_at, r.next_attempt_at ?? 0) }));
  const history: number[] = [...sent];
  let t = Math.max(from, nextSendAt);
  while (pending.length && t <= until && out.length < limit) {
    const day = history.filter((x) => x > t - DAY);
    const hour = day.filter((x) => x > t - HOUR);
    if (day.length >= mb.dailyLimit) {
      t = day[day.length - mb.dailyLimit]! + DAY + 1;
      continue;
    }
    if (hour.length >= mb.hourlyLimit) {
      t = hour[hour.length - mb.hourlyLimit]! + HOUR + 1;
      continue;
    }
    const i = pending.findIndex((p) => p.ready <= t && inWindow(t, p.w, p.r.zone));
    if (i < 0) {
      let next = Number.MAX_SAFE_INTEGER;
      for (const p of pending) {
        const open = nextWindowStart(Math.max(p.ready, t), p.w, p.r.zone);
        if (open !== null) next = Math.min(next, open);
      }
      if (next === Number.MAX_SAFE_INTEGER) break;
      t = Math.max(next, t + 1);
      continue;
    }
    const [p] = pending.splice(i, 1);
    out.push({ enrollmentId: p!.r.enrollment_id, stepId: p!.r.step_id, at: t });
    history.push(t);
    t += Math.max(1, mb.minGapSeconds * 1000);
  }
  return out;
}

describe("sending engine at real sizes", () => {
  const overridden: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const id of overridden.splice(0)) setTransportOverride(id, null);
  });

  it("the grouped forecast gives the same send times as replaying row by row, after the day's earlier sends", () => {
    const zones = [null, "Asia/Tokyo", "Europe/London", "America/Los_Angeles"];
    const rowArb = fc.record({
      score: fc.integer({ min: 0, max: 5 }),
      due: fc.integer({ min: 0, max: 72 * 60 }),
      zone: fc.constantFrom(...zones),
      window: fc.constantFrom(ALWAYS_OPEN, DAYTIME, NIGHT),
    });
    fc.assert(
      fc.property(
        fc.array(rowArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 900 }),
        // Sends of the last day before the plan starts (they count against both caps) and the gap's next instant.
        fc.array(fc.integer({ min: 1, max: 24 * 60 }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 90 }),
        // The simulation's start, and starts whose ten days cross the spring and autumn clock changes.
        fc.constantFrom(SIM_START, Date.UTC(2026, 2, 6), Date.UTC(2026, 2, 27), Date.UTC(2026, 9, 23)),
        (specs, daily, hourly, gap, agoMinutes, nextIn, start) => {
          const rows = specs
            .map((s, i): QueueRow => ({
              enrollment_id: `e${i}`,
              step_id: "s",
              score: s.score,
              due_at: start + s.due * MIN,
              next_attempt_at: null,
              window: JSON.stringify(s.window),
              zone: s.zone,
            }))
            .sort((a, b) => b.score - a.score || a.due_at - b.due_at);
          const mb = { dailyLimit: daily, hourlyLimit: hourly, minGapSeconds: gap };
          const sent = agoMinutes.map((m) => start - m * MIN).sort((a, b) => a - b);
          const nextSendAt = start + nextIn * MIN;
          // The times alone: `wait` (why one goes late) is planSends' account, which the row-by-row replay has no part in.
          const plan = planSends(rows, mb, sent, nextSendAt, start, start + 10 * DAY, 1_000)
            .filter((p) => p.at !== null)
            .map(({ enrollmentId, stepId, at }) => ({ enrollmentId, stepId, at }));
          expect(plan).toEqual(referencePlan(rows, mb, start, start + 10 * DAY, 1_000, sent, nextSendAt));
        },
      ),
      { seed: 4242, numRuns: 300 },
    );
  });

  it("settled rows are pruned from the mailbox ledger, and a step is still never sent twice", async () => {
    const { teamId, userId } = await makeTeam("Prune");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }, { wait: 1 }], null);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 1000, hourly: 1000, gapSeconds: 0 });
    const calls: string[] = [];
    setTransportOverride(mailboxId, {
      async send(m) {
        calls.push(m.messageId);
        return { ok: true };
      },
    });
    overridden.push(mailboxId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 20), [mailboxId]);
    await runUntil(SIM_START + 6 * DAY);
    // One more pass after everything settled: rows older than two days go.
    await mailboxStub(env, mailboxId).refresh(mailboxId);
    await runUntil(now() + HOUR);

    expect(calls).toHaveLength(60);
    expect(new Set(calls).size).toBe(60);
    const { queue } = await mailboxLedger(mailboxId);
    // Only the last step's rows (settled in the last two days) are left.
    expect(queue.length).toBeLessThanOrEqual(20);
    expect(queue.every((r) => r.settled_at !== null && r.settled_at > now() - 2 * DAY - HOUR)).toBe(true);
  });

  it("a sequence with 12,000 enrollments known only to D1 is taken over in pages, and turning it on activates every one", async () => {
    const { teamId, userId } = await makeTeam("Bind");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mailboxId = await makeMailbox(teamId, userId);
    const n = 12_000;
    const t = now();
    // Seeded straight into D1 (an import): held, as an inactive sequence keeps them.
    await bulkInsert(
      env.DB,
      "contacts",
      ["id", "team_id", "first_name", "last_name", "email", "email_status", "score", "created_at", "updated_at"],
      Array.from({ length: n }, (_, i) => [
        `bc-${sequenceId}-${i}`,
        teamId,
        "B",
        `${i}`,
        `b${i}.${sequenceId}@example.test`,
        "verified",
        1,
        t,
        t,
      ]),
      "",
    );
    await bulkInsert(
      env.DB,
      "enrollments",
      ["id", "team_id", "sequence_id", "contact_id", "mailbox_id", "status", "current_step", "reason", "created_at", "updated_at"],
      Array.from({ length: n }, (_, i) => [
        `be-${sequenceId}-${String(i).padStart(5, "0")}`,
        teamId,
        sequenceId,
        `bc-${sequenceId}-${i}`,
        mailboxId,
        "held",
        1,
        "sequence_inactive",
        t,
        t,
      ]),
      "",
    );
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(sequenceId).run();

    expect(await sequenceStub(env, sequenceId).activate(sequenceId, teamId)).toBe(n);
    const counts = await runInDurableObject(sequenceStub(env, sequenceId), (_o, state) => ({
      enrollments: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM enrollments WHERE status = 'active'").one().n,
      timers: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM timers").one().n,
    }));
    expect(counts).toEqual({ enrollments: n, timers: n });
    const d1 = await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND status = 'active'")
      .bind(sequenceId)
      .first<{ n: number }>();
    expect(d1!.n).toBe(n);
  }, 120_000);
});
