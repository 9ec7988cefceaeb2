import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, isNotNull, isNull, or, sql } from "drizzle-orm";
import { contains } from "../db/contains";
import { inList } from "../db/in-list";
import { db, runBatch } from "../db/client";
import { auditLog, schedules, sequences, sequenceShares, steps, stepVariants, users } from "../db/schema";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { sequenceStub } from "../lib/stubs";
import { authorize, canSeeAllSequences, sequenceAllows, sequenceFor, teamUser } from "../services/access";
import { auditEntry } from "../services/audit";
import { assertCanTurnOn } from "../services/state-preconditions";
import { loadSequenceDetail, SequenceDetailSchema, SequenceSummarySchema } from "../services/sequence-views";
import { TEMPLATE_VARIABLES } from "../services/templates";

const SequenceSettings = z
  .object({
    finish_on_reply: z.boolean().default(true),
    /** Whether contacts owned by other users may be added (Apollo's ownership permission). */
    allow_other_owners: z.boolean().default(true),
  })
  .partial()
  .openapi("SequenceSettings");

const CreateSequence = z
  .object({ name: z.string().trim().min(1).max(120), schedule_id: Id.nullable().optional(), settings: SequenceSettings.optional() })
  .openapi("CreateSequence");

const UpdateSequence = z
  .object({
    name: z.string().trim().min(1).max(120),
    schedule_id: Id.nullable(),
    settings: SequenceSettings,
    active: z.boolean(),
    owner_id: Id.openapi({ description: "Give the sequence to another user of the team (its owner or an admin only)" }),
  })
  .partial()
  .openapi("UpdateSequence");

const Shares = z
  .object({ shares: z.array(z.object({ user_id: z.string(), access: z.enum(["view", "edit"]) })).max(200) })
  .openapi("SequenceShares");

const ListQuery = Pagination.extend({
  q: z.string().trim().max(120).optional(),
  status: z.enum(["active", "inactive", "archived", "all"]).default("all"),
});

const one = z.object({ sequence: SequenceDetailSchema });

async function checkSchedule(d: ReturnType<typeof db>, teamId: string, scheduleId: string | null | undefined) {
  if (!scheduleId) return;
  const s = await d.query.schedules.findFirst({ where: and(eq(schedules.id, scheduleId), eq(schedules.teamId, teamId)) });
  if (!s) throw new ApiError("validation_failed", "Schedule not found", { fields: [{ field: "schedule_id", message: "No such schedule in your team" }] });
}

