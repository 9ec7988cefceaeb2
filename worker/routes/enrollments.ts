import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq, sql } from "drizzle-orm";
import { inList } from "../db/in-list";
import { db } from "../db/client";
import { auditLog, contacts, enrollments, mailboxes, steps } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { router } from "../lib/openapi";
import { errorResponses, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { mailboxStub, sequenceStub } from "../lib/stubs";
import { mailboxFor, sequenceFor, visibleSequenceRaw } from "../services/access";
import { auditEntry } from "../services/audit";
import { REASONS, type ReasonCode } from "../services/engine-types";
import { nextWindowStart } from "../services/schedule-time";
import { isEmailStep, loadSequenceConfig } from "../services/sequence-config";

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

const EnrollmentQuery = Pagination.extend({ status: z.enum(["active", "paused", "held", "finished", "failed", "removed", "all"]).default("all") });

/** The reason an active enrollment waits, refined by its mailbox's state (invariant 10). */
function explain(reason: string | null, status: string, mailboxStatus: string | null, mailboxReason: string | null): { reason: string | null; text: string | null } {
  if (status === "active" && reason === "queued_for_mailbox" && mailboxStatus && mailboxStatus !== "connected") {
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
      for (const f of await mailboxStub(env, id).forecast(id, 2000)) out.set(f.enrollmentId, f.at);
    }),
  );
  return out;
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
      const where = and(eq(enrollments.sequenceId, seq.id), eq(enrollments.teamId, caller.teamId), q.status === "all" ? undefined : eq(enrollments.status, q.status));
      const [rows, total, counts] = await Promise.all([
        d.select({ e: enrollments, c: contacts, mb: mailboxes, stepType: steps.type })
          .from(enrollments)
          .innerJoin(contacts, eq(contacts.id, enrollments.contactId))
          .leftJoin(mailboxes, eq(mailboxes.id, enrollments.mailboxId))
          .leftJoin(steps, and(eq(steps.sequenceId, enrollments.sequenceId), eq(steps.position, enrollments.currentStep)))
          .where(where)
          .orderBy(desc(enrollments.updatedAt), asc(enrollments.id))
          .limit(q.per_page)
          .offset((q.page - 1) * q.per_page),
        d.select({ n: sql<number>`count(*)` }).from(enrollments).where(where),
        d.select({ status: enrollments.status, n: sql<number>`count(*)` }).from(enrollments).where(eq(enrollments.sequenceId, seq.id)).groupBy(enrollments.status),
      ]);
      const queued = rows.filter((r) => r.e.status === "active" && r.e.reason === "queued_for_mailbox" && r.mb?.status === "connected");
      const fc = queued.length ? await forecasts(c.env, queued.map((r) => r.e.mailboxId!)) : new Map<string, number | null>();
      const cfg = await loadSequenceConfig(c.env.DB, seq.id);
      return c.json({
        enrollments: rows.map((r) => {
          const why = explain(r.e.reason, r.e.status, r.mb?.status ?? null, r.mb?.statusReason ?? null);
          let next: number | null = null;
          if (r.e.status === "active") {
            if (r.e.reason === "queued_for_mailbox") next = fc.get(r.e.id) ?? null;
            else if (r.e.nextDueAt !== null) next = r.stepType && isEmailStep(r.stepType) && cfg ? nextWindowStart(r.e.nextDueAt, cfg.window) : r.e.nextDueAt;
          }
          return {
            id: r.e.id, status: r.e.status, current_step: r.e.currentStep, step_type: r.stepType ?? null, next_action_at: next,
            reason: why.reason, reason_text: why.text,
            contact: { id: r.c.id, name: `${r.c.firstName} ${r.c.lastName}`.trim(), email: r.c.email, company: r.c.company },
            mailbox: r.mb ? { id: r.mb.id, email: r.mb.email, status: r.mb.status } : null,
            created_at: r.e.createdAt, finished_at: r.e.finishedAt,
          };
        }),
        pagination: paginationMeta(q.page, q.per_page, total[0]?.n ?? 0),
        counts: Object.fromEntries(counts.map((x) => [x.status, x.n])),
      }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/enrollments/{action}",
      tags: ["Enrollments"],
      summary: "Pause, resume, mark finished or remove contacts in a sequence",
      request: {
        params: IdParam.extend({ action: z.enum(["pause", "resume", "finish", "remove"]).openapi({ param: { name: "action", in: "path" } }) }),
        body: jsonBody(z.object({ enrollment_ids: z.array(z.string()).min(1).max(1000) })),
      },
      responses: { 200: json(z.object({ changed: z.array(z.string()), unchanged: z.array(z.string()) })), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id, action } = c.req.valid("param");
      const enrollment_ids = [...new Set(c.req.valid("json").enrollment_ids)];
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, id, "sequence.edit");
      const found = await d.select({ id: enrollments.id }).from(enrollments).where(and(eq(enrollments.sequenceId, seq.id), eq(enrollments.teamId, caller.teamId), inList(enrollments.id, enrollment_ids)));
      const known = new Set(found.map((f) => f.id));
      const missing = enrollment_ids.filter((e) => !known.has(e));
      if (missing.length) throw new ApiError("not_found", `${missing.length} enrollment(s) not found in this sequence`, { enrollment_ids: missing.slice(0, 20) });
      const changed = await sequenceStub(c.env, seq.id).transition(seq.id, seq.teamId, enrollment_ids, action);
      await d.insert(auditLog).values(auditEntry(caller, `enrollment.${action}`, "sequence", seq.id, { count: changed.length }));
      return c.json({ changed, unchanged: enrollment_ids.filter((e) => !changed.includes(e)) }, 200);
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
      if (!windows.has(r.sequence_id)) windows.set(r.sequence_id, await loadSequenceConfig(env.DB, r.sequence_id));
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
