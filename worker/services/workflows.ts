import type { Env, Caller } from "../env";
import { db } from "../db/client";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { commitAddContacts } from "./add-contacts/jobs";
import type { AddContactsRequest } from "./add-contacts/request";
import { searchPeopleIds, type PeopleFilters } from "./people-search";

/** How long a claimed run slot is held before another tick may call it interrupted. */
const LEASE_MS = 10 * 60_000;

export interface WorkflowOptions {
  mailbox_ids?: string[];
  overrides?: AddContactsRequest["overrides"];
  enrich?: boolean;
}

/**
 * One workflow run for one slot. The unique (workflow, slot) row is the lease: overlapping cron
 * ticks (or a tick and a "run now") can't run the same slot twice. Net New Check: only people the
 * team has not saved yet are considered. Every run that adds nobody says why (invariant 10).
 */
export async function runWorkflow(env: Env, workflowId: string, slot: number, manual = false) {
  const t = now();
  const wf = await env.DB.prepare("SELECT * FROM workflows WHERE id = ?").bind(workflowId).first<Record<string, any>>();
  if (!wf) return null;
  const runId = newId();
  const claimed = await env.DB.prepare(
    "INSERT OR IGNORE INTO workflow_runs (id, team_id, workflow_id, slot, status, lease_until, started_at) VALUES (?, ?, ?, ?, 'running', ?, ?)",
  ).bind(runId, wf.team_id, wf.id, slot, t + LEASE_MS, t).run();
  if (!claimed.meta.changes) return null;
  if (!manual) {
    await env.DB.prepare("UPDATE workflows SET next_run_at = ?, last_run_at = ? WHERE id = ? AND next_run_at = ?").bind(slot + wf.interval_minutes * 60_000, t, wf.id, slot).run();
  } else {
    await env.DB.prepare("UPDATE workflows SET last_run_at = ? WHERE id = ?").bind(t, wf.id).run();
  }
  const finish = (status: "completed" | "failed", fields: { found?: number; jobId?: string | null; reason?: string | null }) =>
    env.DB.prepare("UPDATE workflow_runs SET status = ?, found = ?, job_id = ?, reason = ?, finished_at = ? WHERE id = ?")
      .bind(status, fields.found ?? 0, fields.jobId ?? null, fields.reason ?? null, now(), runId).run();

  const owner = await env.DB.prepare("SELECT id, role FROM users WHERE id = ? AND team_id = ? AND disabled_at IS NULL").bind(wf.owner_id, wf.team_id).first<{ id: string; role: "admin" | "member" }>();
  if (!owner) {
    await finish("failed", { reason: "owner_missing" });
    return runId;
  }
  const caller: Caller = { teamId: wf.team_id, userId: owner.id, role: owner.role, via: "api_key" };
  const filters = { ...(JSON.parse(wf.filters) as PeopleFilters), saved: "net_new" as const };
  const ids = (await searchPeopleIds(env.DB, wf.team_id, filters, wf.max_per_run)).slice(0, wf.max_per_run);
  if (!ids.length) {
    await finish("completed", { found: 0, reason: "no_new_people" });
    return runId;
  }
  const options = JSON.parse(wf.options) as WorkflowOptions;
  try {
    const { job } = await commitAddContacts(env, db(env.DB), caller, wf.sequence_id, {
      source: { people_ids: ids },
      mailbox_ids: options.mailbox_ids,
      overrides: options.overrides,
      skip_validation: false,
      enrich: options.enrich ?? false,
    }, `workflow:${wf.id}:${slot}`, "workflow");
    await finish("completed", { found: ids.length, jobId: job.id });
  } catch (err) {
    // A precondition (sequence off, no mailbox, short on credits…) is the run's reason.
    await finish("failed", { found: ids.length, reason: err instanceof ApiError ? err.code : "internal_error" });
  }
  return runId;
}

/** Cron: run every active workflow whose slot has come; tidy runs whose lease ran out. */
export async function runDueWorkflows(env: Env) {
  const t = now();
  await env.DB.prepare("UPDATE workflow_runs SET status = 'failed', reason = 'interrupted', finished_at = ? WHERE status = 'running' AND lease_until < ?").bind(t, t).run();
  const { results } = await env.DB.prepare("SELECT id, next_run_at FROM workflows WHERE active = 1 AND next_run_at <= ? ORDER BY next_run_at LIMIT 20").bind(t).all<{ id: string; next_run_at: number }>();
  for (const w of results) await runWorkflow(env, w.id, w.next_run_at);
  return results.length;
}