export const sequenceRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/template-variables",
      tags: ["Sequences"],
      summary: "The variables email templates may use ({{name}} or {{name|fallback}})",
      responses: { 200: json(z.object({ variables: z.array(z.object({ name: z.string(), description: z.string() })) })) },
    }),
    (c) => c.json({ variables: [...TEMPLATE_VARIABLES] }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences",
      tags: ["Sequences"],
      summary: "Sequences you can see, with status and enrollment counts",
      request: { query: ListQuery },
      responses: { 200: json(z.object({ sequences: z.array(SequenceSummarySchema), pagination: PaginationMeta })) },
    }),
    async (c) => {
      const caller = c.get("caller");
      const q = c.req.valid("query");
      const d = db(c.env.DB);
      const conds = [eq(sequences.teamId, caller.teamId)];
      if (!canSeeAllSequences(caller)) {
        conds.push(or(eq(sequences.ownerId, caller.userId), sql`exists (select 1 from ${sequenceShares} where ${sequenceShares.sequenceId} = ${sequences.id} and ${sequenceShares.userId} = ${caller.userId})`)!);
      }
      if (q.q) conds.push(contains(sequences.name, q.q));
      if (q.status === "archived") conds.push(isNotNull(sequences.archivedAt));
      else if (q.status !== "all") conds.push(isNull(sequences.archivedAt), eq(sequences.active, q.status === "active"));
      else conds.push(isNull(sequences.archivedAt));
      const where = and(...conds);
      const [rows, total] = await Promise.all([
        d
          .select({
            id: sequences.id,
            name: sequences.name,
            active: sequences.active,
            archived_at: sequences.archivedAt,
            owner_id: sequences.ownerId,
            owner_name: users.name,
            created_at: sequences.createdAt,
            steps: sql<number>`(select count(*) from steps s where s.sequence_id = ${sequences.id})`,
            steps_on: sql<number>`(select count(*) from steps s where s.sequence_id = ${sequences.id} and s.enabled = 1)`,
            counts: sql<string>`(select json_group_object(status, n) from (select status, count(*) n from enrollments e where e.sequence_id = ${sequences.id} group by status))`,
            sent: sql<number>`(select count(*) from messages m where m.sequence_id = ${sequences.id} and m.status in ('sent','unknown'))`,
            bounced: sql<number>`(select count(*) from messages m where m.sequence_id = ${sequences.id} and m.status = 'bounced')`,
            shared: sql<string | null>`(select x.access from sequence_shares x where x.sequence_id = ${sequences.id} and x.user_id = ${caller.userId})`,
          })
          .from(sequences)
          .leftJoin(users, eq(users.id, sequences.ownerId))
          .where(where)
          .orderBy(asc(sequences.name))
          .limit(q.per_page)
          .offset((q.page - 1) * q.per_page),
        d.select({ n: sql<number>`count(*)` }).from(sequences).where(where),
      ]);
      return c.json(
        {
          sequences: rows.map(({ shared, ...r }) => ({
            ...r,
            owner_name: r.owner_name ?? "",
            counts: JSON.parse(r.counts ?? "{}") as Record<string, number>,
            can_edit: sequenceAllows(caller, "sequence.edit", r.owner_id, shared === "edit" || shared === "view" ? shared : null),
          })),
          pagination: paginationMeta(q.page, q.per_page, total[0]?.n ?? 0),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences",
      tags: ["Sequences"],
      summary: "Create a sequence (inactive until you turn it on)",
      request: { body: jsonBody(CreateSequence) },
      responses: { 201: json(one, "Created"), 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      authorize(caller, "sequence.create");
      const body = c.req.valid("json");
      const d = db(c.env.DB);
      await checkSchedule(d, caller.teamId, body.schedule_id);
      const id = newId();
      const t = now();
      await runBatch(d, [
        d.insert(sequences).values({ id, teamId: caller.teamId, ownerId: caller.userId, name: body.name, active: false, scheduleId: body.schedule_id ?? null, settings: body.settings ?? {}, createdAt: t, updatedAt: t }),
        d.insert(auditLog).values(auditEntry(caller, "sequence.create", "sequence", id, { name: body.name })),
      ]);
      return c.json({ sequence: await loadSequenceDetail(d, caller, id) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}",
      tags: ["Sequences"],
      summary: "A sequence with its steps, variants, schedule and sharing",
      request: { params: IdParam },
      responses: { 200: json(one), 404: errorResponses[404] },
    }),
    async (c) => c.json({ sequence: await loadSequenceDetail(db(c.env.DB), c.get("caller"), c.req.valid("param").id) }, 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/sequences/{id}",
      tags: ["Sequences"],
      summary: "Rename, change schedule or settings, turn on/off, change owner",
      request: { params: IdParam, body: jsonBody(UpdateSequence) },
      responses: { 200: json(one), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const body = c.req.valid("json");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, c.req.valid("param").id, "sequence.edit");
      // Changing the owner is the owner's or an admin's call, never an editor's (they could lock the owner out).
      if (body.owner_id !== undefined && body.owner_id !== seq.ownerId) await sequenceFor(d, caller, seq.id, "sequence.manage");
      if (seq.archivedAt && body.active) throw new ApiError("conflict", "Archived sequences can't be turned on. Unarchive it first.");
      if (body.active && !seq.active) await assertCanTurnOn(c.env.DB, seq.id);
      await checkSchedule(d, caller.teamId, body.schedule_id);
      if (body.owner_id !== undefined) await teamUser(d, caller, body.owner_id, "owner_id");
      const patch: Partial<typeof sequences.$inferInsert> = { updatedAt: now() };
      if (body.name !== undefined) patch.name = body.name;
      if (body.schedule_id !== undefined) patch.scheduleId = body.schedule_id;
      if (body.settings !== undefined) patch.settings = { ...seq.settings, ...body.settings };
      if (body.active !== undefined) patch.active = body.active;
      if (body.owner_id !== undefined) patch.ownerId = body.owner_id;
      // A handover keeps the former owner as an editor (they'd otherwise lose a sequence they just gave
      // away, mid-request); the new owner needs no share of their own.
      const handover = body.owner_id !== undefined && body.owner_id !== seq.ownerId
        ? [
            d.delete(sequenceShares).where(and(eq(sequenceShares.sequenceId, seq.id), eq(sequenceShares.userId, body.owner_id))),
            d.insert(sequenceShares).values({ sequenceId: seq.id, userId: seq.ownerId, teamId: seq.teamId, access: "edit" })
              .onConflictDoUpdate({ target: [sequenceShares.sequenceId, sequenceShares.userId], set: { access: "edit" } }),
          ]
        : [];
      await runBatch(d, [
        d.update(sequences).set(patch).where(eq(sequences.id, seq.id)),
        ...handover,
        d.insert(auditLog).values(auditEntry(caller, "sequence.update", "sequence", seq.id, body as Record<string, unknown>)),
      ]);
      // Turning a sequence on releases the enrollments held while it was off.
      if (body.active && !seq.active) await sequenceStub(c.env, seq.id).activate(seq.id, seq.teamId);
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/clone",
      tags: ["Sequences"],
      summary: "Copy a sequence with its steps and variants (the copy starts inactive, owned by you)",
      request: { params: IdParam, body: { content: { "application/json": { schema: z.object({ name: z.string().trim().min(1).max(120).optional() }) } } } },
      responses: { 201: json(one, "Created"), 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, c.req.valid("param").id);
      const body = c.req.valid("json") ?? {};
      const id = newId();
      const t = now();
      const srcSteps = await d.select().from(steps).where(eq(steps.sequenceId, seq.id)).orderBy(asc(steps.position));
      const srcVariants = srcSteps.length ? await d.select().from(stepVariants).where(inList(stepVariants.stepId, srcSteps.map((s) => s.id))) : [];
      const stepMap = new Map(srcSteps.map((s) => [s.id, newId()]));
      const stmts: Parameters<typeof runBatch>[1] = [
        d.insert(sequences).values({ id, teamId: caller.teamId, ownerId: caller.userId, name: body.name ?? `${seq.name} (copy)`, active: false, scheduleId: seq.scheduleId, settings: seq.settings, createdAt: t, updatedAt: t }),
        d.insert(auditLog).values(auditEntry(caller, "sequence.clone", "sequence", id, { from: seq.id })),
      ];
      for (const s of srcSteps) stmts.push(d.insert(steps).values({ ...s, id: stepMap.get(s.id)!, sequenceId: id, createdAt: t }));
      for (const v of srcVariants) stmts.push(d.insert(stepVariants).values({ ...v, id: newId(), stepId: stepMap.get(v.stepId)!, createdAt: t }));
      await runBatch(d, stmts);
      return c.json({ sequence: await loadSequenceDetail(d, caller, id) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/archive",
      tags: ["Sequences"],
      summary: "Archive a sequence: it turns off and its active contacts finish",
      request: { params: IdParam },
      responses: { 200: json(one), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, c.req.valid("param").id, "sequence.manage");
      const t = now();
      await runBatch(d, [
        d.update(sequences).set({ archivedAt: t, active: false, updatedAt: t }).where(eq(sequences.id, seq.id)),
        d.insert(auditLog).values(auditEntry(caller, "sequence.archive", "sequence", seq.id)),
      ]);
      const open = await c.env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ? AND status IN ('active','paused','held')").bind(seq.id).all<{ id: string }>();
      if (open.results.length) await sequenceStub(c.env, seq.id).transition(seq.id, seq.teamId, open.results.map((r) => r.id), "finish", "sequence_archived");
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/unarchive",
      tags: ["Sequences"],
      summary: "Bring an archived sequence back (inactive)",
      request: { params: IdParam },
      responses: { 200: json(one), 403: errorResponses[403], 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, c.req.valid("param").id, "sequence.manage");
      await d.update(sequences).set({ archivedAt: null, updatedAt: now() }).where(eq(sequences.id, seq.id));
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/sequences/{id}/shares",
      tags: ["Sequences"],
      summary: "Replace who the sequence is shared with (view or edit)",
      request: { params: IdParam, body: jsonBody(Shares) },
      responses: { 200: json(one), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const { seq } = await sequenceFor(d, caller, c.req.valid("param").id, "sequence.manage");
      const { shares } = c.req.valid("json");
      const ids = [...new Set(shares.map((s) => s.user_id))];
      const members = ids.length ? await d.select({ id: users.id }).from(users).where(and(eq(users.teamId, caller.teamId), inList(users.id, ids))) : [];
      const missing = ids.filter((i) => !members.some((m) => m.id === i));
      if (missing.length) throw new ApiError("validation_failed", "Unknown users", { fields: missing.map((m) => ({ field: "shares.user_id", message: `No user ${m} in your team` })) });
      await runBatch(d, [
        d.delete(sequenceShares).where(eq(sequenceShares.sequenceId, seq.id)),
        // A user named twice keeps the last access given.
        ...[...new Map(shares.filter((s) => s.user_id !== seq.ownerId).map((s) => [s.user_id, s.access]))].map(([userId, access]) =>
          d.insert(sequenceShares).values({ sequenceId: seq.id, userId, teamId: caller.teamId, access }),
        ),
        d.insert(auditLog).values(auditEntry(caller, "sequence.share", "sequence", seq.id, { shares })),
      ]);
      return c.json({ sequence: await loadSequenceDetail(d, caller, seq.id) }, 200);
    },
  );
