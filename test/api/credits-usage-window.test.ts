// The Credits page's "Used, last N days" is the sum of its N bars: the usage counted from the start of the UTC
// day N-1 days before today, the days the chart draws. It counted back exactly N×24 hours, so the morning of
// the day before the first bar was in the total with no bar for it.
import { afterEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { as, env } from "../helpers";
import { addContactsSetup } from "../fixtures";

const DAY = 86_400_000;

/** A settled job that spent `credits`, its hold and its charge written at `at`. */
async function spentAt(teamId: string, userId: string, credits: number, at: number) {
  const jobId = newId();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO jobs (id, team_id, user_id, kind, sequence_id, source, options, status, total, processed, credits_held, credits_used, created_at) VALUES (?, ?, ?, 'save_to_list', NULL, '{\"kind\":\"people_search\"}', '{}', 'completed', 1, 1, ?, ?, ?)",
    ).bind(jobId, teamId, userId, credits, credits, at),
    env.DB.prepare(
      "INSERT INTO credit_ledger (id, team_id, kind, amount, balance_after, job_id, source, ref, note, created_at) VALUES (?, ?, 'hold', ?, 0, ?, 'people_search', ?, '', ?)",
    ).bind(newId(), teamId, -credits, jobId, `job:${jobId}:hold`, at),
    env.DB.prepare(
      "INSERT INTO credit_ledger (id, team_id, kind, amount, balance_after, job_id, source, ref, note, created_at) VALUES (?, ?, 'refund', 0, 0, ?, 'people_search', ?, '', ?)",
    ).bind(newId(), teamId, jobId, `job:${jobId}:settle`, at),
  ]);
}

afterEach(() => resetClock());

describe("credits used over the last N days", () => {
  it("counts from the start of the first day the chart draws, not N×24 hours back", async () => {
    const x = await addContactsSetup();
    const today = Math.floor(Date.now() / DAY) * DAY;
    setClock(today + 18 * 3_600_000);
    // 7 days: the bars are today-6 … today. 20:00 on today-7 is within 7×24 h of 18:00 today, on no bar.
    await spentAt(x.teamId, x.userId, 5, today - 7 * DAY + 20 * 3_600_000);
    await spentAt(x.teamId, x.userId, 3, today - 6 * DAY + 60_000);
    await spentAt(x.teamId, x.userId, 2, today + 3_600_000);
    const r = (await (await as(x.s, "GET", "/api/credits?days=7")).json()) as { usage: { day: string; credits: number }[] };
    const bars = Array.from({ length: 7 }, (_, i) => new Date(today - (6 - i) * DAY).toISOString().slice(0, 10));
    expect(r.usage.filter((u) => !bars.includes(u.day))).toEqual([]);
    expect(r.usage.reduce((a, u) => a + u.credits, 0)).toBe(5);
  });
});
