// The mailbox plan's account of a late email (planSends' PlanWait) counts as "ahead" only the emails ahead of
// it in the line (higher score, or the same and due earlier), names its own window when that closed before its
// turn, and counts as "sent" only what the mailbox sent: a lower-scored email that went while this one's window
// was shut was counted ahead of it, the wait blamed on the spacing, and planned sends were called sent.
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { planSends } from "../../durable-objects/mailbox-do";
import { waitClause } from "../../durable-objects/scheduled-email";
import { resetClock, setClock } from "../../worker/lib/clock";
import { plannedWaitText } from "../../worker/services/enrollments";
import { ALWAYS_OPEN } from "../../durable-objects/sequence-config";
import type { WindowSpec } from "../../worker/services/schedule-time";
import { DAY, HOUR, SIM_START } from "../fixtures";

type Row = Parameters<typeof planSends>[0][number];
const row = (id: string, score: number, window = ALWAYS_OPEN): Row => ({
  enrollment_id: id,
  step_id: "s",
  score,
  due_at: SIM_START,
  next_attempt_at: null,
  window: JSON.stringify(window),
  zone: null,
});
// Open the first half hour of each day (UTC): SIM_START is a Monday's midnight.
const HALF_HOUR: WindowSpec = {
  ...ALWAYS_OPEN,
  windows: Object.fromEntries(Object.keys(ALWAYS_OPEN.windows).map((d) => [d, [["00:00", "00:30"] as [string, string]]])),
};
const mailbox = { email: "a@x.test", dailyLimit: 3, hourlyLimit: 100, minGapSeconds: 600 };

afterEach(() => resetClock());

describe("a planned email's wait", () => {
  it("counts only the emails ahead of it in the line, and names its window when it closed first", () => {
    // Three scored 90, this one (50) in a half-hour window, then one scored 50 due with it but after it in the
    // line and two scored 10: one every 10 min, the three go in its half hour, the others once it has closed.
    const rows = [row("a1", 90), row("a2", 90), row("a3", 90), row("me", 50, HALF_HOUR), row("same", 50), row("c1", 10), row("c2", 10)];
    const plan = planSends(rows, { dailyLimit: 100, hourlyLimit: 100, minGapSeconds: 600 }, [], 0, SIM_START, SIM_START + 3 * DAY, 100);
    const me = plan.find((p) => p.enrollmentId === "me")!;
    expect(me.at).toBe(SIM_START + DAY);
    expect(plan.filter((p) => p.at! < me.at!).map((p) => p.enrollmentId)).toEqual(["a1", "a2", "a3", "same", "c1", "c2"]);
    expect(me.wait).toEqual({ since: SIM_START, ahead: 3, higher: 3, limit: "window", used: 0 });
    expect(waitClause(me.wait!, { ...mailbox, minGapSeconds: 600 })).toBe(
      "its sending window closed after 3 emails to higher-scored contacts went first: it goes when the window opens again",
    );
  });

  it("ready before its window opens and then missing that opening: tells the one window in one sentence", () => {
    // Due at 22:00, its window opens at midnight for half an hour; the mailbox sends one every `gap` seconds to
    // the higher-scored first, and the window shuts before its turn: it goes the next midnight. It read "Outside
    // the sending window; once it opens, its sending window closed after 3 emails ... went first: it goes when
    // the window opens again".
    const due = SIM_START - 2 * HOUR;
    setClock(due);
    const text = (higher: number, gap: number) => {
      const rows = [...Array.from({ length: higher }, (_, i) => row(`a${i}`, 90, HALF_HOUR)), row("me", 50, HALF_HOUR)];
      const plan = planSends(
        rows.map((r) => ({ ...r, due_at: due })),
        { dailyLimit: 100, hourlyLimit: 100, minGapSeconds: gap },
        [],
        0,
        due,
        due + 3 * DAY,
        100,
      );
      const me = plan.find((p) => p.enrollmentId === "me")!;
      expect(me.at).toBe(SIM_START + DAY);
      const mb = { mb_held: 0, mb_status: "connected", mb_daily_limit: 100, mb_hourly_limit: 100, mb_min_gap_seconds: gap };
      return plannedWaitText({ ...mb, email: "a@x.test", step_type: "email", next_due_at: due }, me);
    };
    expect(text(3, 600)).toBe(
      "Outside the sending window; when it next opens, 3 emails to higher-scored contacts go first and the window closes before this email's turn: it goes out at a later opening",
    );
    expect(text(1, 1800)).toBe(
      "Outside the sending window; when it next opens, 1 email to higher-scored contacts goes first and the window closes before this email's turn: it goes out at a later opening",
    );
  });

  it("says how many the mailbox sent before its wait began, not the ones planned", () => {
    // Two sent in the hour before; of the day's 3 the one scored 90 takes the last now, this one goes a day on.
    const plan = planSends(
      [row("hi", 90), row("me", 10)],
      { dailyLimit: 3, hourlyLimit: 100, minGapSeconds: 0 },
      [SIM_START - 2 * HOUR, SIM_START - HOUR],
      0,
      SIM_START,
      SIM_START + 3 * DAY,
      100,
    );
    const me = plan.find((p) => p.enrollmentId === "me")!;
    expect(me.at).toBeGreaterThan(SIM_START + DAY - 3 * HOUR);
    expect(me.wait).toMatchObject({ since: SIM_START, ahead: 1, higher: 1, limit: "daily", used: 2 });
    expect(waitClause(me.wait!, mailbox)).toBe(
      "it goes after 1 email to higher-scored contacts, within a@x.test's limit of 3 a day (2 sent in the 24 hours before)",
    );
  });
});

describe("a planned email's wait, counted fast", () => {
  // planSends counts "ahead" and "higher" with running counts (a backlog of 2,000 walked every earlier send for
  // each: 4× the forecast's CPU). They must equal a plain count over the plan itself: the sends planned before it
  // from its `since` on, ahead of it in the line (higher score, or the same and earlier in the input).
  it("equals a direct count over the plan, for random backlogs, scores, windows and caps", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ score: fc.integer({ min: 0, max: 4 }), dueIn: fc.integer({ min: -3, max: 30 }), half: fc.boolean() }), {
          minLength: 1,
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 1800 }),
        (spec, daily, gap) => {
          const rows = spec
            .map((x, j) => ({ ...row(`r${j}`, x.score, x.half ? HALF_HOUR : ALWAYS_OPEN), due_at: SIM_START + x.dueIn * HOUR }))
            .sort((a, b) => (b.score ?? 0) - (a.score ?? 0) || a.due_at - b.due_at);
          const plan = planSends(
            rows,
            { dailyLimit: daily, hourlyLimit: 100, minGapSeconds: gap },
            [],
            0,
            SIM_START,
            SIM_START + 10 * DAY,
            500,
          );
          const place = new Map(rows.map((r, i) => [r.enrollment_id, { i, score: r.score ?? 0 }]));
          const went = plan.filter((p) => p.at !== null);
          went.forEach((p, m) => {
            if (!p.wait) return;
            const me = place.get(p.enrollmentId)!;
            const before = went
              .slice(0, m)
              .filter((q) => q.at! >= p.wait!.since)
              .map((q) => place.get(q.enrollmentId)!);
            expect({ ahead: p.wait.ahead, higher: p.wait.higher }).toEqual({
              ahead: before.filter((q) => q.score > me.score || (q.score === me.score && q.i < me.i)).length,
              higher: before.filter((q) => q.score > me.score).length,
            });
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
