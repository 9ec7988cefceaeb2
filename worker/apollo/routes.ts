import { Hono, type Context } from "hono";
import { z } from "zod";
import { db } from "../db/client";
import { containsSql } from "../db/contains";
import { listParam } from "../db/in-list";
import type { AppEnv, Caller } from "../env";
import { ApiError, validationError } from "../lib/errors";
import { requireMasterKey } from "../middleware/auth";
import { idempotencyScope } from "../middleware/idempotency";
import { canSeeAllSequences, visibleSequenceRaw } from "../services/access";
import { contactStagesOf } from "../services/contacts";
import { actOnContacts } from "../services/enrollments";
import { allLists, listsByName } from "../services/lists";
import { listMailboxes } from "../services/mailboxes";
import { listSequences } from "../services/sequences";
import { activeTeamUser, searchTeamUsers } from "../services/users";
import { audit } from "../services/audit";
import { commitAddContacts, processChunk } from "../services/add-contacts/jobs";
import { CHUNK_SIZE, OUTCOME_REASONS } from "../services/add-contacts/request";
import { createContact, updateContact, updateStages } from "../services/contacts";
import { EMPLOYEE_RANGES, searchPeople, type PeopleFilters } from "../services/people-search";
import { apolloCampaign, apolloContacts, apolloEmailAccount, apolloPagination, iso } from "./present";
import { apolloParams } from "./params";

const bool = z.preprocess((v) => (Array.isArray(v) ? v[0] : v), z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((s) => s === "true" || s === "1")]));
/**
 * Most entries each Apollo array parameter takes (422 beyond, naming the field); printed in the
 * README's Limits. Repeated values count once.
 */
export const APOLLO_ARRAY_MAX = {
  contact_ids: 1_000,
  add_contact_ids: 10_000,
  emailer_campaign_ids: 100,
  label_ids: 100,
  label_names: 100,
  contact_label_names: 20,
  contact_stage_ids: 100,
  person_filters: 100,
  statuses: 20,
} as const;
/** An Apollo array parameter (`x[]=a&x[]=b`, repeated keys or JSON) of at most `max` entries, deduplicated. */
const arr = (max: number) =>
  z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]), z.array(z.string().trim().min(1).max(200)).max(max).transform((xs) => [...new Set(xs)]));
const int = (d: number, max: number) => z.coerce.number().int().min(1).max(max).default(d);
const str = z.preprocess((v) => (Array.isArray(v) ? v[0] : v), z.string().max(2000));
/** An id parameter: never empty (an empty owner or stage id would be stored and lock rows out). */
const id = z.preprocess((v) => (Array.isArray(v) ? v[0] : v), z.string().trim().min(1).max(64));

