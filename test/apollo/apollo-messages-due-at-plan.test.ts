// Apollo's emailer_messages/search by due_at (emailer_message_date_range_mode=due_at) reads the scheduled
// time, which no index has after the team. The planner chose by statistics: the team's every email down
// messages_team_sent_idx on team_id alone, a skip-scan of every team's mailboxes in
// messages_mailbox_status_idx (what this test's statistics gave), or a scan of the table. The range is now
// read down messages_mailbox_status_idx for each of the team's mailboxes and statuses, whatever the
// statistics say, with no new index for every email sent to write.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { resetClock } from "../../worker/lib/clock";
import { countingD1 } from "../../worker/middleware/d1-count";
import { addContactsSetup, makeContacts, makeMessages, makeUser } from "../fixtures";
import { call, env } from "../helpers";
import { masterKey } from "./apollo-key";

const DAY = 86_400_000;
const START = Date.parse("2026-01-01T00:00:00Z");

beforeEach(() => resetClock());

describe("Apollo emailer_messages/search by due_at", () => {
  it("reads the range down the mailbox index, the team's mailboxes and each status sought, for a team with many emails", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const contacts = await makeContacts(x.teamId, 600);
    const ids = await makeMessages(x.teamId, x.sequenceId, x.stepIds[0]!, x.mailboxIds[0]!, contacts);
    // 600 emails, one scheduled each 12 hours from 1 January (sent an hour later): 2 on each of 300 days.
    await env.DB.prepare(
      `UPDATE messages SET scheduled_at = ?1 + (SELECT count(*) FROM messages m2 WHERE m2.team_id = messages.team_id AND m2.id < messages.id) * ?2,
              sent_at = ?1 + (SELECT count(*) FROM messages m2 WHERE m2.team_id = messages.team_id AND m2.id < messages.id) * ?2 + 3600000
        WHERE team_id = ?3`,
    )
      .bind(START, DAY / 2, x.teamId)
      .run();
    const inRange = await env.DB.prepare(
      "SELECT id FROM messages WHERE team_id = ? AND scheduled_at BETWEEN ? AND ? ORDER BY sent_at DESC, id",
    )
      .bind(x.teamId, START + 10 * DAY, START + 11 * DAY - 1)
      .all<{ id: string }>();
    expect(inRange.results.length).toBe(2);
    expect(ids.length).toBe(600);

    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const ctx = createExecutionContext();
    const res = await app.request(
      `http://seqflare.test/apollo/api/v1/emailer_messages/search?emailer_message_date_range[min]=2026-01-11&emailer_message_date_range[max]=2026-01-11&emailer_message_date_range_mode=due_at`,
      { headers: { "x-api-key": key } },
      { ...env, DB: counted.db },
      ctx,
    );
    const body = (await res.json()) as { emailer_messages: Record<string, unknown>[]; pagination: { total_entries: number } };
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(body.emailer_messages.map((m) => m.id)).toEqual(inRange.results.map((r) => r.id));
    expect(body.pagination.total_entries).toBe(2);
    // Each email whole, in Apollo's shape, as the builder's rows give it.
    const first = await env.DB.prepare("SELECT sent_at, created_at, subject FROM messages WHERE id = ?")
      .bind(inRange.results[0]!.id)
      .first<{ sent_at: number; created_at: number; subject: string }>();
    expect(body.emailer_messages[0]).toMatchObject({
      emailer_campaign_id: x.sequenceId,
      emailer_step_id: x.stepIds[0],
      email_account_id: x.mailboxIds[0],
      subject: first!.subject,
      status: "completed",
      completed_at: new Date(first!.sent_at).toISOString(),
      created_at: new Date(first!.created_at).toISOString(),
    });
    const reads = counted.count.queries.filter((q) => /from "messages"/i.test(q.sql) && /"scheduled_at" >=/.test(q.sql));
    expect(reads.length, counted.count.statements.join("\n")).toBe(2);
    for (const q of reads) {
      const plan = (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
          .bind(...q.params)
          .all<{ detail: string }>()
      ).results
        .map((r) => r.detail)
        .join("; ");
      expect(plan, plan).toMatch(
        /SEARCH messages USING (?:COVERING )?INDEX messages_mailbox_status_idx \(mailbox_id=\? AND status=\? AND scheduled_at>\? AND scheduled_at<\?\)/,
      );
      expect(plan).not.toMatch(/SCAN messages/);
    }
    // The two emails of that day and their neighbours at the range's ends, not the team's 600.
    expect(counted.count.rowsRead, `rows read: ${counted.count.rowsRead}`).toBeLessThan(100);
  });

  it("keeps every other filter on a due_at range: statuses, users, and only the team's emails", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const other = await addContactsSetup();
    const [c1, c2, c3] = await makeContacts(x.teamId, 3);
    const [o1] = await makeContacts(other.teamId, 1);
    const [sent, scheduled] = await makeMessages(x.teamId, x.sequenceId, x.stepIds[0]!, x.mailboxIds[0]!, [c1!, c2!], (i) =>
      i === 0 ? "sent" : "scheduled",
    );
    const [bounced] = await makeMessages(x.teamId, x.sequenceId, x.stepIds[0]!, x.mailboxIds[0]!, [c3!], () => "bounced");
    const [foreign] = await makeMessages(other.teamId, other.sequenceId, other.stepIds[0]!, other.mailboxIds[0]!, [o1!]);
    await env.DB.prepare("UPDATE messages SET scheduled_at = ? WHERE id IN (?, ?, ?, ?)")
      .bind(START + 5 * DAY + 3_600_000, sent, scheduled, bounced, foreign)
      .run();
    const search = async (extra: Record<string, unknown>) => {
      const res = await call("/apollo/api/v1/emailer_messages/search", {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({
          emailer_message_date_range: { min: "2026-01-06", max: "2026-01-06" },
          emailer_message_date_range_mode: "due_at",
          ...extra,
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { emailer_messages: { id: string }[]; pagination: { total_entries: number } };
      return { ids: body.emailer_messages.map((m) => m.id).sort(), total: body.pagination.total_entries };
    };
    const mine = [sent!, scheduled!, bounced!].sort();
    expect(await search({})).toEqual({ ids: mine, total: 3 });
    expect(await search({ emailer_message_stats: ["delivered"] })).toEqual({ ids: [sent], total: 1 });
    expect(await search({ emailer_message_stats: ["scheduled", "bounced"] })).toEqual({ ids: [scheduled, bounced].sort(), total: 2 });
    expect(await search({ user_ids: [x.userId] })).toEqual({ ids: mine, total: 3 });
    const colleague = await makeUser(x.teamId, "member");
    expect(await search({ user_ids: [colleague] })).toEqual({ ids: [], total: 0 });
    // The last page of one: the third email, the total still every match.
    const pages = [await search({ per_page: 1, page: 1 }), await search({ per_page: 1, page: 2 }), await search({ per_page: 1, page: 3 })];
    expect(pages.flatMap((p) => p.ids).sort()).toEqual(mine);
    expect(pages.map((p) => p.total)).toEqual([3, 3, 3]);
  });
});
