import { createRoute, z } from "@hono/zod-openapi";
import { containsSql } from "../db/contains";
import { IN_LIST, listParam } from "../db/in-list";
import { db } from "../db/client";
import { auditLog } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { engine, REASONS, type ReasonCode } from "../../durable-objects/engine";
import { mailboxFor, sequenceFor, visibleSequenceRaw } from "../services/access";
import { auditEntry } from "../services/audit";
import { commitAddContacts } from "../services/add-contacts/jobs";
import { AddContactsRequest } from "../services/add-contacts/request";
import { nextWindowStart } from "../services/schedule-time";
import { isEmailStep, loadSequenceConfig } from "../../durable-objects/sequence-config";

const EnrollmentSchema = z
  .object({
    id: z.string(),
    status: z.enum(["scheduled", "active", "paused", "held", "finished", "failed", "removed"]),
    current_step: z.number(),
    step_type: z.string().nullable(),
    next_action_at: z.number().nullable().openapi({ description: "When the next action is expected (estimated from the mailbox's queue, caps and windows)" }),
    reason: z.string().nullable(),
    reason_text: z.string().nullable().openapi({ description: "Why it finished or is not progressing, in words" }),
    contact: z.object({ id: z.string(), name: z.string(), email: z.string().nullable(), company: z.string().nullable() }),
    mailbox: z.object({ id: z.string(), email: z.string(), status: z.string() }).nullable(),
    paused_until: z.number().nullable().openapi({ description: "Paused until this instant (epoch ms); it resumes by itself then" }),
    created_at: z.number(),
    finished_at: z.number().nullable(),
  })
  .openapi("Enrollment");

const ScheduledEmailSchema = z
  .object({
    enrollment_id: z.string(),
    contact: z.object({ id: z.string(), name: z.string(), email: z.string().nullable() }),
    sequence: z.object({ id: z.string(), name: z.string() }),
    step_position: z.number(),
    mailbox_id: z.string(),
    mailbox_email: z.string(),
    state: z.enum(["queued", "waiting"]).openapi({ description: "queued: in the mailbox now; waiting: its step's wait has not passed" }),
    send_at: z.number().nullable().openapi({ description: "When it will go out; null when it can't be planned (mailbox disconnected, no window)" }),
  })
  .openapi("ScheduledEmail");

/**
 * The statuses users look for (Apollo's Sequence Status filters). They overlap as a user reads them:
 * "bounced" and "blocked" are finished contacts with that reason; "not sent" is anything that will not
 * go out as things are (held, no email, its mailbox disconnected or paused).
 */
export const ENROLLMENT_FILTERS = ["all", "active", "scheduled", "paused", "finished", "bounced", "not_sent", "blocked", "failed", "removed", "held"] as const;
type EnrollmentFilter = (typeof ENROLLMENT_FILTERS)[number];
const FILTER_SQL: Record<EnrollmentFilter, string> = {
  all: "1",
  active: "e.status = 'active'",
  scheduled: "e.status = 'scheduled'",
  paused: "e.status = 'paused'",
  finished: "e.status = 'finished'",
  bounced: "e.status = 'finished' AND e.reason = 'bounced'",
  not_sent: "(e.status = 'held' OR (e.status = 'finished' AND e.reason = 'no_email') OR (e.status = 'active' AND mb.status IS NOT NULL AND mb.status <> 'connected'))",
  blocked: "(e.status IN ('finished', 'held') AND e.reason IN ('unsubscribed', 'do_not_contact', 'suppressed'))",
  failed: "e.status = 'failed'",
  removed: "e.status = 'removed'",
  held: "e.status = 'held'",
};
const SORT_SQL = {
  updated: "e.updated_at",
  added: "e.created_at",
  name: "lower(trim(c.first_name || ' ' || c.last_name))",
  email: "lower(c.email)",
  company: "lower(c.company)",
  status: "e.status",
  step: "e.current_step",
  next_action: "coalesce(e.next_due_at, 9e15)",
} as const;

const FilterSchema = z
  .object({
    status: z.enum(ENROLLMENT_FILTERS).default("all").openapi({ description: "active, scheduled, paused, finished, bounced, not_sent, blocked (by a sequence rule: unsubscribed, Do Not Contact, suppressed), failed, removed, held, all" }),
    q: z.string().trim().min(1).max(200).optional().openapi({ description: "Search: name, email or company contains this" }),
    reason: z.string().min(1).max(64).optional().openapi({ description: "Only this reason code (e.g. replied, bounced, marked_finished)" }),
  })
  .openapi("EnrollmentFilter");

