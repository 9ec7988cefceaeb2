import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { schedules, sequenceShares, users } from "../db/schema";
import type { Caller } from "../env";
import { sequenceFor } from "./access";
import { inUseSql, type InUse as InUseValue } from "./sequences";
import { stepsWithVariants } from "./steps";

export const VariantSchema = z
  .object({ id: z.string(), label: z.string(), subject: z.string(), body: z.string(), enabled: z.boolean() })
  .openapi("StepVariant");

export const StepSchema = z
  .object({
    id: z.string(),
    position: z.number(),
    type: z.enum(["auto_email", "manual_email", "call", "linkedin_connect", "linkedin_message", "linkedin_view", "task"]),
    wait_amount: z.number(),
    wait_unit: z.enum(["minutes", "hours", "days"]),
    business_days: z.boolean(),
    enabled: z.boolean(),
    thread_reply: z.boolean(),
    note: z.string(),
    variants: z.array(VariantSchema),
  })
  .openapi("Step");

const InUse = z.enum(["contacts", "add_pending", "add_history", "workflow"]).nullable().openapi({
  description:
    "What keeps it from being deleted (archived or not): contacts were added to it (contacts), an add of contacts is scheduled or under way and nobody is in it yet (add_pending), an add finished or was cancelled with nobody in it (add_history; its record stays with the sequence) — archive it instead for those three — or a workflow adds to it (workflow); null when its owner or an admin may delete it",
});

export const SequenceSummarySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    active: z.boolean(),
    archived_at: z.number().nullable(),
    owner_id: z.string(),
    owner_name: z.string(),
    created_at: z.number(),
    steps: z.number(),
    steps_on: z.number().openapi({ description: "Steps that are on: a sequence turns on only with at least one" }),
    counts: z.record(z.string(), z.number()).openapi({ description: "Enrollments by status" }),
    sent: z.number().openapi({
      description: "Emails that went out, bounced ones included (not those whose send may not have happened): the report's sent",
    }),
    bounced: z.number(),
    replied: z
      .number()
      .openapi({ description: "Emails answered with a reply (out-of-office answers left out), as the report counts them" }),
    reply_rate: z
      .number()
      .openapi({ description: "Replies over the emails that arrived (sent minus bounced), as the report's reply_rate" }),
    can_edit: z.boolean(),
    can_manage: z.boolean().openapi({ description: "Share, give away, archive or delete it: its owner or an admin" }),
    in_use: InUse,
  })
  .openapi("SequenceSummary");

export const SequenceDetailSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    active: z.boolean(),
    archived_at: z.number().nullable(),
    owner_id: z.string(),
    owner_name: z.string(),
    schedule_id: z.string().nullable(),
    schedule_name: z.string().nullable(),
    settings: z.record(z.string(), z.unknown()),
    access: z.enum(["owner", "admin", "edit", "view"]),
    in_use: InUse,
    steps: z.array(StepSchema),
    shares: z.array(z.object({ user_id: z.string(), name: z.string(), email: z.string(), access: z.enum(["view", "edit"]) })),
    created_at: z.number(),
    updated_at: z.number(),
  })
  .openapi("Sequence");

export async function loadSequenceDetail(d: Db, caller: Caller, sequenceId: string): Promise<z.infer<typeof SequenceDetailSchema>> {
  const { seq, access } = await sequenceFor(d, caller, sequenceId);
  const [{ steps: stepRows, variants }, shares, schedule, owner, use] = await Promise.all([
    stepsWithVariants(d, seq.id),
    d
      .select({ user_id: sequenceShares.userId, access: sequenceShares.access, name: users.name, email: users.email })
      .from(sequenceShares)
      .innerJoin(users, eq(users.id, sequenceShares.userId))
      .where(eq(sequenceShares.sequenceId, seq.id)),
    seq.scheduleId
      ? d.query.schedules.findFirst({ where: and(eq(schedules.id, seq.scheduleId), eq(schedules.teamId, seq.teamId)) })
      : undefined,
    d.query.users.findFirst({ where: and(eq(users.id, seq.ownerId), eq(users.teamId, seq.teamId)) }),
    d.get<{ in_use: InUseValue | null }>(sql`SELECT ${inUseSql(seq.teamId, seq.id)} AS in_use`),
  ]);
  return {
    id: seq.id,
    name: seq.name,
    active: seq.active,
    archived_at: seq.archivedAt,
    owner_id: seq.ownerId,
    owner_name: owner?.name ?? "",
    schedule_id: seq.scheduleId,
    schedule_name: schedule?.name ?? null,
    settings: seq.settings,
    access,
    in_use: use?.in_use ?? null,
    created_at: seq.createdAt,
    updated_at: seq.updatedAt,
    shares,
    steps: stepRows.map((s) => ({
      id: s.id,
      position: s.position,
      type: s.type,
      wait_amount: s.waitAmount,
      wait_unit: s.waitUnit,
      business_days: s.businessDays,
      enabled: s.enabled,
      thread_reply: s.threadReply,
      note: s.note,
      variants: variants
        .filter((v) => v.stepId === s.id)
        .map((v) => ({ id: v.id, label: v.label, subject: v.subject, body: v.body, enabled: v.enabled })),
    })),
  };
}
