import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { countingD1 } from "../../worker/middleware/d1-count";
import { deleteContacts } from "../../worker/services/contact-deletion";
import { env } from "../helpers";
import { makeContacts, makeTeam } from "../fixtures";

// Deleting contacts that unsubscribed or bounced keeps their addresses on the suppression list. Written 15
// rows a statement, 10,000 of them took ~667 D1 statements in a row, near D1's 1,000 queries per
// invocation: the whole list goes in a few JSON-packed statements.
describe("deleting many suppressed contacts", () => {
  it("keeps every address on the suppression list in a handful of statements", async () => {
    const { teamId, userId } = await makeTeam();
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const ids = await makeContacts(teamId, 3_000);
    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE team_id = ? AND rowid % 2 = 0").bind(teamId).run();
    await env.DB.prepare("UPDATE contacts SET bounced_at = 1 WHERE team_id = ? AND unsubscribed_at IS NULL").bind(teamId).run();
    const emails = await env.DB.prepare("SELECT lower(email) AS e, unsubscribed_at AS u FROM contacts WHERE team_id = ?")
      .bind(teamId)
      .all<{ e: string; u: number | null }>();

    const counted = countingD1(env.DB);
    const out = await deleteContacts({ ...env, DB: counted.db }, db(counted.db), caller, ids);
    expect(out).toMatchObject({ updated: 3_000, suppressed: 3_000, not_found: [] });

    const kept = await env.DB.prepare("SELECT email, reason, source FROM suppressions WHERE team_id = ?")
      .bind(teamId)
      .all<{ email: string; reason: string; source: string }>();
    const byEmail = new Map(kept.results.map((r) => [r.email, r]));
    expect(byEmail.size).toBe(3_000);
    for (const { e, u } of emails.results)
      expect(byEmail.get(e)).toEqual({ email: e, reason: u ? "unsubscribed" : "bounced", source: "contact_deleted" });
    const inserts = counted.count.queries.filter((q) => /insert\b[^(]*\binto\s+"?suppressions/i.test(q.sql));
    expect(inserts.length).toBeLessThanOrEqual(2);
    expect(counted.count.queries.length).toBeLessThan(100);
  });
});
