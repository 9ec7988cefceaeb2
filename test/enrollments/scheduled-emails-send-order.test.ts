// The scheduled emails come in the order they will go out (sort=send_at, the default), not by when each step
// fell due: a mailbox sends by prospect score, then due time, so a low-scored contact due first went out
// last while the list showed it first ("Tomorrow 4:37 PM" on top, emails going within minutes below it).
// Re-read page by page: send times never go back across pages, every row comes once, and the rows paged
// to the end are the total; due_at still gives the due order.
import { beforeEach, describe, expect, it } from "vitest";
import { SEND_SORT_MAX } from "../../worker/services/scheduled-emails";
import { advanceClock, now } from "../../worker/lib/clock";
import { client, countedGet, ok } from "../helpers";
import {
  DAY,
  HOUR,
  MIN,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

type Api = ReturnType<typeof client>["api"];
type ListQuery = Parameters<Api["scheduled-emails"]["$get"]>[0]["query"];

async function allPages(api: Api, query: ListQuery, between?: () => void) {
  const rows: { id: string; send_at: number | null; due_at: number | null }[] = [];
  const totals: number[] = [];
  const sorts: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await ok(api["scheduled-emails"].$get({ query: { ...query, ...(cursor ? { cursor } : {}) } }));
    rows.push(...page.scheduled.map((r) => ({ id: r.enrollment_id, send_at: r.send_at, due_at: r.due_at })));
    totals.push(page.total);
    sorts.push(page.sort);
    if (!page.next_cursor) return { rows, totals, sorts };
    if (rows.length > 10_000) throw new Error("paging does not end");
    cursor = page.next_cursor;
    between?.();
  }
}

const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! <= x);