async function parse<T extends z.ZodTypeAny>(c: Context<AppEnv>, schema: T): Promise<z.infer<T>> {
  let raw: Record<string, unknown>;
  try {
    raw = await apolloParams(c);
  } catch {
    throw new ApiError("invalid_json", "The request body is not valid JSON");
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw validationError(r.error.issues);
  return r.data;
}

/** Apollo's `user_id` names the user taking the action; it must be a member of the key's team. */
async function actingAs(c: Context<AppEnv>, userId: string | undefined): Promise<Caller> {
  const caller = c.get("caller");
  if (!userId || userId === caller.userId) return caller;
  const u = await activeTeamUser(c.var.db, caller.teamId, userId);
  if (!u) throw new ApiError("validation_failed", "user_id is not a user of your team", { fields: [{ field: "user_id", message: "Unknown user" }] });
  // Acting for someone else is an admin's (master key's) power, and never raises the caller's own rights.
  if (!canSeeAllSequences(caller)) throw new ApiError("forbidden", "Only a master key or an admin can act for another user", { fields: [{ field: "user_id", message: "Leave it out, or use a master key" }] });
  return { ...caller, userId: u.id };
}

/** Sequences as Apollo campaigns (archived ones too), only those the caller may see (services/sequences.ts). */
const campaigns = (c: Context<AppEnv>, caller: Caller, f: { q?: string; ids?: string[] }, perPage: number, page: number) =>
  listSequences(c.var.db, caller, { ...f, withArchived: true }, page, perPage);

const master = requireMasterKey;

/**
 * The Apollo-compatible API: an integration written against Apollo's public API works by changing
 * its base URL to /apollo/api/v1 (or /apollo/v1). Every search answers GET (parameters in the query
 * string, as many integrations send them) and POST (query, JSON or form body) alike. Endpoints Apollo reserves for master keys answer 403 to standard
 * keys. Where Apollo silently drops skipped contacts, the extra `seqflare` field says why.
 */
export const apolloRoutes = new Hono<AppEnv>()
  .on(["GET", "POST"], "/emailer_campaigns/search", master, async (c) => {
    const p = await parse(c, z.object({ q_name: str.optional(), page: int(1, 500), per_page: int(25, 100) }));
    const name = p.q_name?.trim() || null;
    const { rows, total } = await campaigns(c, c.get("caller"), { q: name ?? undefined }, p.per_page, p.page);
    return c.json({ breadcrumbs: p.q_name ? [{ label: "Name", signal_field_name: "q_name", value: p.q_name, display_name: p.q_name }] : [], emailer_campaigns: rows.map(apolloCampaign), pagination: apolloPagination(p.page, p.per_page, total) });
  })
  .post("/emailer_campaigns/remove_or_stop_contact_ids", master, async (c) => {
    const p = await parse(c, z.object({ emailer_campaign_ids: arr(APOLLO_ARRAY_MAX.emailer_campaign_ids), contact_ids: arr(APOLLO_ARRAY_MAX.contact_ids), mode: z.enum(["mark_as_finished", "remove", "stop"]), user_id: id.optional() }));
    if (!p.emailer_campaign_ids?.length || !p.contact_ids?.length) throw new ApiError("validation_failed", "emailer_campaign_ids and contact_ids are required", { fields: [{ field: !p.emailer_campaign_ids?.length ? "emailer_campaign_ids" : "contact_ids", message: "Required" }] });
    const caller = await actingAs(c, p.user_id);
    const action = p.mode === "mark_as_finished" ? "finish" : p.mode === "remove" ? "remove" : "pause";
    // Each campaign through the same enrollment actions as /api (authorization included), in order.
    for (const seqId of p.emailer_campaign_ids) await actOnContacts(c.env, c.var.db, caller, seqId, action, p.contact_ids);
    await audit(c.var.db, caller, `apollo.${p.mode}`, "sequence", p.emailer_campaign_ids.join(","), { contacts: p.contact_ids.length });
    const { rows } = await campaigns(c, caller, { ids: p.emailer_campaign_ids }, 100, 1);
    return c.json({ contacts: await apolloContacts(c.env.DB, caller, p.contact_ids), emailer_campaigns: rows.map(apolloCampaign) });
  })
  .post("/emailer_campaigns/:id/add_contact_ids", master, async (c) => {
    const p = await parse(
      c,
      z.object({
        emailer_campaign_id: id.optional(),
        contact_ids: arr(APOLLO_ARRAY_MAX.add_contact_ids).optional(),
        label_names: arr(APOLLO_ARRAY_MAX.label_names).optional(),
        send_email_from_email_account_id: id.optional(),
        sequence_no_email: bool.optional(),
        sequence_unverified_email: bool.optional(),
        sequence_job_change: bool.optional(),
        sequence_active_in_other_campaigns: bool.optional(),
        sequence_finished_in_other_campaigns: bool.optional(),
        user_id: id.optional(),
      }),
    );
    const sequenceId = c.req.param("id");
    if (p.emailer_campaign_id && p.emailer_campaign_id !== sequenceId) throw new ApiError("validation_failed", "emailer_campaign_id does not match the path", { fields: [{ field: "emailer_campaign_id", message: "Must equal the id in the path" }] });
    if (!p.contact_ids?.length && !p.label_names?.length) {
      throw new ApiError("validation_failed", "Give contact_ids[] or label_names[]", { fields: [{ field: "contact_ids", message: "contact_ids or label_names is required" }] });
    }
    const caller = await actingAs(c, p.user_id);
    let listIds: string[] = [];
    if (p.label_names?.length) {
      const results = await listsByName(c.var.db, caller.teamId, p.label_names);
      const missing = p.label_names.filter((n) => !results.some((r) => r.name === n));
      if (missing.length) throw new ApiError("validation_failed", `No list named ${missing.map((m) => `"${m}"`).join(", ")}`, { fields: [{ field: "label_names", message: "Unknown list" }] });
      listIds = results.map((r) => r.id);
    }
    const d = db(c.env.DB);
    const { job } = await commitAddContacts(c.env, d, caller, sequenceId, {
      source: { contact_ids: p.contact_ids, list_ids: listIds.length ? listIds : undefined },
      mailbox_ids: p.send_email_from_email_account_id ? [p.send_email_from_email_account_id] : undefined,
      skip_validation: false,
      enrich: false,
      overrides: {
        no_email: p.sequence_no_email ?? false,
        unverified_email: p.sequence_unverified_email ?? false,
        job_change: p.sequence_job_change ?? false,
        active_in_other_sequence: p.sequence_active_in_other_campaigns ?? false,
        finished_in_other_sequence: p.sequence_finished_in_other_campaigns ?? false,
      },
    }, idempotencyScope(c.get("caller"), c.req.header("idempotency-key")), "apollo");
    // Apollo answers synchronously: a batch that fits one chunk is processed now (the queued copy
    // of the chunk then finds it done); a larger one answers with the job to follow.
    if (job.total <= CHUNK_SIZE) await processChunk(c.env, job.id, 0, job.total);
    const fresh = (await c.env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(job.id).first<Record<string, any>>())!;
    const { results: outcomes } = await c.env.DB.prepare("SELECT contact_id, person_id, outcome, reasons FROM job_outcomes WHERE job_id = ? ORDER BY idx").bind(job.id).all<Record<string, any>>();
    const enrolled = outcomes.filter((o) => o.outcome === "enrolled").map((o) => o.contact_id as string);
    const { rows } = await campaigns(c, caller, { ids: [sequenceId] }, 1, 1);
    return c.json({
      contacts: await apolloContacts(c.env.DB, caller, enrolled),
      emailer_campaign: rows[0] ? apolloCampaign(rows[0]) : null,
      seqflare: {
        job: { id: fresh.id, status: fresh.status, total: fresh.total, processed: fresh.processed, enrolled: fresh.enrolled, warned: fresh.warned, skipped: fresh.skipped, credits_used: fresh.credits_used, url: `/api/jobs/${fresh.id}` },
        outcomes: outcomes.map((o) => ({
          contact_id: o.contact_id,
          outcome: o.outcome,
          reasons: (JSON.parse(o.reasons) as (keyof typeof OUTCOME_REASONS)[]).map((r) => ({ code: r, label: OUTCOME_REASONS[r]?.label ?? r, fix: OUTCOME_REASONS[r]?.fix ?? "" })),
        })),
      },
    });
  })
  .get("/email_accounts", master, async (c) => {
    return c.json({ email_accounts: (await listMailboxes(c.var.db, c.get("caller").teamId)).map(apolloEmailAccount) });
  })
  // Integrations check their key with this before anything else (Apollo's "auth/health").
  .get("/auth/health", (c) => c.json({ healthy: true, is_logged_in: true }))
  .get("/contact_stages", async (c) => {
    const teamId = c.get("caller").teamId;
    return c.json({
      contact_stages: (await contactStagesOf(c.var.db, teamId)).map((s) => ({ id: s.id, team_id: teamId, name: s.name, display_name: s.name, display_order: s.position, category: s.category })),
    });
  })
  .get("/labels", async (c) => {
    const rows = await allLists(c.var.db, c.get("caller").teamId);
    return c.json(rows.map((l) => ({ id: l.id, name: l.name, modality: "contacts", cached_count: l.contact_count, user_id: l.owner_id, created_at: iso(l.created_at), updated_at: iso(l.created_at) })));
  })
  .on(["GET", "POST"], "/users/search", master, async (c) => {
    const p = await parse(c, z.object({ q_keywords: str.optional(), page: int(1, 500), per_page: int(25, 100) }));
    const { rows, total } = await searchTeamUsers(c.var.db, c.get("caller").teamId, p.q_keywords?.trim() || null, p.page, p.per_page);
    return c.json({
      users: rows.map((u) => ({ id: u.id, email: u.email, name: u.name, first_name: u.name.split(" ")[0], last_name: u.name.split(" ").slice(1).join(" "), team_id: u.teamId, created_at: iso(u.createdAt) })),
      pagination: apolloPagination(p.page, p.per_page, total),
    });
  })
  .post("/contacts", async (c) => {
    const p = await parse(c, ContactParams.extend({ run_dedupe: bool.optional() }));
    const caller = c.get("caller");
    const r = await createContact(c.var.db, caller, toInput(p), { dedupe: p.run_dedupe ?? false, source: "apollo_api" });
    return c.json({ contact: (await apolloContacts(c.env.DB, caller, [r.id]))[0] });
  })
  .on(["PUT", "PATCH"], "/contacts/:id", async (c) => {
    const p = await parse(c, ContactParams);
    const caller = c.get("caller");
    await updateContact(c.var.db, caller, c.req.param("id"), toInput(p));
    return c.json({ contact: (await apolloContacts(c.env.DB, caller, [c.req.param("id")]))[0] });
  })
  .on(["GET", "POST"], "/contacts/search", async (c) => {
    const p = await parse(c, z.object({ q_keywords: str.optional(), contact_stage_ids: arr(APOLLO_ARRAY_MAX.contact_stage_ids).optional(), label_ids: arr(APOLLO_ARRAY_MAX.label_ids).optional(), sort_by_field: str.optional(), sort_ascending: bool.optional(), page: int(1, 500), per_page: int(25, 100) }));
    const teamId = c.get("caller").teamId;
    const like = p.q_keywords?.trim() || null;
    const where = `c.team_id = ?1 AND c.deleted_at IS NULL
      AND (?2 IS NULL OR ${containsSql("c.first_name || ' ' || c.last_name", "?2")} OR ${containsSql("c.email", "?2")} OR ${containsSql("c.company", "?2")} OR ${containsSql("c.title", "?2")})
      AND (?3 IS NULL OR c.stage_id IN (SELECT value FROM json_each(?3)))
      AND (?4 IS NULL OR EXISTS (SELECT 1 FROM list_members m WHERE m.contact_id = c.id AND m.list_id IN (SELECT value FROM json_each(?4))))`;
    const sort = p.sort_by_field === "contact_last_name" ? "c.last_name" : p.sort_by_field === "contact_updated_at" ? "c.updated_at" : "c.created_at";
    const binds = [teamId, like, p.contact_stage_ids?.length ? listParam(p.contact_stage_ids) : null, p.label_ids?.length ? listParam(p.label_ids) : null];
    const [rows, total] = await c.env.DB.batch<Record<string, any>>([
      c.env.DB.prepare(`SELECT c.id FROM contacts c WHERE ${where} ORDER BY ${sort} ${p.sort_ascending ? "ASC" : "DESC"}, c.id LIMIT ?5 OFFSET ?6`).bind(...binds, p.per_page, (p.page - 1) * p.per_page),
      c.env.DB.prepare(`SELECT count(*) AS n FROM contacts c WHERE ${where}`).bind(...binds),
    ]);
    return c.json({ contacts: await apolloContacts(c.env.DB, c.get("caller"), rows!.results.map((r) => r.id)), breadcrumbs: [], pagination: apolloPagination(p.page, p.per_page, total!.results[0]!.n) });
  })
  .post("/contacts/update_stages", async (c) => {
    const p = await parse(c, z.object({ contact_ids: arr(APOLLO_ARRAY_MAX.contact_ids), contact_stage_id: id }));
    if (!p.contact_ids.length) throw new ApiError("validation_failed", "contact_ids is required", { fields: [{ field: "contact_ids", message: "Required" }] });
    const caller = c.get("caller");
    await updateStages(c.var.db, caller, p.contact_ids, p.contact_stage_id);
    return c.json({ contacts: await apolloContacts(c.env.DB, caller, p.contact_ids) });
  })
  .on(["GET", "POST"], "/mixed_people/search", async (c) => {
    const p = await parse(
      c,
      z.object({
        q_keywords: str.optional(),
        person_titles: arr(APOLLO_ARRAY_MAX.person_filters).optional(),
        person_seniorities: arr(APOLLO_ARRAY_MAX.person_filters).optional(),
        person_locations: arr(APOLLO_ARRAY_MAX.person_filters).optional(),
        organization_num_employees_ranges: arr(APOLLO_ARRAY_MAX.statuses).optional(),
        contact_email_status: arr(APOLLO_ARRAY_MAX.statuses).optional(),
        q_organization_name: str.optional(),
        page: int(1, 500),
        per_page: int(25, 100),
      }),
    );
    const caller = c.get("caller");
    const ranges = (p.organization_num_employees_ranges ?? []).map((r) => {
      const [lo, hi] = r.split(",").map((x) => x.trim());
      return `${lo},${hi}`;
    });
    const filters: PeopleFilters = {
      q: [p.q_keywords, p.q_organization_name].filter(Boolean).join(" ") || undefined,
      titles: p.person_titles,
      seniorities: p.person_seniorities,
      countries: p.person_locations,
      employee_ranges: ranges.filter((r): r is (typeof EMPLOYEE_RANGES)[number] => (EMPLOYEE_RANGES as readonly string[]).includes(r)),
      email_statuses: p.contact_email_status?.filter((s) => ["verified", "unverified", "guessed", "unavailable"].includes(s)) as PeopleFilters["email_statuses"],
      saved: "any",
    };
    // A location may be a city or a country.
    if (p.person_locations?.length) {
      const cities = await c.env.DB.prepare("SELECT DISTINCT city FROM people WHERE city IN (SELECT value FROM json_each(?))").bind(listParam(p.person_locations)).all<{ city: string }>();
      if (cities.results.length) {
        filters.cities = cities.results.map((r) => r.city);
        filters.countries = p.person_locations.filter((l) => !filters.cities!.includes(l));
        if (!filters.countries.length) delete filters.countries;
      }
    }
    const r = await searchPeople(c.var.db, caller.teamId, filters, "score", p.page, p.per_page);
    const saved = r.people.filter((x) => x.contact_id).map((x) => x.contact_id!);
    const person = (x: (typeof r.people)[number]) => ({
      id: x.id, first_name: x.first_name, last_name: x.last_name, name: `${x.first_name} ${x.last_name}`, title: x.title, seniority: x.seniority,
      departments: [x.department], linkedin_url: x.linkedin_url, city: x.city, country: x.country, time_zone: x.time_zone,
      // Like Apollo, a net-new person's address is revealed only when saved (that is what costs a credit).
      email: null, email_status: x.email_status, contact_id: x.contact_id,
      organization: { name: x.company, primary_domain: x.domain, industry: x.industry, estimated_num_employees: x.employees },
      organization_name: x.company,
    });
    return c.json({
      people: r.people.filter((x) => !x.contact_id).map(person),
      contacts: await apolloContacts(c.env.DB, caller, saved),
      breadcrumbs: [],
      pagination: apolloPagination(p.page, p.per_page, r.total),
    });
  })
  .on(["GET", "POST"], "/emailer_messages/search", master, async (c) => {
    const p = await parse(c, z.object({ emailer_campaign_ids: arr(APOLLO_ARRAY_MAX.emailer_campaign_ids).optional(), contact_ids: arr(APOLLO_ARRAY_MAX.contact_ids).optional(), emailer_message_stats: arr(APOLLO_ARRAY_MAX.statuses).optional(), page: int(1, 500), per_page: int(25, 100) }));
    const caller = c.get("caller");
    const teamId = caller.teamId;
    const seen = visibleSequenceRaw(caller, "m.sequence_id");
    let n = 5;
    const statusOf: Record<string, string> = { delivered: "sent", bounced: "bounced", failed: "failed" };
    const statuses = p.emailer_message_stats?.map((s) => statusOf[s] ?? s);
    const where = `m.team_id = ?1 AND m.sequence_id <> ''
      AND (?2 IS NULL OR m.sequence_id IN (SELECT value FROM json_each(?2)))
      AND (?3 IS NULL OR m.contact_id IN (SELECT value FROM json_each(?3)))
      AND (?4 IS NULL OR m.status IN (SELECT value FROM json_each(?4)))
      AND ${seen.sql.replace(/\?/g, () => `?${n++}`)}`;
    const binds = [teamId, p.emailer_campaign_ids?.length ? listParam(p.emailer_campaign_ids) : null, p.contact_ids?.length ? listParam(p.contact_ids) : null, statuses?.length ? listParam(statuses) : null, ...seen.params];
    const [rows, total] = await c.env.DB.batch<Record<string, any>>([
      c.env.DB.prepare(`SELECT m.* FROM messages m WHERE ${where} ORDER BY m.sent_at DESC, m.id LIMIT ?${n} OFFSET ?${n + 1}`).bind(...binds, p.per_page, (p.page - 1) * p.per_page),
      c.env.DB.prepare(`SELECT count(*) AS n FROM messages m WHERE ${where}`).bind(...binds),
    ]);
    return c.json({
      emailer_messages: rows!.results.map((m) => ({
        id: m.id, emailer_campaign_id: m.sequence_id, emailer_step_id: m.step_id, contact_id: m.contact_id, email_account_id: m.mailbox_id,
        to_email: m.to_email, subject: m.subject, body_text: m.body, status: m.status === "sent" ? "delivered" : m.status, message_id: m.message_id_header,
        completed_at: iso(m.sent_at), created_at: iso(m.created_at),
      })),
      pagination: apolloPagination(p.page, p.per_page, total!.results[0]!.n),
    });
  })
  .on(["GET", "POST"], "/tasks/search", master, async (c) => {
    const p = await parse(c, z.object({ sort_by_field: str.optional(), open_factor_names: arr(APOLLO_ARRAY_MAX.statuses).optional(), page: int(1, 500), per_page: int(25, 100) }));
    const caller = c.get("caller");
    // Tasks of sequences the caller can't see stay hidden, except their own.
    const seen = visibleSequenceRaw(caller, "sequence_id");
    const where = `team_id = ? AND (assignee_id = ? OR sequence_id IS NULL OR ${seen.sql})`;
    const binds = [caller.teamId, caller.userId, ...seen.params];
    const [rows, total] = await c.env.DB.batch<Record<string, any>>([
      c.env.DB.prepare(`SELECT * FROM tasks WHERE ${where} ORDER BY status = 'open' DESC, due_at, id LIMIT ? OFFSET ?`).bind(...binds, p.per_page, (p.page - 1) * p.per_page),
      c.env.DB.prepare(`SELECT count(*) AS n FROM tasks WHERE ${where}`).bind(...binds),
    ]);
    return c.json({
      tasks: rows!.results.map((t) => ({
        id: t.id, user_id: t.assignee_id, contact_id: t.contact_id, emailer_campaign_id: t.sequence_id, type: t.type,
        status: t.status === "open" ? "scheduled" : t.status, priority: "medium", note: t.note, due_at: iso(t.due_at), completed_at: iso(t.completed_at), created_at: iso(t.created_at),
      })),
      pagination: apolloPagination(p.page, p.per_page, total!.results[0]!.n),
    });
  })
  // After every /contacts/<word> route, so "search" is never taken for an id.
  .get("/contacts/:id", async (c) => {
    const teamId = c.get("caller").teamId;
    const live = await c.env.DB.prepare("SELECT id FROM contacts WHERE id = ? AND team_id = ? AND deleted_at IS NULL").bind(c.req.param("id"), teamId).first<{ id: string }>();
    if (!live) throw new ApiError("not_found", "No such contact");
    const [contact] = await apolloContacts(c.env.DB, c.get("caller"), [live.id]);
    return c.json({ contact });
  });

const ContactParams = z.object({
  first_name: str.optional(),
  last_name: str.optional(),
  email: str.optional(),
  title: str.optional(),
  organization_name: str.optional(),
  website_url: str.optional(),
  label_names: arr(APOLLO_ARRAY_MAX.contact_label_names).optional(),
  contact_stage_id: id.optional(),
  owner_id: id.optional(),
  linkedin_url: str.optional(),
  direct_phone: str.optional(),
  present_raw_address: str.optional(),
});

function toInput(p: z.infer<typeof ContactParams>) {
  const email = p.email?.trim();
  if (email && !z.string().email().safeParse(email).success) throw new ApiError("validation_failed", "email is not a valid address", { fields: [{ field: "email", message: "Invalid email" }] });
  return {
    first_name: p.first_name,
    last_name: p.last_name,
    email: email || undefined,
    title: p.title,
    company: p.organization_name,
    domain: p.website_url ? p.website_url.replace(/^https?:\/\//, "").replace(/^www\./, "").split("/")[0] : undefined,
    list_names: p.label_names,
    stage_id: p.contact_stage_id,
    owner_id: p.owner_id,
    linkedin_url: p.linkedin_url,
    phone: p.direct_phone,
    city: p.present_raw_address,
  };
}
