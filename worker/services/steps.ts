import { z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import { batchSql, type BatchStatement, type Db } from "../db/client";
import { inList } from "../db/in-list";
import { auditLog, deletedSteps, enrollments, sequences, steps, stepVariants, type STEP_TYPES } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { firstReplyWithoutOpener } from "../lib/thread-openers";
import { engine } from "../../durable-objects/engine";
import { isEmailStep, STEP_ORDER } from "../../durable-objects/sequence-config";
import { sequenceFor } from "./access";
import { auditEntry } from "./audit";
import { loadSequenceDetail } from "./sequence-views";
import { abortUnless, assertKeepsAStepOn, keepsAStepOn, noStepOnLeft, refusedBy } from "./state-preconditions";
import { blankFallbacks, customKeysIn, validateTemplate, variableUses } from "./templates";

/**
 * A sequence's steps and their A/B variants. Every change is checked before it is written (wait at
 * most a year, content that renders, a step and a variant left on), keeps positions 1…n, touches the
 * sequence and writes an audit entry; each answers the sequence as the editor shows it.
 */

/**
 * The one order of a sequence's steps, wherever they are read in order (the engine's too: STEP_ORDER):
 * by position, then id. Two steps at one position (written by adds that raced before their writes were
 * guarded) otherwise came back in whichever order D1 read them, and an edit's read disagreed with its
 * own check of the steps (stepsStill), refusing every add, delete and reorder of that sequence for ever.
 */
const stepOrder = STEP_ORDER.map((c) => asc(steps[c]));

/** A sequence's steps in order and their variants (by label): what the editor shows and a copy duplicates. */
export async function stepsWithVariants(d: Db, sequenceId: string) {
  const stepRows = await d
    .select()
    .from(steps)
    .where(eq(steps.sequenceId, sequenceId))
    .orderBy(...stepOrder);
  const variants = stepRows.length
    ? await d
        .select()
        .from(stepVariants)
        .where(
          inList(
            stepVariants.stepId,
            stepRows.map((s) => s.id),
          ),
        )
        .orderBy(asc(stepVariants.label))
    : [];
  return { steps: stepRows, variants };
}

/**
 * Most steps a sequence may have. Apollo and its peers stop well below this; every step is loaded
 * with its variants on each read, clone and send, so a bound keeps those reads small.
 */
export const MAX_STEPS_PER_SEQUENCE = 50;
/** Most A/B variants of one email step. */
export const MAX_VARIANTS_PER_STEP = 10;
/**
 * An email's text as a step (variant) holds it, and as a one-contact edit of a scheduled email
 * (routes/scheduled-emails.ts) takes it: one set of limits for the same email.
 */
export const EmailSubject = z.string().max(300);
export const EmailBody = z.string().max(20_000);
/** A body of only spaces and line breaks goes out as an empty email. */
export const EMPTY_BODY = "The email body is empty";

/** An email step with no variant on would send an empty "(no subject)" email. */
const ONE_ON = "An email step needs at least one variant on";

export interface VariantFields {
  subject: string;
  body: string;
  enabled?: boolean;
}
export interface StepFields {
  wait_amount: number;
  wait_unit: "minutes" | "hours" | "days";
  business_days: boolean;
  enabled: boolean;
  thread_reply: boolean;
  note: string;
}
export type NewStep = Partial<StepFields> & { type: (typeof STEP_TYPES)[number]; position?: number; variants?: VariantFields[] };

type Problem = { field: string; message: string };

/** Email content is checked when saved: unknown variables and broken braces are refused (422). */
function templateProblems(prefix: string, v: { subject?: string; body?: string }, threadReply: boolean): Problem[] {
  const problems: Problem[] = validateTemplate(v.subject ?? "", v.body ?? "").map((p) => ({
    field: `${prefix}.${p.field}`,
    message: p.message,
  }));
  if (!threadReply && !(v.subject ?? "").trim())
    problems.push({ field: `${prefix}.subject`, message: "A subject is required (or reply in the same thread)" });
  if (!(v.body ?? "").trim()) problems.push({ field: `${prefix}.body`, message: EMPTY_BODY });
  return problems;
}

/**
 * A task step's note is rendered for each contact when its task is made (durable-objects/tasks.ts): unknown
 * variables and broken braces are refused on save as in an email's body, so "{{firstname}}" is caught in the
 * editor, not shown as written on every task. Checked only when a note is written: a step saved before keeps
 * its other edits.
 */
const noteProblems = (note: string | undefined): Problem[] =>
  note === undefined ? [] : validateTemplate("", note).map((p) => ({ field: "note", message: p.message }));

/** Said about a save that went through: something the user likely didn't mean, that the save can't know for sure. */
export type Warning = { field: string; message: string };

/**
 * `{{custom.<key>}}` tags whose key no live contact of the team has: a typo ({{custom.compnay}}) that
 * pauses every contact on the step (or, with a fallback, sends the fallback to everyone). A warning, not a refusal: the key may come with a later import. One
 * statement; a key some contact has stops its scan at that contact.
 */
async function customKeyWarnings(d: Db, teamId: string, stepType: string, texts: [field: string, text: string][]): Promise<Warning[]> {
  // `bare`: some use has no fallback, so a contact without the field is paused there (compose.ts, missing_variables).
  const bare = (text: string, key: string) => variableUses(text).some((t) => t.name === `custom.${key}` && t.fallback === null);
  const used = texts.flatMap(([field, text]) => customKeysIn(text).map((key) => ({ field, key, bare: bare(text, key) })));
  if (!used.length) return [];
  const keys = [...new Set(used.map((u) => u.key))];
  const missing = new Set(
    (
      await d.all<{ k: string }>(sql`
        SELECT value AS k FROM json_each(${JSON.stringify(keys)})
         WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.team_id = ${teamId} AND c.deleted_at IS NULL
                             AND json_extract(c.custom_fields, '$."' || value || '"') IS NOT NULL)`)
    ).map((r) => r.k),
  );
  return used
    .filter((u) => missing.has(u.key))
    .map((u) => ({
      field: u.field,
      message: u.bare
        ? stepType === "manual_email"
          ? // A manual email isn't paused: its task's draft shows the blank, and Send refuses it until it is filled in.
            `No contact has the custom field “${u.key}” yet: the drafts of contacts without custom.${u.key} have a blank to fill in before they can be sent, unless you add a fallback, e.g. {{custom.${u.key}|…}}. Check its spelling.`
          : `No contact has the custom field “${u.key}” yet: contacts without custom.${u.key} are paused on this step unless you add a fallback, e.g. {{custom.${u.key}|…}}. Check its spelling.`
        : `No contact has the custom field “${u.key}” yet: {{custom.${u.key}}} comes out as its fallback until one does. Check its spelling.`,
    }));
}

/**
 * Tags with a fallback of only spaces (`{{first_name| }}`): it reads like a fallback, but an email that would
 * show it is refused like one with none (templates.ts), so the contact is paused on the step. A warning: the
 * save is fine for every contact who has the value.
 */
function blankFallbackWarnings(stepType: string, texts: [field: string, text: string][]): Warning[] {
  const effect =
    stepType === "manual_email"
      ? "the drafts of contacts without a value have a blank to fill in before they can be sent"
      : "contacts without a value are paused on this step";
  return texts.flatMap(([field, text]) =>
    blankFallbacks(text).map((tag) => ({
      field,
      message: `${tag} has an empty fallback, which counts as none: ${effect}. Write a fallback, e.g. {{first_name|there}}, or leave the fallback out.`,
    })),
  );
}

/**
 * Every warning about an email's text as saved: custom fields no contact has, fallbacks left empty. Also said
 * of an email template (services/email-templates.ts), whose text a step takes as it is.
 */
export async function textWarnings(d: Db, teamId: string, stepType: string, texts: [field: string, text: string][]): Promise<Warning[]> {
  return [...blankFallbackWarnings(stepType, texts), ...(await customKeyWarnings(d, teamId, stepType, texts))];
}

const variantTexts = (prefix: string, v: { subject?: string; body?: string }): [string, string][] => [
  [`${prefix}.subject`, v.subject ?? ""],
  [`${prefix}.body`, v.body ?? ""],
];

/** The longest wait before a step is a year, in whichever unit it is counted. */
const MAX_WAIT = { minutes: 365 * 24 * 60, hours: 365 * 24, days: 365 } as const;

function waitProblems(amount: number, unit: keyof typeof MAX_WAIT): Problem[] {
  const max = MAX_WAIT[unit];
  return amount > max ? [{ field: "wait_amount", message: `Wait can be at most ${max.toLocaleString("en-US")} ${unit} (a year)` }] : [];
}

function refuse(problems: Problem[]): void {
  if (problems.length) throw new ApiError("validation_failed", "The step can't be saved", { fields: problems });
}

const hasVariants = (type: string) => isEmailStep(type) || type === "manual_email";

/**
 * Only an email replies in a thread: `thread_reply` on a call or a task meant nothing to the engine, yet counted
 * as a reply needing an email before it, so moving or deleting that email was refused (422) with no way to clear it.
 */
function refuseThreadReplyOf(type: string, threadReply: boolean | undefined) {
  if (threadReply && !hasVariants(type))
    refuse([{ field: "thread_reply", message: "Only an email step can reply in the same thread: leave thread_reply off for this step" }]);
}

/**
 * The sequence the caller may edit, for an edit of its steps, variants or settings: one archived is
 * refused (409) until it is unarchived, as the editor shows it read-only; its steps were edited through
 * the API meanwhile, unseen.
 */
export async function editableSequence(d: Db, caller: Caller, sequenceId: string) {
  const found = await sequenceFor(d, caller, sequenceId, "sequence.edit");
  if (found.seq.archivedAt !== null) throw new ApiError("conflict", "This sequence is archived; unarchive it to edit");
  return found;
}

/** The sequence the caller may edit and the step named (404 when not theirs). */
async function stepOf(d: Db, caller: Caller, sequenceId: string, stepId: string) {
  const { seq } = await editableSequence(d, caller, sequenceId);
  const step = await d.query.steps.findFirst({ where: and(eq(steps.id, stepId), eq(steps.sequenceId, seq.id)) });
  if (!step) throw notFound("Step");
  return { seq, step };
}

/**
 * The steps in order, for the same-thread checks: `reply` only for an email (a row written before non-email
 * steps were refused thread_reply still has it, and must not block the moves of the email before it).
 */
const stepsInOrder = async (d: Db, sequenceId: string) =>
  (
    await d
      .select({ id: steps.id, type: steps.type, reply: steps.threadReply, enabled: steps.enabled })
      .from(steps)
      .where(eq(steps.sequenceId, sequenceId))
      .orderBy(...stepOrder)
  ).map((s) => ({ ...s, reply: s.reply && hasVariants(s.type) }));

/**
 * "The sequence's steps are still these, in this order", as a condition of the batch that numbers
 * positions from them (abortUnless): two editors adding, deleting or moving steps at once each
 * numbered from the same earlier read, giving two steps one position or passing the step cap.
 */
const stepsStill = (sequenceId: string, ids: readonly string[]) =>
  sql`coalesce((select group_concat(x.id, ',') from (select ${steps.id} from ${steps} where ${steps.sequenceId} = ${sequenceId} order by ${sql.join([...stepOrder], sql`, `)}) x), '') = ${ids.join(",")}`;

/** The step set changed between an edit's read and its write: nothing was written. */
const stepsChanged = () => new ApiError("conflict", "The steps changed meanwhile; reload and try again");

/** Positions stay 1…n in the stored order. */
const renumbered = (d: Db, sequenceId: string, orderedIds: string[]) =>
  orderedIds.map((id, i) =>
    d
      .update(steps)
      .set({ position: i + 1 })
      .where(and(eq(steps.id, id), eq(steps.sequenceId, sequenceId))),
  );

/**
 * Refuses an order in which a same-thread reply has no email before it (worker/lib/thread-openers.ts):
 * `order` is the steps as the edit would leave them, `changed` the step the edit is about, `current` the
 * current order (the reply is named by its step number there).
 */
function refuseRepliesWithoutOpener(
  field: string,
  order: { id: string; type: string; reply: boolean }[],
  changed: string,
  current: string[],
) {
  const i = firstReplyWithoutOpener(order);
  if (i < 0) return;
  const reply = order[i]!.id;
  refuse([
    {
      field,
      message:
        reply === changed
          ? "A same-thread reply needs an automatic email step before it to reply to"
          : `Step ${current.indexOf(reply) + 1} replies in the same thread and would have no automatic email step before it: turn off its threading (and give it a subject) first`,
    },
  ]);
}

/**
 * Writes an edit that moves steps (one D1 batch). Contacts stay on their steps, whose positions change,
 * so the sequence's engine rewrites the positions D1 shows (SequenceDO.followSteps) before the answer.
 * It is asked once before the edit too: rows it hasn't taken over from D1 yet (the demo seed) name their
 * step by position, and are bound to their steps under the order they were written in. The edit is
 * committed either way: an engine that can't be reached now does it when it next loads the sequence.
 * Answers whether the sequence has runs (with none, its engine has nothing to follow or re-time).
 */
async function moveSteps(env: Env, d: Db, seq: { id: string; teamId: string }, writes: BatchStatement[]) {
  const [any] = await d.select({ id: enrollments.id }).from(enrollments).where(eq(enrollments.sequenceId, seq.id)).limit(1);
  const follow = async () => {
    if (any)
      await engine
        .sequence(env, seq.id, seq.teamId)
        .followSteps()
        .catch((err) => console.error(`positions of sequence ${seq.id}'s enrollments follow its steps when it next runs`, err));
  };
  await follow();
  await batchSql(d, writes);
  await follow();
  return !!any;
}

/**
 * After steps were added in front of others, deleted or reordered: contacts waiting are due when the steps
 * say now (SequenceDO.retime), as after a change of a wait. The edit is committed: an engine out of reach
 * still moves them on, at the old time, when their timer fires.
 */
async function retimeAfterMove(env: Env, seq: { id: string; teamId: string }) {
  await engine
    .sequence(env, seq.id, seq.teamId)
    .retime()
    .catch((err) => console.error(`contacts of sequence ${seq.id} keep their times after its steps moved`, err));
}

/**
 * After an add in front of others or a reorder: a contact waits for its own step, whatever its place, so
 * only one whose step is off (due after the next step on) can have another next step now. With every step
 * on there is nothing to re-time, and the re-time would walk every run of the sequence (holding its
 * SequenceDO) and move each overdue timer to now; with no runs there is nothing either. `order` is the
 * steps the edit read and wrote (a change of them meanwhile refused it: stepsStill).
 */
async function retimeIfAStepIsOff(env: Env, seq: { id: string; teamId: string }, hasRuns: boolean, order: { enabled: boolean }[]) {
  if (hasRuns && order.some((s) => !s.enabled)) await retimeAfterMove(env, seq);
}

/** The sequence changed (its updated time, an audit entry); answers it as the editor shows it. */
async function touched(d: Db, caller: Caller, sequenceId: string, action: string, details: Record<string, unknown>) {
  await batchSql(d, [
    d.update(sequences).set({ updatedAt: now() }).where(eq(sequences.id, sequenceId)),
    d.insert(auditLog).values(auditEntry(caller, action, "sequence", sequenceId, details)),
  ]);
  return loadSequenceDetail(d, caller, sequenceId);
}

/** Add a step at the end, or before the step now at `position`; email steps start with their variants (one empty by default). */
export async function addStep(env: Env, d: Db, caller: Caller, sequenceId: string, body: NewStep) {
  const { seq } = await editableSequence(d, caller, sequenceId);
  const order = await stepsInOrder(d, seq.id);
  const existing = order.map((s) => s.id);
  if (existing.length >= MAX_STEPS_PER_SEQUENCE)
    refuse([{ field: "steps", message: `A sequence has at most ${MAX_STEPS_PER_SEQUENCE} steps` }]);
  const position = Math.min(body.position ?? existing.length + 1, existing.length + 1);
  refuseThreadReplyOf(body.type, body.thread_reply);
  const threadReply = body.thread_reply ?? false;
  const id = newId();
  // `order` becomes the order with the new step; `existing` stays the current one (named in refusals).
  const enabled = body.enabled ?? true;
  order.splice(position - 1, 0, { id, type: body.type, reply: threadReply, enabled });
  refuseRepliesWithoutOpener("thread_reply", order, id, existing);
  refuse(waitProblems(body.wait_amount ?? 0, body.wait_unit ?? "days"));
  const variants = hasVariants(body.type) ? (body.variants?.length ? body.variants : [{ subject: "", body: "" }]) : [];
  refuse(variants.flatMap((v, i) => templateProblems(`variants.${i}`, v, threadReply)));
  refuse(noteProblems(body.note));
  if (variants.length && variants.every((v) => v.enabled === false)) refuse([{ field: "variants", message: ONE_ON }]);
  const t = now();
  const writes: BatchStatement[] = [
    abortUnless(d, seq.id, stepsStill(seq.id, existing)),
    d.insert(steps).values({
      id,
      teamId: caller.teamId,
      sequenceId: seq.id,
      position,
      type: body.type,
      waitAmount: body.wait_amount ?? (position === 1 ? 0 : 2),
      waitUnit: body.wait_unit ?? "days",
      businessDays: body.business_days ?? false,
      enabled,
      threadReply,
      note: body.note ?? "",
      createdAt: t,
    }),
    ...variants.map((v, i) =>
      d.insert(stepVariants).values({
        id: newId(),
        teamId: caller.teamId,
        stepId: id,
        label: String.fromCharCode(65 + i),
        subject: v.subject,
        body: v.body,
        enabled: v.enabled ?? true,
        createdAt: t,
      }),
    ),
    ...renumbered(
      d,
      seq.id,
      order.map((s) => s.id),
    ),
  ];
  // At the end, no step moves.
  const moved = position < order.length;
  const hasRuns = await (moved ? moveSteps(env, d, seq, writes) : batchSql(d, writes).then(() => false)).catch((err) => {
    throw refusedBy(err) ? stepsChanged() : err;
  });
  // A step put before others can be the next step on of contacts already waiting (theirs is off): they are
  // due after its wait now, not the one their timer was set from. (At the end, no step moved: hasRuns is false.)
  await retimeIfAStepIsOff(env, seq, hasRuns, order);
  const warnings = await textWarnings(
    d,
    caller.teamId,
    body.type,
    variants.flatMap((v, i) => variantTexts(`variants.${i}`, v)),
  );
  return { sequence: await touched(d, caller, seq.id, "step.create", { step_id: id, type: body.type }), warnings };
}

/** Change a step's wait, switch it on or off, its threading or note. */
export async function updateStep(env: Env, d: Db, caller: Caller, sequenceId: string, stepId: string, body: Partial<StepFields>) {
  const { seq, step } = await stepOf(d, caller, sequenceId, stepId);
  if (!Object.values(body).some((v) => v !== undefined))
    throw new ApiError("validation_failed", "Nothing to change: give at least one field", {
      fields: [{ field: "body", message: "Give at least one field to change" }],
    });
  refuseThreadReplyOf(step.type, body.thread_reply);
  if (body.thread_reply !== undefined && body.thread_reply !== step.threadReply) {
    const order = await stepsInOrder(d, seq.id);
    refuseRepliesWithoutOpener(
      "thread_reply",
      order.map((s) => (s.id === step.id ? { ...s, reply: body.thread_reply! } : s)),
      step.id,
      order.map((s) => s.id),
    );
  }
  if (body.thread_reply === false && step.threadReply && hasVariants(step.type)) {
    // A same-thread reply may have no subject of its own (it takes the thread's); as a new thread it
    // needs one, or it would go out as "(no subject)".
    const vs = await d
      .select({ label: stepVariants.label, subject: stepVariants.subject })
      .from(stepVariants)
      .where(eq(stepVariants.stepId, step.id))
      .orderBy(asc(stepVariants.label));
    refuse(
      vs.flatMap((v, i) =>
        (v.subject ?? "").trim()
          ? []
          : [
              {
                field: `variants.${i}.subject`,
                message: `Variant ${v.label} has no subject: give it one before this step starts a new thread`,
              },
            ],
      ),
    );
  }
  refuse(waitProblems(body.wait_amount ?? step.waitAmount, body.wait_unit ?? step.waitUnit));
  refuse(noteProblems(body.note));
  const turningOff = body.enabled === false && step.enabled;
  if (turningOff) await assertKeepsAStepOn(d, seq, step.id, "enabled");
  const written = await d
    .update(steps)
    .set({
      ...(body.wait_amount !== undefined && { waitAmount: body.wait_amount }),
      ...(body.wait_unit !== undefined && { waitUnit: body.wait_unit }),
      ...(body.business_days !== undefined && { businessDays: body.business_days }),
      ...(body.enabled !== undefined && { enabled: body.enabled }),
      ...(body.thread_reply !== undefined && { threadReply: body.thread_reply }),
      ...(body.note !== undefined && { note: body.note }),
    })
    .where(and(eq(steps.id, step.id), turningOff ? keepsAStepOn(seq.id, step.id) : undefined))
    .returning({ id: steps.id });
  // Another editor turned off the other step on between the check above and this write (or deleted this one).
  if (!written.length) throw turningOff ? noStepOnLeft("enabled") : notFound("Step");
  // Contacts already waiting for a step follow its new wait (or the step after one turned off) now.
  const timing = (["wait_amount", "wait_unit", "business_days", "enabled"] as const).some((k) => body[k] !== undefined);
  if (timing) await engine.sequence(env, seq.id, seq.teamId).retime();
  return touched(d, caller, seq.id, "step.update", { step_id: step.id, ...body });
}

/**
 * Delete a step; contacts on it move to the step that came after it (kept in deleted_steps: positions
 * close up, so the engine can't find that step by the old position).
 */
export async function deleteStep(env: Env, d: Db, caller: Caller, sequenceId: string, stepId: string) {
  const { seq, step } = await stepOf(d, caller, sequenceId, stepId);
  if (step.enabled) await assertKeepsAStepOn(d, seq, step.id, "step");
  const rows = await stepsInOrder(d, seq.id);
  const order = rows.map((s) => s.id);
  refuseRepliesWithoutOpener(
    "step",
    rows.filter((s) => s.id !== step.id),
    step.id,
    order,
  );
  const next = order[order.indexOf(step.id) + 1] ?? null;
  await moveSteps(env, d, seq, [
    // The check above, again in the write (as turning a step off does): two editors deleting the last
    // two steps on at once both pass a read made before either wrote. The whole batch is refused.
    abortUnless(d, seq.id, sql`(${keepsAStepOn(seq.id, step.id)} and ${stepsStill(seq.id, order)})`),
    d.insert(deletedSteps).values({ id: step.id, teamId: caller.teamId, sequenceId: seq.id, nextStepId: next, deletedAt: now() }),
    d.delete(stepVariants).where(eq(stepVariants.stepId, step.id)),
    d.delete(steps).where(eq(steps.id, step.id)),
    ...renumbered(
      d,
      seq.id,
      order.filter((id) => id !== step.id),
    ),
  ]).catch(async (err) => {
    if (!refusedBy(err)) throw err;
    // Which condition failed, as the sequence is now: no other step on is the refusal a retry would get too.
    const [r] = await d.all<{ ok: number }>(sql`select ${keepsAStepOn(seq.id, step.id)} as ok`);
    throw r?.ok ? stepsChanged() : noStepOnLeft("step");
  });
  // Contacts waiting for it are due after the next step's own wait now, as when a step is turned off
  // (updateStep): its timer would otherwise keep the deleted step's time.
  await retimeAfterMove(env, seq);
  return touched(d, caller, seq.id, "step.delete", { step_id: step.id });
}

/** Put the steps in a new order: every step id, once; a same-thread reply keeps an email step before it. */
export async function reorderSteps(env: Env, d: Db, caller: Caller, sequenceId: string, stepIds: string[]) {
  const { seq } = await editableSequence(d, caller, sequenceId);
  const current = await stepsInOrder(d, seq.id);
  const same =
    stepIds.length === current.length &&
    new Set(stepIds).size === stepIds.length &&
    stepIds.every((id) => current.some((s) => s.id === id));
  if (!same) refuse([{ field: "step_ids", message: "List every step of the sequence exactly once" }]);
  refuseRepliesWithoutOpener(
    "step_ids",
    stepIds.map((id) => current.find((s) => s.id === id)!),
    "",
    current.map((s) => s.id),
  );
  const hasRuns = await moveSteps(env, d, seq, [
    abortUnless(
      d,
      seq.id,
      stepsStill(
        seq.id,
        current.map((s) => s.id),
      ),
    ),
    ...renumbered(d, seq.id, stepIds),
  ]).catch((err) => {
    throw refusedBy(err) ? stepsChanged() : err;
  });
  // The next step on of a contact waiting for a step that is off can be another one now.
  await retimeIfAStepIsOff(env, seq, hasRuns, current);
  return touched(d, caller, seq.id, "step.reorder", { step_ids: stepIds });
}

/**
 * "Another variant of the step is on" as a condition of the write itself (of an UPDATE or DELETE of
 * step_variants): a count read before it lets two editors turn off (or delete) A and B at once, leaving
 * none on, and the step would send an empty "(no subject)" email. SQLite runs each statement alone.
 */
const anotherOn = (stepId: string) =>
  sql`exists (select 1 from step_variants o where o.step_id = ${stepId} and o.id <> "step_variants"."id" and o.enabled = 1)`;

/** Add an A/B variant to an email step (contacts split evenly and deterministically). */
export async function addVariant(d: Db, caller: Caller, sequenceId: string, stepId: string, body: VariantFields) {
  const { seq, step } = await stepOf(d, caller, sequenceId, stepId);
  if (!hasVariants(step.type)) refuse([{ field: "stepId", message: "Only email steps have variants" }]);
  refuse(templateProblems("variant", body, step.threadReply));
  // The letter is picked from a read and written only while it is still free and the step under its cap
  // (one statement, which SQLite runs alone): two adds at once picked the same letter from one read, or
  // together passed the cap. One that lost its letter picks again from what is there now. The step must
  // still be there too: one deleted meanwhile would be left with a variant of no step.
  const letters = Array.from({ length: MAX_VARIANTS_PER_STEP }, (_, i) => String.fromCharCode(65 + i));
  for (let attempt = 0; ; attempt++) {
    const taken = (await d.select({ label: stepVariants.label }).from(stepVariants).where(eq(stepVariants.stepId, step.id))).map(
      (v) => v.label,
    );
    if (taken.length >= MAX_VARIANTS_PER_STEP)
      refuse([{ field: "variant", message: `A step has at most ${MAX_VARIANTS_PER_STEP} variants` }]);
    // Each lost attempt means another add went in, so the cap ends this; the bound only guards against deletes in between.
    if (attempt > MAX_VARIANTS_PER_STEP) throw new ApiError("conflict", "The variants changed meanwhile; reload and try again");
    // The first free letter: after A of [A, B] was deleted, the new one is A again, not a second B.
    const label = letters.find((l) => !taken.includes(l))!;
    const added = await d.all<{ id: string }>(sql`
      INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at)
      SELECT ${newId()}, ${caller.teamId}, ${step.id}, ${label}, ${body.subject}, ${body.body}, ${body.enabled === false ? 0 : 1}, ${now()}
       WHERE NOT EXISTS (SELECT 1 FROM step_variants v WHERE v.step_id = ${step.id} AND v.label = ${label})
         AND (SELECT count(*) FROM step_variants v WHERE v.step_id = ${step.id}) < ${MAX_VARIANTS_PER_STEP}
         AND EXISTS (SELECT 1 FROM steps s WHERE s.id = ${step.id} AND s.team_id = ${caller.teamId})
      RETURNING id`);
    if (added.length) break;
    // Nothing written: the step was deleted (404), else its letter was taken meanwhile (pick again).
    const still = await d.query.steps.findFirst({
      columns: { id: true },
      where: and(eq(steps.id, step.id), eq(steps.teamId, caller.teamId)),
    });
    if (!still) throw notFound("Step");
  }
  const warnings = await textWarnings(d, caller.teamId, step.type, variantTexts("variant", body));
  return { sequence: await touched(d, caller, seq.id, "variant.create", { step_id: step.id }), warnings };
}

/** Edit or switch a variant (an email step keeps one on). */
export async function updateVariant(
  d: Db,
  caller: Caller,
  sequenceId: string,
  stepId: string,
  variantId: string,
  body: Partial<VariantFields>,
) {
  const { seq, step } = await stepOf(d, caller, sequenceId, stepId);
  const v = await d.query.stepVariants.findFirst({ where: and(eq(stepVariants.id, variantId), eq(stepVariants.stepId, step.id)) });
  if (!v) throw notFound("Variant");
  const next = { subject: body.subject ?? v.subject, body: body.body ?? v.body };
  refuse(templateProblems("variant", next, step.threadReply));
  // Only the fields sent are written: two people editing the subject and the body at once both keep theirs.
  const written = await d
    .update(stepVariants)
    .set({
      ...(body.subject !== undefined && { subject: body.subject }),
      ...(body.body !== undefined && { body: body.body }),
      ...(body.enabled !== undefined && { enabled: body.enabled }),
    })
    .where(and(eq(stepVariants.id, v.id), body.enabled === false ? anotherOn(step.id) : undefined))
    .returning({ id: stepVariants.id });
  if (!written.length) {
    // Gone meanwhile (deleted by someone else), else it was the last one on.
    if (!(await d.query.stepVariants.findFirst({ columns: { id: true }, where: eq(stepVariants.id, v.id) }))) throw notFound("Variant");
    refuse([{ field: "enabled", message: ONE_ON }]);
  }
  // About the text sent (a switch or an edit of the other field says nothing new).
  const warnings = await textWarnings(d, caller.teamId, step.type, variantTexts("variant", body));
  return { sequence: await touched(d, caller, seq.id, "variant.update", { step_id: step.id, variant_id: v.id }), warnings };
}

/** Delete a variant (an email step keeps at least one). */
export async function deleteVariant(d: Db, caller: Caller, sequenceId: string, stepId: string, variantId: string) {
  const { seq, step } = await stepOf(d, caller, sequenceId, stepId);
  // Why it can't go, from the variants as they are now (404 when it is gone).
  const refusal = async () => {
    const all = await d
      .select({ id: stepVariants.id, enabled: stepVariants.enabled })
      .from(stepVariants)
      .where(eq(stepVariants.stepId, step.id));
    const v = all.find((x) => x.id === variantId);
    if (!v) throw notFound("Variant");
    if (all.length <= 1) refuse([{ field: "variantId", message: "An email step needs at least one variant" }]);
    // With only variants that are off left, the step would send an empty email with no subject.
    if (v.enabled && !all.some((x) => x.id !== v.id && x.enabled))
      refuse([{ field: "variantId", message: "This is the only variant on: turn another one on before deleting it" }]);
  };
  await refusal();
  // The same rule in the delete itself: one that is off may go while another one is on (there always
  // is one), one that is on only while another one is on.
  const gone = await d
    .delete(stepVariants)
    .where(and(eq(stepVariants.id, variantId), eq(stepVariants.stepId, step.id), anotherOn(step.id)))
    .returning({ id: stepVariants.id });
  if (!gone.length) {
    await refusal();
    refuse([{ field: "variantId", message: ONE_ON }]);
  }
  return touched(d, caller, seq.id, "variant.delete", { step_id: step.id, variant_id: variantId });
}
