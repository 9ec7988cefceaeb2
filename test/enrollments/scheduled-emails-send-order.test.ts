// The scheduled emails come in the order they will go out (sort=send_at, the default), not by when each step
// fell due: a mailbox sends by prospect score, then due time, so a low-scored contact due first went out
// last while the list showed it first ("Tomorrow 4:37 PM" on top, emails going within minutes below it).
// Re-read page by page: send times never go back across pages, every row comes once, and the rows paged
// to the end are the total; due_at still gives the due order.
import { beforeEach, describe, expect, it } from "vitest";
import { SEND_SORT_MAX } from "../../worker/services/scheduled-emails";
import { client, countedGet, ok } from "../helpers";
import {
  DAY,
  HOUR,
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

async function allPages(api: Api, query: ListQuery) {
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
    cursor = page.next_cursor;
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
    // Measured: 20,051 rows against 13,037 in due order (the count of the list walks it all either way): the
    // capped read adds a bounded amount, whatever the list's length past it.
    expect(first.count.rowsRead, first.count.statements.join("\n")).toBeLessThan(byDue.count.rowsRead + 10 * (SEND_SORT_MAX + 1));
  });
});
