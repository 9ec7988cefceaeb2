// The outbox's replied_at (when the contact answered this email or a later one of its run) is a subquery per
// row of the page. Its comment says it reads along messages_enrollment_step_uq (enrollment_id first), but
// without sqlite_stat1's rows for messages (a database whose statistics were never gathered, or were
// gathered before the team had emails) SQLite chose messages_team_replied_idx (team_id = ? AND
// replied_at > ?): per row, every reply the whole team received since that email went out.
import { describe, expect, it } from "vitest";
import type { D1Count } from "../../worker/middleware/d1-count";
import { countedGet, env } from "../helpers";
import { makeContacts, makeMailbox, makeMessages, makeSequence, makeTeam, sessionFor } from "../fixtures";

/** The plan of the statement that reads the page (the one with the replied_at subquery). */
async function pagePlan(count: D1Count) {
  const q = count.queries.find((x) => /min\("?r"?\."?replied_at"?\)/i.test(x.sql));
  expect(q, count.statements.join("\n")).toBeDefined();
  const rows = await env.DB.prepare(`EXPLAIN QUERY PLAN ${q!.sql}`)
    .bind(...q!.params)
    .all<{ detail: string }>();
  return rows.results.map((r) => r.detail).join("; ");
}

type Stat = { tbl: string; idx: string | null; stat: string };

/** Runs `f` with the planner's statistics for messages taken away (ANALYZE sqlite_schema rereads them), then puts them back. */
async function withoutMessageStats<T>(f: () => Promise<T>): Promise<T> {
  const kept = (await env.DB.prepare("SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl = 'messages'").all<Stat>()).results;
  await env.DB.prepare("DELETE FROM sqlite_stat1 WHERE tbl = 'messages'").run();
  await env.DB.prepare("ANALYZE sqlite_schema").run();
  try {
    return await f();
  } finally {
    for (const s of kept)
      await env.DB.prepare("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)").bind(s.tbl, s.idx, s.stat).run();
    await env.DB.prepare("ANALYZE sqlite_schema").run();
  }
}

const ALONG_ENROLLMENT =
  /CORRELATED SCALAR SUBQUERY \d+; SEARCH r USING (COVERING )?INDEX messages_enrollment_step_uq \(enrollment_id=\?\)/;

describe("the outbox's replied_at", () => {
  it("is read along the enrollment's emails (messages_enrollment_step_uq), with or without statistics", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mailboxId = await makeMailbox(teamId, userId);
    await makeMessages(teamId, sequenceId, stepIds[0]!, mailboxId, await makeContacts(teamId, 5));
    const page = async () => {
      const r = await countedGet<{ messages: unknown[] }>(s.cookie, "/api/messages?per_page=10");
      expect(r.status).toBe(200);
      expect(r.body.messages).toHaveLength(5);
      return pagePlan(r.count);
    };
    const withStats = await page();
    expect(withStats).toMatch(ALONG_ENROLLMENT);
    expect(withStats).not.toMatch(/SEARCH r USING (COVERING )?INDEX messages_team_replied_idx/);
    const bare = await withoutMessageStats(page);
    expect(bare).toMatch(ALONG_ENROLLMENT);
    expect(bare).not.toMatch(/SEARCH r USING (COVERING )?INDEX messages_team_replied_idx/);
  });
});