const EnrollmentQuery = Pagination.extend(FilterSchema.shape).extend({
  sort: z.enum(Object.keys(SORT_SQL) as [keyof typeof SORT_SQL, ...(keyof typeof SORT_SQL)[]]).default("updated"),
  order: z.enum(["asc", "desc"]).optional().openapi({ description: "Default: newest first for dates, A→Z otherwise" }),
});

/** `FROM … WHERE …` of the enrollments of a sequence matching a filter; params ?1 sequence, ?2 team, ?3 search, ?4 reason. */
function filterSql(f: z.infer<typeof FilterSchema>) {
  const search = `(${containsSql("trim(c.first_name || ' ' || c.last_name)", "?3")} OR ${containsSql("c.email", "?3")} OR ${containsSql("c.company", "?3")})`;
  return `FROM enrollments e JOIN contacts c ON c.id = e.contact_id LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id
    WHERE e.sequence_id = ?1 AND e.team_id = ?2 AND ${FILTER_SQL[f.status]}
      AND (?3 IS NULL OR ${search}) AND (?4 IS NULL OR e.reason = ?4)`;
}
const filterParams = (seqId: string, teamId: string, f: z.infer<typeof FilterSchema>) => [seqId, teamId, f.q ?? null, f.reason ?? null];

/** The reason an active enrollment waits, refined by its mailbox's state (invariant 10). */
function explain(reason: string | null, status: string, mailboxStatus: string | null, mailboxReason: string | null, emailStep = true): { reason: string | null; text: string | null } {
  // What will actually happen: an email waiting for its step or queued in a mailbox that can't send is held by that mailbox.
  const waitsOnMailbox = reason === "queued_for_mailbox" || (reason === "waiting_for_step" && emailStep);
  if (status === "active" && waitsOnMailbox && mailboxStatus && mailboxStatus !== "connected") {
    const code: ReasonCode = mailboxStatus === "paused" ? "mailbox_paused" : "mailbox_disconnected";
    return { reason: code, text: mailboxReason ? `${REASONS[code]} (${mailboxReason})` : REASONS[code] };
  }
  return { reason, text: reason ? (REASONS as Record<string, string>)[reason] ?? reason : null };
}

/** Forecast send times for queued emails, one RPC per mailbox involved. */
async function forecasts(env: Env, mailboxIds: string[]) {
  const out = new Map<string, number | null>();
  await Promise.all(
    [...new Set(mailboxIds)].map(async (id) => {
      for (const f of await engine.mailbox(env, id).forecast(2000)) out.set(f.enrollmentId, f.at);
    }),
  );
  return out;
}

const ACTIONS = ["pause", "resume", "finish", "remove", "restart", "move", "change-mailbox"] as const;
type Action = (typeof ACTIONS)[number];
const MAX_AHEAD_MS = 366 * 24 * 3_600_000;

const ActionBody = z
  .object({
    enrollment_ids: z.array(z.string().min(1).max(64)).min(1).max(1000).optional().openapi({ description: "These enrollments (up to 1,000)" }),
    filter: FilterSchema.optional().openapi({ description: "Every enrollment matching this filter, however many" }),
    until: z.number().int().min(0).optional().openapi({ description: "pause: resume by itself at this instant (epoch ms, in the future, at most a year ahead)" }),
    reason: z.enum(["marked_finished", "replied", "meeting_booked"]).optional().openapi({ description: "finish: why (default marked_finished)" }),
    step: z.number().int().min(1).max(100).optional().openapi({ description: "restart: the step position to start from (default 1)" }),
    to_sequence_id: z.string().min(1).max(64).optional().openapi({ description: "move: the sequence to move the contacts to (its preconditions and validation apply)" }),
    mailbox_ids: z.array(z.string().min(1).max(64)).max(50).optional().openapi({ description: "move: mailboxes to send from in the new sequence (default: as adding contacts)" }),
    mailbox_id: z.string().min(1).max(64).optional().openapi({ description: "change-mailbox: the mailbox to send from from now on (you must be allowed to send from it)" }),
  })
  .superRefine((b, ctx) => {
    if (!!b.enrollment_ids === !!b.filter) ctx.addIssue({ code: "custom", path: ["enrollment_ids"], message: "Give either enrollment_ids or a filter (one of them)" });
    if (b.until !== undefined && (b.until <= now() || b.until > now() + MAX_AHEAD_MS)) ctx.addIssue({ code: "custom", path: ["until"], message: "Pause until must be in the future and at most a year ahead" });
  })
  .openapi("EnrollmentActionRequest");

