import { and, count, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { inList } from "../../db/in-list";
import { enrollments, mailboxes } from "../../db/schema";
import type { Env } from "../../env";
import { engine } from "../../../durable-objects/engine";
import { balanceOf, balanceQuery } from "../credits";
import { nextWindowStart, windowEnd, type WindowSpec } from "../schedule-time";

export interface MailboxLoad {
  id: string;
  email: string;
  status: string;
  dailyLimit: number;
  hourlyLimit: number;
  minGapSeconds: number;
  /** Sends in the last 24 hours. */
  usedToday: number;
  /** Emails already waiting to go out of this mailbox within the next day. */
  pending: number;
}

const DAY = 86_400_000;

/** Current load of the candidate mailboxes: limits from their rows, sends of the last 24 h from each MailboxDO, pending emails from D1. */
export async function loadMailboxLoads(env: Env, d: Db, teamId: string, mailboxIds: string[], at: number): Promise<MailboxLoad[]> {
  return (await loadPlanStart(env, d, teamId, mailboxIds, at)).loads;
}

/**
 * What a plan starts from, in one D1 round trip (a batch): the mailboxes' loads (their use from each
 * MailboxDO, pending emails from D1) and the team's credit balance.
 */
export async function loadPlanStart(
  env: Env,
  d: Db,
  teamId: string,
  mailboxIds: string[],
  at: number,
): Promise<{ loads: MailboxLoad[]; balance: number }> {
  if (!mailboxIds.length) return { loads: [], balance: await balanceOf(d, teamId) };
  const [rows, pending, balance] = await d.batch([
    d
      .select({
        id: mailboxes.id,
        email: mailboxes.email,
        status: mailboxes.status,
        dailyLimit: mailboxes.dailyLimit,
        hourlyLimit: mailboxes.hourlyLimit,
        minGapSeconds: mailboxes.minGapSeconds,
      })
      .from(mailboxes)
      .where(and(eq(mailboxes.teamId, teamId), inList(mailboxes.id, mailboxIds)))
      .orderBy(mailboxes.email),
    d
      .select({ mailboxId: enrollments.mailboxId, n: count() })
      .from(enrollments)
      .where(
        and(
          eq(enrollments.teamId, teamId),
          eq(enrollments.status, "active"),
          inList(enrollments.mailboxId, mailboxIds),
          sql`(${enrollments.reason} = 'queued_for_mailbox' OR (${enrollments.reason} = 'waiting_for_step' AND ${enrollments.nextDueAt} <= ${at + DAY}))`,
        ),
      )
      .groupBy(enrollments.mailboxId),
    balanceQuery(d, teamId),
  ]);
  const pend = new Map(pending.map((r) => [r.mailboxId, r.n]));
  const loads = await Promise.all(
    rows.map(async (r) => {
      const cap = await engine.mailbox(env, r.id).usage();
      return { ...r, usedToday: cap.usedLast24h, pending: pend.get(r.id) ?? 0 };
    }),
  );
  return { loads, balance: balance[0]?.b ?? 0 };
}

/**
 * Rotation: each new contact (in priority order) goes to the mailbox with the most remaining daily
 * capacity, counting the load already assigned and what this batch has assigned so far ("capacity");
 * or the batch is split evenly, one mailbox after the other ("even"). Ties go to the mailbox listed
 * first, so the same input gives the same assignment.
 */
export function assignMailboxes(loads: MailboxLoad[], count: number, rotation: Rotation = "capacity"): string[] {
  return assignFrom(
    loads.map((m) => m.id),
    roomOf(loads, rotation),
    count,
  );
}

export type Rotation = "capacity" | "even";

/**
 * Where a rotation starts, in the order of `loads`: each mailbox's remaining daily room; for an even
 * split the same room for all, so assignFrom takes them in turn.
 */
export const roomOf = (loads: MailboxLoad[], rotation: Rotation = "capacity") =>
  loads.map((m) => (rotation === "even" ? 0 : m.dailyLimit - m.usedToday - m.pending));

/** The rotation continued from `left` (updated in place), so a job planned page by page assigns as if in one go. */
export function assignFrom(ids: string[], left: number[], count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let k = 1; k < ids.length; k++) if (left[k]! > left[best]!) best = k;
    out.push(ids[best]!);
    left[best]!--;
  }
  return out;
}

export interface Forecast {
  mailbox_id: string;
  email: string;
  assigned: number;
  pending: number;
  remaining_today: number;
  step1_per_day: number;
  /** Local date (schedule's zone) by which every new contact has had step 1; null beyond a year or without windows. */
  all_step1_by: string | null;
  days_needed: number | null;
}

/**
 * When step 1 reaches everyone: walk the schedule's sending windows day by day; each day a mailbox
 * sends at most min(daily limit, hourly limit × window hours, window ÷ gap); the load already
 * scheduled goes first, then the new contacts.
 */
export function forecastMailbox(m: MailboxLoad, assigned: number, window: WindowSpec, from: number): Forecast {
  const fmt = new Intl.DateTimeFormat("en-CA", { timeZone: window.timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  const perDay = new Map<string, number>();
  let t = from;
  let first = true;
  let remaining = m.pending + assigned;
  let typical = 0;
  let by: string | null = null;
  let days = 0;
  let needed: number | null = null;
  const remainingToday = Math.max(0, m.dailyLimit - m.usedToday);
  for (let guard = 0; guard < 2000 && (remaining > 0 || typical === 0); guard++) {
    const s = nextWindowStart(t, window);
    if (s === null || s > from + 366 * DAY) break;
    const e = windowEnd(s, window) ?? s + 60_000;
    const day = fmt.format(s);
    perDay.set(day, (perDay.get(day) ?? 0) + (e - s));
    t = e + 1;
    const next = nextWindowStart(t, window);
    if (next !== null && fmt.format(next) === day) continue; // more windows that day
    const minutes = perDay.get(day)! / 60_000;
    let cap = Math.min(
      m.dailyLimit,
      Math.ceil((m.hourlyLimit * minutes) / 60),
      m.minGapSeconds > 0 ? Math.floor((minutes * 60) / m.minGapSeconds) + 1 : Infinity,
    );
    if (!first) typical = Math.max(typical, cap);
    if (first) cap = Math.min(cap, remainingToday);
    first = false;
    days++;
    if (remaining > 0) {
      remaining -= cap;
      if (remaining <= 0) {
        by = day;
        needed = days;
      }
    }
  }
  return {
    mailbox_id: m.id,
    email: m.email,
    assigned,
    pending: m.pending,
    remaining_today: remainingToday,
    step1_per_day: typical,
    all_step1_by: m.pending + assigned === 0 ? fmt.format(from) : by,
    days_needed: m.pending + assigned === 0 ? 0 : needed,
  };
}
