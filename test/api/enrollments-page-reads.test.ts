// A sequence's enrollments page (and its chip counts) reads that sequence's enrollments, not the
// team's. On a database without planner statistics (a new one, the load bench's) SQLite took
// `e.team_id = ?` through enrollments_team_created_idx as the way in and walked every enrollment of
// the team for each page of one sequence: the page grew with the team's other sequences. And the chip
// counts walked every enrollment of the sequence on every page: they add up the sequence's
// enrollment_groups now (migrations/0027_enrollment_groups.sql), a few rows kept by triggers; only the open runs
// are read one by one, with their contacts, for the "Won't be sent" chip (the groups know no contact).
import { beforeEach, describe, expect, it } from "vitest";
import { bulkInsert } from "../../worker/db/bulk";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { countedGet, env } from "../helpers";
import { makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, setMailboxStatus } from "../fixtures";

async function addEnrollments(
  teamId: string,
  sequenceId: string,
  contactIds: string[],
  status: (i: number) => string,
  more: (i: number) => { reason: string | null; mailboxId: string | null } = () => ({ reason: null, mailboxId: null }),
) {
  const t = now();
  await bulkInsert(
    env.DB,
    "enrollments",
    ["id", "team_id", "sequence_id", "contact_id", "status", "reason", "mailbox_id", "current_step", "created_at", "updated_at"],
    contactIds.map((c, i) => [newId(), teamId, sequenceId, c, status(i), more(i).reason, more(i).mailboxId, 1, t - i, t - i]),
  );
}

type Page = { enrollments: unknown[]; counts: Record<string, number>; pagination: { total_entries: number } };
async function page(cookie: string, path: string) {
  const r = await countedGet<Page>(cookie, path);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r;
}

describe("a sequence's enrollments page", () => {
  beforeEach(async () => {
    // The planner as on a database nobody has analyzed yet.
    await env.DB.prepare("DELETE FROM sqlite_stat1").run();
    await env.DB.prepare("ANALYZE sqlite_schema").run();
  });

  it("reads the sequence's enrollments, not every enrollment of the team", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const contacts = await makeContacts(teamId, 3_000);
    const seqs = [];
    for (let i = 0; i < 3; i++) seqs.push((await makeSequence(teamId, userId, [{ wait: 0 }], null, false)).sequenceId);
    // The page's sequence: 200 enrollments (50 of them finished); two others of the team: 2,800.
    await addEnrollments(teamId, seqs[0]!, contacts.slice(0, 200), (i) => (i < 50 ? "finished" : "paused"));
    await addEnrollments(teamId, seqs[1]!, contacts.slice(200, 1_600), () => "paused");
    await addEnrollments(teamId, seqs[2]!, contacts.slice(1_600), () => "finished");

    const { body, count } = await page(s.cookie, `/api/sequences/${seqs[0]}/enrollments?per_page=25`);
    expect(body.enrollments).toHaveLength(25);
    expect(body.pagination.total_entries).toBe(200);
    expect(body.counts).toMatchObject({ all: 200, finished: 50, paused: 150 });
    // The page and the counts each walk the sequence's 200 enrollments (index entry and row): before,
    // each walked the team's 3,000.
    expect(count.rowsRead, count.statements.join("\n")).toBeLessThan(4 * 200 + 200);
  });

  it("adds up its chips from the sequence's groups, not from every enrollment, with the same answers", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const contacts = await makeContacts(teamId, 3_000);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const up = await makeMailbox(teamId, userId);
    const down = await makeMailbox(teamId, userId);
    await setMailboxStatus(down, "disconnected", "token revoked");
    const statuses = ["active", "active", "paused", "finished", "held", "failed", "removed", "scheduled"];
    const reasons = [null, "queued_for_mailbox", "bounced", "no_email", "unsubscribed", "replied", "do_not_contact"];
    await addEnrollments(
      teamId,
      sequenceId,
      contacts,
      (i) => statuses[i % statuses.length]!,
      (i) => ({ reason: reasons[i % reasons.length]!, mailboxId: i % 11 === 0 ? null : i % 3 === 0 ? down : up }),
    );
    // Every contact's name holds "First": the same rows through the search path, which counts them one by one.
    for (const filter of [
      "",
      "&status=not_sent&reason=mailbox_disconnected",
      "&status=finished&reason=bounced",
      "&status=blocked&reason=unsubscribed",
      "&status=active",
    ]) {
      const kept = await page(s.cookie, `/api/sequences/${sequenceId}/enrollments?per_page=25${filter}`);
      const counted = await page(s.cookie, `/api/sequences/${sequenceId}/enrollments?per_page=25&q=First${filter}`);
      expect(kept.body.counts, filter).toEqual(counted.body.counts);
      expect(kept.body.pagination.total_entries, filter).toBe(counted.body.pagination.total_entries);
      if (!filter) {
        expect(kept.body.counts.all).toBe(3_000);
        expect(kept.body.counts.not_sent).toBeGreaterThan(0);
        // The page walks down the index to its 25 rows and the chips read the groups (~170 here: 8 statuses
        // × 7 reasons × 3 mailboxes at most). Before, both walked the 3,000 enrollments: 11,879 rows.
        // The groups know no contact: the open runs whose contact the engine won't email ("Won't be sent", left out
        // of "Active") are counted by reading each open run and its contact, ~4 rows a run (1,500 open here: 6,187).
        expect(kept.count.rowsRead, kept.count.statements.join("\n")).toBeLessThan(600 + 4 * 1_500);
      }
    }
  });
});
