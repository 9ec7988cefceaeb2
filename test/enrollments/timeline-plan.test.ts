// The contact timeline reads a contact's audit entries through an index (issue 12): without
// `audit_log_target_idx` SQLite walks the team's whole audit log for every timeline page.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { contactAuditEntries } from "../../worker/services/timeline";
import { env } from "../helpers";

describe("the timeline's audit-log read", () => {
  it("searches audit_log by team, target and contact through audit_log_target_idx, with no scan or temp sort", async () => {
    const q = contactAuditEntries(db(env.DB), "team-x", "contact-x", 26).toSQL();
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
        .bind(...q.params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    const auditStep = plan.find((d) => /\baudit_log\b/.test(d));
    expect(auditStep, plan.join("\n")).toMatch(
      /SEARCH audit_log USING INDEX audit_log_target_idx \(team_id=\? AND target_type=\? AND target_id=\?\)/,
    );
    expect(plan.join("\n")).not.toMatch(/SCAN audit_log|USE TEMP B-TREE FOR ORDER BY/);
  });
});
