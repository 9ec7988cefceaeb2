import { and, asc, count, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { containsFolded, folded, SORT_FOLDS } from "../db/contains";
import { auditLog, emailTemplates } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { authorize, emailTemplateFor, templateAllows, visibleTemplates } from "./access";
import { auditEntry } from "./audit";
import { EMPTY_BODY, textWarnings, type Warning } from "./steps";
import { validateTemplate } from "./templates";

/**
 * Email templates: a subject and body a rep saves once and inserts into any email step (the step copies the
 * text, so a later change to the template changes no step). Private to their owner, or shared with the team.
 * Their text is checked as a step's is when saved, so a template always inserts into a step that saves.
 */

/** The longest template name. */
export const TEMPLATE_NAME_MAX = 200;

export interface EmailTemplateView {
  id: string;
  name: string;
  subject: string;
  body: string;
  shared: boolean;
  owner_id: string;
  /** The owner's name, for "by …" on a shared template (null when the user is gone). */
  owner_name: string | null;
  created_at: number;
  updated_at: number;
  /** Whether the caller may change or delete it (template.manage): the screen offers only what works. */
  can_manage: boolean;
}

export interface TemplateFields {
  name: string;
  subject: string;
  body: string;
  shared: boolean;
}

const viewColumns = {
  id: emailTemplates.id,
  name: emailTemplates.name,
  subject: emailTemplates.subject,
  body: emailTemplates.body,
  shared: emailTemplates.shared,
  owner_id: emailTemplates.ownerId,
  // Named apart from the template's own `name`: D1 keys a row's columns by name, so an unnamed user's name (a
  // join's, or this subquery's without AS under wrangler's D1) took the template's place and shifted the rest.
  owner_name: sql<string | null>`(SELECT u.name FROM users u WHERE u.id = ${emailTemplates.ownerId})`.as("owner_name"),
  created_at: emailTemplates.createdAt,
  updated_at: emailTemplates.updatedAt,
};

const withRights = (caller: Caller, row: Omit<EmailTemplateView, "can_manage">): EmailTemplateView => ({
  ...row,
  can_manage: templateAllows(caller, row.owner_id),
});

/** By name as a person reads it (case- and accent-blind, as the lists are), then id for a stable page. */
const BY_NAME = [asc(folded(emailTemplates.name, SORT_FOLDS)), asc(emailTemplates.id)];

/** The templates the caller sees (shared and their own) whose name contains `q`, by name, a page at a time. */
export async function listEmailTemplates(
  d: Db,
  caller: Caller,
  q: { q?: string; page: number; per_page: number },
): Promise<{ templates: EmailTemplateView[]; total: number }> {
  authorize(caller, "template.view");
  const where = and(visibleTemplates(caller), q.q ? containsFolded(emailTemplates.name, q.q) : undefined);
  const [rows, total] = await d.batch([
    d
      .select(viewColumns)
      .from(emailTemplates)
      .where(where)
      .orderBy(...BY_NAME)
      .limit(q.per_page)
      .offset((q.page - 1) * q.per_page),
    d.select({ n: count() }).from(emailTemplates).where(where),
  ]);
  return { templates: rows.map((r) => withRights(caller, r)), total: total[0]?.n ?? 0 };
}

async function view(d: Db, caller: Caller, id: string): Promise<EmailTemplateView> {
  const [row] = await d
    .select(viewColumns)
    .from(emailTemplates)
    .where(and(eq(emailTemplates.id, id), eq(emailTemplates.teamId, caller.teamId)));
  // Deleted meanwhile (by its owner or an admin): as gone as any.
  if (!row) throw notFound("Template");
  return withRights(caller, row);
}

/** One template the caller sees (404 for another's private one and for another team's). */
export async function getEmailTemplate(d: Db, caller: Caller, id: string): Promise<EmailTemplateView> {
  await emailTemplateFor(d, caller, id);
  return view(d, caller, id);
}

/**
 * The text refused as a step refuses it (broken braces, unknown variables with a "did you mean", a subject on two
 * lines, an empty body); a template's subject may be empty, for a step that replies in the thread.
 */
function refuseText(t: { subject: string; body: string }) {
  const problems = validateTemplate(t.subject, t.body).map((p) => ({ field: p.field as string, message: p.message }));
  if (!t.body.trim()) problems.push({ field: "body", message: EMPTY_BODY });
  if (problems.length) throw new ApiError("validation_failed", "The template can't be saved", { fields: problems });
}

/** What a step's save would warn about in this text (custom fields no contact has, empty fallbacks). */
const warningsOf = (d: Db, caller: Caller, t: { subject: string; body: string }): Promise<Warning[]> =>
  textWarnings(d, caller.teamId, "auto_email", [
    ["subject", t.subject],
    ["body", t.body],
  ]);

export async function createEmailTemplate(
  d: Db,
  caller: Caller,
  input: TemplateFields,
): Promise<{ template: EmailTemplateView; warnings: Warning[] }> {
  authorize(caller, "template.create", "You can't create templates");
  refuseText(input);
  const id = newId();
  const t = now();
  await d.batch([
    d.insert(emailTemplates).values({
      id,
      teamId: caller.teamId,
      ownerId: caller.userId,
      name: input.name,
      subject: input.subject,
      body: input.body,
      shared: input.shared,
      createdAt: t,
      updatedAt: t,
    }),
    d
      .insert(auditLog)
      .values(auditEntry(caller, "email_template.create", "email_template", id, { name: input.name, shared: input.shared })),
  ]);
  return { template: await view(d, caller, id), warnings: await warningsOf(d, caller, input) };
}

/** Changes the given fields (its owner, or an admin); the text as it ends up is checked whole. */
export async function updateEmailTemplate(
  d: Db,
  caller: Caller,
  id: string,
  patch: Partial<TemplateFields>,
): Promise<{ template: EmailTemplateView; warnings: Warning[] }> {
  const cur = await emailTemplateFor(d, caller, id, "template.manage");
  const next = { subject: patch.subject ?? cur.subject, body: patch.body ?? cur.body };
  refuseText(next);
  const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<TemplateFields>;
  await d.batch([
    d
      .update(emailTemplates)
      .set({ ...set, updatedAt: now() })
      .where(and(eq(emailTemplates.id, id), eq(emailTemplates.teamId, caller.teamId))),
    d.insert(auditLog).values(auditEntry(caller, "email_template.update", "email_template", id, { fields: Object.keys(set) })),
  ]);
  return { template: await view(d, caller, id), warnings: await warningsOf(d, caller, next) };
}

/** Deletes a template (its owner, or an admin); steps that took its text keep it. */
export async function deleteEmailTemplate(d: Db, caller: Caller, id: string): Promise<void> {
  const cur = await emailTemplateFor(d, caller, id, "template.manage");
  await d.batch([
    d.delete(emailTemplates).where(and(eq(emailTemplates.id, id), eq(emailTemplates.teamId, caller.teamId))),
    d.insert(auditLog).values(auditEntry(caller, "email_template.delete", "email_template", id, { name: cur.name })),
  ]);
}
