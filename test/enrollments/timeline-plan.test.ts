// The contact timeline reads a contact's audit entries through an index (issue 12): without
// `audit_log_target_idx` SQLite walks the team's whole audit log for every timeline page.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { newId } from "../../worker/lib/ids";
import { countingD1 } from "../../worker/middleware/d1-count";
import { contactAuditEntries } from "../../worker/services/timeline";
import { workflowOfJobs } from "../../worker/services/workflows";
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

describe("the timeline's workflow names", () => {
  it("finds the runs of the jobs that added a contact through workflow_runs_job_idx, not by walking the team's runs", async () => {
    const team = `team-${newId()}`;
    const wf = newId();
    await env.DB.prepare(
      "INSERT INTO workflows (id, team_id, owner_id, name, sequence_id, filters, created_at) VALUES (?, ?, 'u', 'Inbound leads', 's', '{}', 0)",
    )
      .bind(wf, team)
      .run();
    // 100 runs kept from a workflow's history, each with its job: the timeline asks about two of them.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
       INSERT INTO workflow_runs (id, team_id, workflow_id, slot, status, job_id, lease_until, started_at)
       SELECT ?1 || '-' || i, ?2, ?1, i, 'completed', ?1 || '-job-' || i, 0, i FROM n`,
    )
      .bind(wf, team)
      .run();
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const found = await workflowOfJobs(db(counted.db), team, [`${wf}-job-7`, `${wf}-job-42`, "another-job"]);
    expect(found.map((r) => r.job_id).sort()).toEqual([`${wf}-job-42`, `${wf}-job-7`]);
    expect(found.every((r) => r.workflow_id === wf && r.name === "Inbound leads")).toBe(true);
    const [q] = counted.count.queries.filter((x) => /workflow_runs/.test(x.sql));
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${q!.sql}`)
        .bind(...q!.params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    expect(plan.join("\n")).toMatch(/SEARCH workflow_runs USING (COVERING )?INDEX workflow_runs_job_idx \(team_id=\? AND job_id=\?\)/);
    expect(plan.join("\n")).not.toMatch(/SCAN workflow_runs/);
    // Two runs and their workflow (a lookup each), and the list's own values: not the team's 100 runs.
    expect(counted.count.rowsRead).toBeLessThan(20);
  });
});