const ActionResult = z
  .object({
    changed: z.array(z.string()),
    unchanged: z.array(z.string()),
    outcomes: z.record(z.string(), z.number()).openapi({ description: "How many enrollments had each outcome" }),
    results: z.array(z.object({ id: z.string(), changed: z.boolean(), outcome: z.string(), reason: z.string().nullable(), new_id: z.string().nullable().optional() })),
    jobs: z.array(z.string()).openapi({ description: "move: the add-contacts jobs enrolling the contacts in the target sequence" }),
  })
  .openapi("EnrollmentActionResult");

interface Outcome { id: string; changed: boolean; outcome: string; reason: string | null; new_id?: string | null; from?: string | null }
interface Picked { id: string; status: string; contact_id: string }
const ACTION_PAGE = 5_000;

/** The enrollments an action applies to: the ids given (all must be this sequence's), or the filter's matches a page at a time. */
async function* selection(env: Env, seqId: string, teamId: string, body: z.infer<typeof ActionBody>): AsyncGenerator<Picked[]> {
  if (body.enrollment_ids) {
    const ids = [...new Set(body.enrollment_ids)];
    const found = await env.DB.prepare(`SELECT id, status, contact_id FROM enrollments WHERE sequence_id = ? AND team_id = ? AND id IN ${IN_LIST}`)
      .bind(seqId, teamId, listParam(ids)).all<Picked>();
    const known = new Map(found.results.map((f) => [f.id, f]));
    const missing = ids.filter((e) => !known.has(e));
    if (missing.length) throw new ApiError("not_found", `${missing.length} enrollment(s) not found in this sequence`, { enrollment_ids: missing.slice(0, 20) });
    yield ids.map((i) => known.get(i)!);
    return;
  }
  const f = body.filter!;
  // Keyset on id over a snapshot of the matching ids: an action that changes the status (pause on
  // "active") must not make the next page skip or repeat rows.
  const all = await env.DB.prepare(`SELECT e.id, e.status, e.contact_id ${filterSql(f)} ORDER BY e.id LIMIT ${MAX_FILTER_MATCHES + 1}`).bind(...filterParams(seqId, teamId, f)).all<Picked>();
  // One request answers every enrollment's outcome: past this bound the answer and the work stop being small.
  if (all.results.length > MAX_FILTER_MATCHES) {
    const message = `This filter matches more than ${MAX_FILTER_MATCHES.toLocaleString("en-US")} contacts; narrow it (a status, a reason or a search) and act in several steps`;
    throw new ApiError("validation_failed", message, { fields: [{ field: "filter", message }], limit: MAX_FILTER_MATCHES });
  }
  for (let i = 0; i < all.results.length; i += ACTION_PAGE) yield all.results.slice(i, i + ACTION_PAGE);
}

const OPEN_STATUSES = new Set(["active", "paused", "held", "scheduled"]);

/** Most enrollments one filter action takes (as `POST /contacts/bulk` takes 10,000 contacts). */
export const MAX_FILTER_MATCHES = 10_000;

function why(action: Action, status: string): string {
  if (!OPEN_STATUSES.has(status) && action !== "remove" && action !== "restart") return `Already ${status}: restart it to send the sequence again`;
  if (action === "pause" && status === "paused") return "Already paused";
  if (action === "resume") return `Not paused (${status})`;
  if (action === "remove" && status === "removed") return "Already removed";
  return `Nothing to do while ${status}`;
}

