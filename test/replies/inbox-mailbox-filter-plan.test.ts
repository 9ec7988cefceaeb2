// The inbox filtered by mailbox (GET /api/replies?mailbox_id=) read every email the mailbox ever sent,
// for the page and for each count: its filter was an IN-list of them. It is an EXISTS on the inbound
// row's own email, looked up by its id, so a mailbox's thousands of sent emails are not read per request.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { startSimulation } from "../fixtures";
import { countedGet, env } from "../helpers";
import { replyTo, sentFirst } from "./mail";

type Inbox = { replies: { id: string }[]; pagination: { total_entries: number }; counts?: Record<string, number> };

describe("the inbox's mailbox filter", () => {
  beforeEach(() => startSimulation());

  it("looks up each inbound email's own email by id, in the page and in the counts, never lists the mailbox's emails", async () => {
    const s = await sentFirst({ n: 3 });
    const inbound = (await handleInbound(env, replyTo(s.m))).inboundId!;
    const r = await countedGet<Inbox>(s.session.cookie, `/api/replies?mailbox_id=${s.mailboxId}`);
    expect(r.body.replies.map((x) => x.id)).toEqual([inbound]);
    expect(r.body.pagination.total_entries).toBe(1);
    const filtered = r.count.queries.filter((q) => /\bfm\.mailbox_id\b/i.test(q.sql));
    // The page, its total and the counts by classification.
    expect(filtered.length, r.count.statements.join("\n")).toBe(3);
    for (const q of filtered) {
      const plan = (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
          .bind(...q.params)
          .all<{ detail: string }>()
      ).results
        .map((x) => x.detail)
        .join("; ");
      expect(plan).not.toMatch(/LIST SUBQUERY/);
      expect(plan).not.toMatch(/fm USING (?:COVERING )?INDEX messages_mailbox/);
      expect(plan).toMatch(/SEARCH fm (?:EXISTS )?USING (?:COVERING )?INDEX sqlite_autoindex_messages_1 \(id=\?\)/);
    }
  });
});
