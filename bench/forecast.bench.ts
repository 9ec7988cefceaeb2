import { it } from "vitest";
import { planSends } from "../durable-objects/mailbox-do";
import { ALWAYS_OPEN } from "../durable-objects/sequence-config";
import { env } from "../test/helpers";
import { cpuMark, report } from "./report";

// A mailbox's forecast (the enrollments list, the scheduled emails, send now and reschedule ask for it):
// its queued emails planned forward under the caps, the gap and the windows, after the last day's sends.
// The sending bench's mailbox (500 a day, 60 an hour, no gap), a weekday 9-to-5 window in New York, a
// backlog of 5,000 queued emails and 450 sends in the last 24 hours.
const scale = Number((env as unknown as { BENCH_SCALE?: string }).BENCH_SCALE ?? 1);
const FORECASTS = Math.max(5, Math.round(100 * scale));
const QUEUED = 5_000;
const HOUR = 3_600_000;

type QueueRow = Parameters<typeof planSends>[0][number] & { score: number };

it(`forecast of ${QUEUED} queued emails after a day's sends`, async () => {
  const t0 = Date.UTC(2026, 11, 7, 15); // a Monday, 10:00 in New York
  const window = JSON.stringify({
    ...ALWAYS_OPEN,
    timeZone: "America/New_York",
    windows: Object.fromEntries(["1", "2", "3", "4", "5"].map((d) => [d, [["09:00", "17:00"]]])),
  });
  const rows = Array.from({ length: QUEUED }, (_, i): QueueRow => ({
    enrollment_id: `e${i}`,
    step_id: "s",
    score: 100 - (i % 101),
    due_at: t0 - HOUR + (i % 50) * 60_000,
    next_attempt_at: null,
    window,
    zone: null,
  })).sort((a, b) => b.score - a.score || a.due_at - b.due_at);
  const sent = Array.from({ length: 450 }, (_, i) => t0 - 23 * HOUR + i * 180_000);
  const mb = { dailyLimit: 500, hourlyLimit: 60, minGapSeconds: 0 };
  let planned = 0;
  // The marks reach `npm run bench` as log lines, which it reads the CPU at: a pause after each lets the
  // line arrive before the (synchronous) work starts or the next mark follows.
  const settle = () => new Promise((r) => setTimeout(r, 300));
  await cpuMark("start");
  await settle();
  for (let i = 0; i < FORECASTS; i++)
    planned += planSends(rows, mb, sent, 0, t0, t0 + 60 * 24 * HOUR, 2_000).filter((p) => p.at !== null).length;
  await cpuMark({ stop: "forecast", count: FORECASTS, per: "forecast" });
  await settle();
  report("forecast_planned_per_forecast", planned / FORECASTS, "emails");
});