async function act(env: Env, d: ReturnType<typeof db>, caller: Caller, seq: { id: string; teamId: string }, action: Action, rows: Picked[], body: z.infer<typeof ActionBody>, targetId: string | null, mailboxId: string | null): Promise<{ results: Outcome[]; jobs: string[] }> {
  const stub = engine.sequence(env, seq.id, seq.teamId);
  const ids = rows.map((r) => r.id);
  if (action === "restart") {
    const out = await stub.restart(ids, body.step ?? null, caller.userId ?? null);
    return {
      jobs: [],
      results: out.map((o) => ({
        id: o.id, changed: o.outcome === "restarted", outcome: o.outcome, new_id: o.newId,
        reason: o.outcome === "no_such_step" ? `Step ${body.step ?? 1} does not exist or is turned off` : o.outcome === "already" ? "Already restarted, or the contact is in this sequence again" : null,
      })),
    };
  }
  if (action === "change-mailbox") {
    const out = await stub.changeMailbox(ids, mailboxId!);
    const words = { changed: null, not_found: "Not found", not_open: "Not active: nothing more will be sent", unchanged: "Already sends from this mailbox", sending_now: "Its email is being sent right now from the old mailbox; try again in a minute" } as const;
    return { jobs: [], results: out.map((o) => ({ id: o.id, changed: o.outcome === "changed", outcome: o.outcome, reason: words[o.outcome], from: o.from })) };
  }
  if (action === "move") {
    const open = rows.filter((r) => OPEN_STATUSES.has(r.status));
    const results: Outcome[] = rows.filter((r) => !OPEN_STATUSES.has(r.status)).map((r) => ({ id: r.id, changed: false, outcome: "not_open", reason: why("move", r.status) }));
    if (!open.length) return { results, jobs: [] };
    // The target's preconditions and validation: the add-contacts pipeline, as when adding them by hand.
    // It throws (nothing changed here) when the target can't take them.
    // Being in another sequence is the point of a move (this one, closed right after, so the job sees it
    // finished): the two "other sequence" warnings are waived; every other check and skip applies.
    const req = AddContactsRequest.parse({ source: { contact_ids: open.map((r) => r.contact_id) }, overrides: { active_in_other_sequence: true, finished_in_other_sequence: true }, ...(body.mailbox_ids ? { mailbox_ids: body.mailbox_ids } : {}) });
    const { job } = await commitAddContacts(env, d, caller, targetId!, req, null, "move");
    const changed = new Set(await stub.finish(open.map((r) => r.id), "moved"));
    for (const r of open) results.push(changed.has(r.id) ? { id: r.id, changed: true, outcome: "moved", reason: null } : { id: r.id, changed: false, outcome: "unchanged", reason: "It changed state meanwhile" });
    return { results, jobs: [String(job.id)] };
  }
  const reason: ReasonCode | undefined = action === "finish" ? (body.reason ?? "marked_finished") : action === "pause" && body.until ? "paused_until" : undefined;
  const changed = new Set(await stub.transition(ids, action, reason, action === "pause" ? body.until : undefined));
  const done = { pause: "paused", resume: "resumed", finish: "finished", remove: "removed" }[action];
  return { jobs: [], results: rows.map((r) => (changed.has(r.id) ? { id: r.id, changed: true, outcome: done, reason: null } : { id: r.id, changed: false, outcome: r.status === "finished" || r.status === "removed" || r.status === "failed" ? r.status : "unchanged", reason: why(action, r.status) })) };
}