describe("scheduled emails in send order", () => {
  beforeEach(() => startSimulation());

  it("pages by when each goes (the mailbox's plan: score first), every row once, as many as the total", async () => {
    const { teamId, userId } = await makeTeam();
    const session = await sessionFor(teamId, userId);
    const api = client(session).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    // Two a day: the seven due at once go over four days, the highest-scored first.
    const mailboxId = await makeMailbox(teamId, userId, { daily: 2, hourly: 100, gapSeconds: 0 });
    const contactIds = await makeContacts(teamId, 7, { score: (i) => i * 10 });
    // The lowest score on the earliest-made runs: due order and send order differ.
    await enroll(teamId, sequenceId, contactIds, [mailboxId], (i) => i * 10);
    await runUntil(SIM_START + HOUR);

    const byDue = await allPages(api, { sequence_id: sequenceId, limit: "2", sort: "due_at" });
    expect(byDue.rows).toHaveLength(5);
    // The due order is not the send order here (else this test could not tell them apart).
    expect(ascending(byDue.rows.map((r) => r.send_at!))).toBe(false);

    for (const query of [{ sequence_id: sequenceId, limit: "2" }, { limit: "2" }, { mailbox_id: mailboxId, limit: "3" }] as ListQuery[]) {
      const bySend = await allPages(api, query);
      const times = bySend.rows.map((r) => r.send_at);
      expect(times.every((t) => t !== null)).toBe(true);
      expect(ascending(times as number[]), JSON.stringify(times)).toBe(true);
      expect(new Set(bySend.rows.map((r) => r.id)).size).toBe(5);
      expect(bySend.rows).toHaveLength(5);
      expect(bySend.totals.every((t) => t === 5)).toBe(true);
      expect(new Set(bySend.sorts)).toEqual(new Set(["send_at"]));
      // The same emails as the due order, at the same times.
      expect([...bySend.rows].sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual([...byDue.rows].sort((a, b) => (a.id < b.id ? -1 : 1)));
    }
  });

  it("a list longer than it sorts by send time comes in due order, says so, and still pages every row once", async () => {
    const { teamId, userId } = await makeTeam();
    const session = await sessionFor(teamId, userId);
    const api = client(session).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 2, unit: "days" }], null);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const contactIds = await makeContacts(teamId, SEND_SORT_MAX + 1);
    // Their step falls due in two days: none goes out meanwhile, all are listed.
    await enroll(teamId, sequenceId, contactIds, [mailboxId]);
    await runUntil(SIM_START + DAY);
    const pages = await allPages(api, { sequence_id: sequenceId, limit: "200" });
    expect(new Set(pages.sorts)).toEqual(new Set(["due_at"]));
    expect(pages.rows).toHaveLength(SEND_SORT_MAX + 1);
    expect(new Set(pages.rows.map((r) => r.id)).size).toBe(SEND_SORT_MAX + 1);
    expect(pages.totals.every((t) => t === SEND_SORT_MAX + 1)).toBe(true);
    expect(ascending(pages.rows.map((r) => r.due_at!))).toBe(true);
    // What a page costs: the capped read that finds the list too long, the count, and the page itself.
    const first = await countedGet<{ scheduled: unknown[] }>(session.cookie, `/api/scheduled-emails?sequence_id=${sequenceId}&limit=25`);
    const byDue = await countedGet<{ scheduled: unknown[] }>(
      session.cookie,
      `/api/scheduled-emails?sequence_id=${sequenceId}&limit=25&sort=due_at`,
    );
    // The capped read finds the list too long and is its first page in due order too (cut from it, not read
    // again): the page reads what the due order's does, its read capped at SEND_SORT_MAX + 1 rows in place of
    // the page's. Read again, the list cost a second walk of it (20,051 rows against 13,037).
    expect(first.count.rowsRead, first.count.statements.join("\n")).toBeLessThanOrEqual(byDue.count.rowsRead + 100);
    expect(first.count.statements.length, first.count.statements.join("\n")).toBeLessThanOrEqual(byDue.count.statements.length);
  });

  it("emails that can go now page once each while the clock moves between pages (their send time is each request's now)", async () => {
    const { teamId, userId } = await makeTeam();
    const session = await sessionFor(teamId, userId);
    const api = client(session).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 1, unit: "minutes" }], null);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const contactIds = await makeContacts(teamId, 6);
    // Due a minute ago and not yet handed to the mailbox (its sequence's alarm hasn't run): each goes at the
    // moment it is asked about.
    await enroll(teamId, sequenceId, contactIds, [mailboxId]);
    advanceClock(2 * MIN);
    const pages = await allPages(api, { sequence_id: sequenceId, limit: "2" }, () => advanceClock(1_000));
    expect(new Set(pages.sorts)).toEqual(new Set(["send_at"]));
    expect(pages.rows).toHaveLength(6);
    expect(new Set(pages.rows.map((r) => r.id)).size).toBe(6);
    // One group, by due time then id: the order a clock that stood still gives.
    const still = await allPages(api, { sequence_id: sequenceId, limit: "6" });
    expect(pages.rows.map((r) => r.id)).toEqual(still.rows.map((r) => r.id));
    expect(still.rows.every((r) => r.send_at === now() && r.due_at! < now())).toBe(true);
  });

  it("emails the mailbox holds, planned from each request's now, page once each while the clock moves", async () => {
    const { teamId, userId } = await makeTeam();
    const session = await sessionFor(teamId, userId);
    const api = client(session).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    // One every 10 min: the mailbox plans them at now, now + 10 min, ... whenever it is asked.
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 600 });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 6), [mailboxId]);
    const pages = await allPages(api, { sequence_id: sequenceId, limit: "2" }, () => advanceClock(1_000));
    expect(pages.rows).toHaveLength(6);
    expect(new Set(pages.rows.map((r) => r.id)).size).toBe(6);
    expect(new Set(pages.sorts)).toEqual(new Set(["send_at"]));
  });

  it("a team-wide list over many sequences reads their configs in one statement", async () => {
    const { teamId, userId } = await makeTeam();
    const session = await sessionFor(teamId, userId);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const contactIds = await makeContacts(teamId, 40);
    for (let i = 0; i < 40; i++) {
      const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 2, unit: "days" }], null);
      await enroll(teamId, sequenceId, [contactIds[i]!], [mailboxId]);
    }
    await runUntil(SIM_START + HOUR);
    const page = await countedGet<{ scheduled: unknown[]; total: number }>(session.cookie, `/api/scheduled-emails?limit=5`);
    expect(page.body.total).toBe(40);
    expect(page.body.scheduled).toHaveLength(5);
    // Forty sequences, as few statements as one: one statement per sequence's config made it 40 more.
    expect(page.count.statements.length, page.count.statements.join("\n")).toBeLessThan(10);
  });
});
