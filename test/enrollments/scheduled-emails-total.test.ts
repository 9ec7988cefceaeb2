// GET /api/scheduled-emails answers `total`: how many scheduled emails its filters match over every page.
// Re-read against the rows themselves: paging to the end gives exactly `total` rows, on every page the same
// number, scoped to the caller's team and to the filter.
import { beforeEach, describe, expect, it } from "vitest";
import { client, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSchedule, makeSequence, makeTeam, sessionFor, startSimulation } from "../fixtures";

type Api = ReturnType<typeof client>["api"];
type ListQuery = Parameters<Api["scheduled-emails"]["$get"]>[0]["query"];

async function world(contacts: number) {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const { sequenceId } = await makeSequence(
    teamId,
    userId,
    [{ wait: 3, variants: [{ subject: "Hi {{first_name}}", body: "About {{company}}" }] }],
    await makeSchedule(teamId),
  );
  const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
  const contactIds = await makeContacts(teamId, contacts);
  await enroll(teamId, sequenceId, contactIds, [mailboxId]);
  return { api, sequenceId, contactIds };
}

/** Every page of a list, following next_cursor: the rows and the total each page answered. */
async function allPages(api: Api, query: ListQuery) {
  const rows: string[] = [];
  const totals: number[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await ok(api["scheduled-emails"].$get({ query: { ...query, ...(cursor ? { cursor } : {}) } }));
    rows.push(...page.scheduled.map((r) => r.enrollment_id));
    totals.push(page.total);
    if (!page.next_cursor) return { rows, totals };
    cursor = page.next_cursor;
  }
}

describe("scheduled emails' total", () => {
  beforeEach(() => startSimulation());

  it("counts every page's rows, the same on each page, only the caller's team's and only the filter's", async () => {
    const mine = await world(5);
    const theirs = await world(3);

    const all = await allPages(mine.api, { limit: "2" });
    expect(all.rows).toHaveLength(5);
    expect(new Set(all.rows).size).toBe(5);
    // Three pages, each saying the whole list's size, not its own.
    expect(all.totals).toEqual([5, 5, 5]);

    const one = await allPages(mine.api, { contact_id: mine.contactIds[0]!, limit: "2" });
    expect(one.rows).toHaveLength(1);
    expect(one.totals).toEqual([1]);

    const bySequence = await allPages(mine.api, { sequence_id: mine.sequenceId, limit: "50" });
    expect(bySequence.totals).toEqual([5]);

    // The other team's list counts its own three, never the first team's five.
    const other = await allPages(theirs.api, { limit: "50" });
    expect(other.rows).toHaveLength(3);
    expect(other.totals).toEqual([3]);
  });
});