export const enrollmentRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/enrollments",
      tags: ["Enrollments"],
      summary: "Contacts in a sequence: status, step, next action time or the reason they are not progressing",
      request: { params: IdParam, query: EnrollmentQuery },
      responses: { 200: json(z.object({ enrollments: z.array(EnrollmentSchema), pagination: PaginationMeta, counts: z.record(z.string(), z.number()) })), 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const q = c.req.valid("query");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, c.req.valid("param").id);
      const from = filterSql(q);
      const params = filterParams(seq.id, caller.teamId, q);
      const dir = q.order ?? (q.sort === "updated" || q.sort === "added" ? "desc" : "asc");
      // Counts per status answer the same search (not the same status): the chips show what each would list.
      const countAll = filterSql({ ...q, status: "all" });
      const [page, total, counts] = await c.env.DB.batch([
        c.env.DB.prepare(
          `SELECT e.id, e.status, e.current_step, e.next_due_at, e.reason, e.mailbox_id, e.created_at, e.finished_at,
                  c.id AS contact_id, trim(c.first_name || ' ' || c.last_name) AS name, c.email, c.company,
                  mb.status AS mb_status, mb.email AS mb_email, mb.status_reason AS mb_reason, st.type AS step_type
             ${from.replace("LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id", "LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id LEFT JOIN steps st ON st.sequence_id = e.sequence_id AND st.position = e.current_step")}
            ORDER BY ${SORT_SQL[q.sort]} ${dir}, e.id ${dir} LIMIT ?5 OFFSET ?6`,
        ).bind(...params, q.per_page, (q.page - 1) * q.per_page),
        c.env.DB.prepare(`SELECT count(*) AS n ${from}`).bind(...params),
        c.env.DB.prepare(
          `SELECT ${ENROLLMENT_FILTERS.map((f) => `coalesce(sum(CASE WHEN ${FILTER_SQL[f]} THEN 1 ELSE 0 END), 0) AS "${f}"`).join(", ")} ${countAll}`,
        ).bind(...params),
      ]);
      const rows = page!.results as Record<string, any>[];
      const queued = rows.filter((r) => r.status === "active" && r.reason === "queued_for_mailbox" && r.mb_status === "connected");
      const fc = queued.length ? await forecasts(c.env, queued.map((r) => r.mailbox_id)) : new Map<string, number | null>();
      const cfg = await loadSequenceConfig(db(c.env.DB), seq.id);
      return c.json({
        enrollments: rows.map((r) => {
          const why = explain(r.reason, r.status, r.mb_status ?? null, r.mb_reason ?? null, !r.step_type || isEmailStep(r.step_type));
          let next: number | null = null;
          if (r.status === "active" && why.reason !== "mailbox_disconnected" && why.reason !== "mailbox_paused") {
            if (r.reason === "queued_for_mailbox") next = fc.get(r.id) ?? null;
            else if (r.next_due_at !== null) next = r.step_type && isEmailStep(r.step_type) && cfg ? nextWindowStart(r.next_due_at, cfg.window) : r.next_due_at;
          }
          const pausedUntil = r.status === "paused" ? (r.next_due_at ?? null) : null;
          return {
            id: r.id, status: r.status, current_step: r.current_step, step_type: r.step_type ?? null,
            next_action_at: next ?? pausedUntil,
            reason: why.reason, reason_text: why.text, paused_until: pausedUntil,
            contact: { id: r.contact_id, name: r.name, email: r.email, company: r.company },
            mailbox: r.mailbox_id && r.mb_email ? { id: r.mailbox_id, email: r.mb_email, status: r.mb_status } : null,
            created_at: r.created_at, finished_at: r.finished_at,
          };
        }),
        pagination: paginationMeta(q.page, q.per_page, (total!.results[0] as { n: number } | undefined)?.n ?? 0),
        counts: (counts!.results[0] ?? {}) as Record<string, number>,
      }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/enrollments/{action}",
      tags: ["Enrollments"],
      summary: "Pause (optionally until a date), resume, finish, remove, restart, move to another sequence or change the sending mailbox of contacts in a sequence",
      description:
        "Acts on `enrollment_ids` (up to 1,000) or on every enrollment matching `filter` (up to 10,000, 5,000 at a time; 422 beyond). The answer lists each enrollment's outcome and, when nothing changed, why.",
      request: {
        params: IdParam.extend({ action: z.enum(ACTIONS).openapi({ param: { name: "action", in: "path" } }) }),
        body: jsonBody(ActionBody),
      },
      responses: { 200: json(ActionResult), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id, action } = c.req.valid("param");
      const body = c.req.valid("json");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, id, "sequence.edit");
      const need = (field: keyof typeof body, words: string) => {
        if (body[field] === undefined) throw new ApiError("validation_failed", `${words} is required to ${action}`, { fields: [{ field, label: words, message: `${words} is required to ${action}`, code: "required" }] });
      };
      if (action === "move") need("to_sequence_id", "The sequence to move to");
      if (action === "change-mailbox") need("mailbox_id", "The mailbox to send from");
      // Checked before anything changes: the target sequence and the mailbox must be the caller's to use.
      const target = action === "move" ? (await sequenceFor(d, caller, body.to_sequence_id!, "sequence.edit")).seq : null;
      if (target && target.id === seq.id) throw new ApiError("validation_failed", "Pick another sequence to move to", { fields: [{ field: "to_sequence_id", label: "The sequence to move to", message: "Pick another sequence than this one", code: "custom" }] });
      const mailbox = action === "change-mailbox" ? await mailboxFor(d, caller, body.mailbox_id!, "mailbox.send") : null;

      const results: Outcome[] = [];
      let jobs: string[] = [];
      for await (const rows of selection(c.env, seq.id, caller.teamId, body)) {
        const out = await act(c.env, d, caller, seq, action, rows, body, target?.id ?? null, mailbox?.id ?? null);
        results.push(...out.results);
        jobs = jobs.concat(out.jobs);
      }
      const tally: Record<string, number> = {};
      for (const r of results) tally[r.outcome] = (tally[r.outcome] ?? 0) + 1;
      await d.insert(auditLog).values(auditEntry(caller, `enrollment.${action}`, "sequence", seq.id, {
        count: results.filter((r) => r.changed).length, outcomes: tally,
        ...(mailbox ? { mailbox_id: mailbox.id, from: [...new Set(results.map((r) => r.from).filter(Boolean))].slice(0, 20) } : {}),
        ...(target ? { to_sequence_id: target.id, jobs } : {}),
        ...(body.until ? { until: body.until } : {}), ...(body.step ? { step: body.step } : {}),
      }));
      return c.json({
        changed: results.filter((r) => r.changed).map((r) => r.id),
        unchanged: results.filter((r) => !r.changed).map((r) => r.id),
        outcomes: tally,
        results: results.map(({ from: _f, ...r }) => r),
        jobs,
      }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/scheduled",
      tags: ["Enrollments"],
      summary: "Scheduled emails of a sequence with the time each will go out",
      request: { params: IdParam, query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
      responses: { 200: json(z.object({ scheduled: z.array(ScheduledEmailSchema) })), 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, c.req.valid("param").id);
      return c.json({ scheduled: await scheduledEmails(c.env, caller, { sequenceId: seq.id }, c.req.valid("query").limit) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/mailboxes/{id}/scheduled",
      tags: ["Mailboxes"],
      summary: "Emails queued in a mailbox with the time each will go out",
      request: { params: IdParam, query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
      responses: { 200: json(z.object({ scheduled: z.array(ScheduledEmailSchema) })), 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const mb = await mailboxFor(db(c.env.DB), caller, c.req.valid("param").id, "mailbox.view");
      // Only the emails of sequences the caller can see (a shared mailbox serves others' sequences too).
      return c.json({ scheduled: await scheduledEmails(c.env, caller, { mailboxId: mb.id }, c.req.valid("query").limit) }, 200);
    },
  );

/** Queued emails (forecast from the mailbox) and emails whose step wait has not passed yet (next window after it). */
async function scheduledEmails(env: Env, caller: Caller, scope: { sequenceId?: string; mailboxId?: string }, limit: number) {
  const seen = visibleSequenceRaw(caller, "e.sequence_id");
  const rows = await env.DB.prepare(
    `SELECT e.id, e.mailbox_id, e.sequence_id, e.current_step, e.next_due_at, e.reason, s.name AS sequence_name, st.type AS step_type,
            c.id AS contact_id, trim(c.first_name || ' ' || c.last_name) AS contact_name, c.email, mb.email AS mailbox_email
       FROM enrollments e
       JOIN sequences s ON s.id = e.sequence_id
       JOIN contacts c ON c.id = e.contact_id
       JOIN mailboxes mb ON mb.id = e.mailbox_id
       LEFT JOIN steps st ON st.sequence_id = e.sequence_id AND st.position = e.current_step
      WHERE e.team_id = ?1 AND e.status = 'active' AND e.mailbox_id IS NOT NULL AND st.type = 'auto_email'
        AND (?2 IS NULL OR e.sequence_id = ?2) AND (?3 IS NULL OR e.mailbox_id = ?3)
        AND e.reason IN ('queued_for_mailbox', 'waiting_for_step') AND ${seen.sql}
      ORDER BY e.next_due_at LIMIT 2000`,
  ).bind(caller.teamId, scope.sequenceId ?? null, scope.mailboxId ?? null, ...seen.params).all<Record<string, any>>();
  const fc = await forecasts(env, rows.results.filter((r) => r.reason === "queued_for_mailbox").map((r) => r.mailbox_id));
  const windows = new Map<string, Awaited<ReturnType<typeof loadSequenceConfig>>>();
  const out = [];
  for (const r of rows.results) {
    let at: number | null;
    if (r.reason === "queued_for_mailbox") at = fc.get(r.id) ?? null;
    else {
      if (!windows.has(r.sequence_id)) windows.set(r.sequence_id, await loadSequenceConfig(db(env.DB), r.sequence_id));
      const cfg = windows.get(r.sequence_id);
      at = cfg ? nextWindowStart(Math.max(r.next_due_at ?? now(), now()), cfg.window) : r.next_due_at;
    }
    out.push({
      enrollment_id: r.id, contact: { id: r.contact_id, name: r.contact_name, email: r.email }, sequence: { id: r.sequence_id, name: r.sequence_name },
      step_position: r.current_step, mailbox_id: r.mailbox_id, mailbox_email: r.mailbox_email, state: r.reason === "queued_for_mailbox" ? ("queued" as const) : ("waiting" as const), send_at: at,
    });
  }
  out.sort((a, b) => (a.send_at ?? Number.MAX_SAFE_INTEGER) - (b.send_at ?? Number.MAX_SAFE_INTEGER));
  return out.slice(0, limit);
}
