import { Hono, type Context } from "hono";
import { getPath } from "hono/utils/url";
import { z } from "zod";
import type { AppEnv, Caller } from "../env";
import { ApiError, notFound, validationError } from "../lib/errors";
import { webAddress } from "../lib/web-address";
import { requireMasterKey } from "../middleware/auth";
import { idempotencyScope } from "../middleware/idempotency";
import { canSeeAllSequences, jobFor } from "../services/access";
import { actOnContacts, prepareAction } from "../services/enrollments";
import { allLists, LIST_NAME_MAX, listsByName } from "../services/lists";
import { listMailboxes } from "../services/mailboxes";
import { listSequences } from "../services/sequences";
import { listAllTeamUsers, searchTeamUsers } from "../services/users";
import { audit } from "../services/audit";
import { commitAddContacts, processChunk } from "../services/add-contacts/jobs";
import { CHUNK_SIZE, OUTCOME_REASONS, type SkipReason, type WarningCategory } from "../services/add-contacts/request";
import {
  contactStagesOf,
  createContact,
  getContact,
  searchContactIds,
  updateContact,
  updateStages,
  type ContactInput as ContactFields,
} from "../services/contacts";
import { ContactInput as NativeContactInput } from "../routes/contacts";
import { outcomesPage } from "../services/add-contacts/outcomes";
import { searchSequenceMessages } from "../services/messages";
import { searchTeamTasks } from "../services/tasks";
import { EMPLOYEE_RANGES, PeopleFilters, searchPeople } from "../services/people-search";
import {
  APOLLO_MAX_PAGE,
  apolloCampaign,
  apolloContacts,
  apolloEmailAccount,
  apolloEmailerMessages,
  apolloPagination,
  iso,
} from "./present";
import { apolloParams } from "./params";
import { parseLocation } from "./locations";

/** The words Apollo's Rails reads as a boolean, in any case (Python's params send "True"). */
const TRUTHY = new Set(["true", "t", "yes", "y", "on", "1"]);
const FALSY = new Set(["false", "f", "no", "n", "off", "0"]);
/**
 * A parameter that takes one value: a list of one (`title[]=x`) is that value; a list of more
 * (`?title=a&title=b`, `user_id: [a, b]`) stays a list and is refused, naming the field, rather than
 * quietly read as its first entry.
 */
const one = (v: unknown) => (Array.isArray(v) && v.length === 1 ? v[0] : v);
const bool = z.preprocess(
  (v) => {
    const x = one(v);
    const word = typeof x === "string" || typeof x === "number" ? String(x).trim().toLowerCase() : x;
    return typeof word === "string" && TRUTHY.has(word) ? true : typeof word === "string" && FALSY.has(word) ? false : word;
  },
  z.boolean({ message: "Use true or false" }),
);
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
  account_stage_ids: 100,
  person_filters: 100,
  statuses: 20,
} as const;
/** An Apollo array parameter (`x[]=a&x[]=b`, repeated keys or JSON) of at most `max` entries, deduplicated. */
const arr = (max: number, each = 200) =>
  z.preprocess(
    // A null or empty entry is no entry (a client's list with a blank row); repeats (after trimming) are
    // removed before the maximum is checked, so they count once against it.
    (v) =>
      v === undefined
        ? undefined
        : [
            ...new Set(
              (Array.isArray(v) ? v : [v]).filter((x) => x !== null && x !== "").map((x) => (typeof x === "string" ? x.trim() : x)),
            ),
          ],
    z.array(z.string().min(1).max(each)).max(max),
  );
const int = (d: number, max: number) => z.coerce.number().int().min(1).max(max).default(d);
const str = z.preprocess(one, z.string().max(2000));
/** An id parameter: never empty (an empty owner or stage id would be stored and lock rows out). */
const id = z.preprocess(one, z.string().trim().min(1).max(64));

/** Parameters Apollo's own clients send that change nothing about the answer (display hints). */
const HARMLESS = new Set(["display_mode", "context", "cacheKey"]);

/**
 * The request's parameters, checked by `schema`. A search or an add (`strict`) refuses a parameter it
 * doesn't know, naming it: dropping a filter it can't apply would answer with everyone (and an add
 * with them enrolled and emailed) instead of the people asked for.
 */
async function parse<T extends z.ZodObject>(c: Context<AppEnv>, schema: T, o: { strict?: boolean } = {}): Promise<z.infer<T>> {
  let raw: Record<string, unknown>;
  try {
    raw = await apolloParams(c);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError("bad_request", "The request body can't be read as its Content-Type says");
  }
  // null and "" are how clients leave a parameter unset (Python's None, a search result sent back as it
  // came, an empty form field): absent, except null for a field that can be cleared (it clears it).
  // So is an array with nothing in it ([], [""], [null]: `organization_domains[]=` from a form with the
  // field left blank): it narrows nothing, so even a filter Seqflare can't apply isn't refused for it.
  for (const [k, v] of Object.entries(raw)) {
    // Own fields only: `k in shape` and `shape[k]` also find Object.prototype's `__proto__` and `constructor`.
    const field = Object.hasOwn(schema.shape, k) ? (schema.shape as Record<string, z.ZodType | undefined>)[k] : undefined;
    if (v === "" || (v === null && !field?.safeParse(null).success)) delete raw[k];
    else if (Array.isArray(v) && v.every((x) => x === null || x === "")) delete raw[k];
  }
  if (o.strict) {
    const unknown = Object.keys(raw).filter((k) => !Object.hasOwn(schema.shape, k) && !HARMLESS.has(k));
    if (unknown.length)
      throw new ApiError("validation_failed", `Not supported here: ${unknown.join(", ")}`, {
        fields: unknown.map((field) => ({
          field,
          message:
            "Seqflare can't apply this parameter; leave it out (it would otherwise be ignored, and the request would act on more than you asked for)",
        })),
      });
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw validationError(r.error.issues);
  return r.data;
}

/**
 * Apollo's `user_id` names the user taking the action; it must be a member of the key's team. Acting
 * for them is acting with their rights exactly (their role, the sequences shared with them, the
 * mailboxes they may send from), never the key's: a master key naming a member can't reach through
 * them what the member can't. A disabled user takes no action.
 */
async function actingAs(c: Context<AppEnv>, userId: string | undefined): Promise<Caller> {
  const caller = c.get("caller");
  if (!userId || userId === caller.userId) return caller;
  const u = (await listAllTeamUsers(c.var.db, caller.teamId)).find((x) => x.id === userId);
  if (!u)
    throw new ApiError("validation_failed", "user_id is not a user of your team", {
      fields: [{ field: "user_id", message: "Unknown user" }],
    });
  // Acting for someone else is an admin's (master key's) power, and never raises the caller's own rights.
  if (!canSeeAllSequences(caller))
    throw new ApiError("forbidden", "Only a master key or an admin can act for another user", {
      fields: [{ field: "user_id", message: "Leave it out, or use a master key" }],
    });
  if (u.disabledAt !== null)
    throw new ApiError("validation_failed", "user_id is a disabled user: enable them in Settings → Team, or leave user_id out", {
      fields: [{ field: "user_id", message: "This user is disabled" }],
    });
  // Their role, not the key's (a master key's caller is an admin).
  return { ...caller, userId: u.id, role: u.role };
}

/**
 * A Seqflare refusal with its fields named as the Apollo request named them (the add's `mailbox_ids` is
 * Apollo's `send_email_from_email_account_id`), so an integration can tell which of its parameters to fix.
 */
async function apolloNamed<T>(names: Record<string, string>, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const details = e instanceof ApiError ? (e.details as { fields?: { field: string }[] } | undefined) : undefined;
    if (!(e instanceof ApiError) || !Array.isArray(details?.fields)) throw e;
    const fields = details.fields.map((f) => (Object.hasOwn(names, f.field) ? { ...f, field: names[f.field]! } : f));
    throw new ApiError(e.code, e.message, { ...details, fields }, e.status, e.headers);
  }
}

/** Sequences as Apollo campaigns (archived ones too), only those the caller may see (services/sequences.ts). */
const campaigns = (c: Context<AppEnv>, caller: Caller, f: { q?: string; ids?: string[] }, perPage: number, page: number) =>
  listSequences(c.var.db, caller, { ...f, withArchived: true }, page, perPage);

/**
 * A filter's sequences (each once): 404 when one isn't the caller's to see (another's, another team's, none),
 * as every sequence filter answers, instead of an empty page.
 */
async function mustSeeCampaigns(c: Context<AppEnv>, caller: Caller, ids: readonly string[]) {
  const unique = [...new Set(ids)];
  const { rows } = await campaigns(c, caller, { ids: unique }, APOLLO_ARRAY_MAX.emailer_campaign_ids, 1);
  if (rows.length < unique.length) throw notFound("Sequence");
}

/** Users of the caller's team, disabled ones included (their emails stay): another team's user answers 404. */
async function mustBeTeamUsers(c: Context<AppEnv>, caller: Caller, ids: readonly string[]) {
  const team = new Set((await listAllTeamUsers(c.var.db, caller.teamId)).map((u) => u.id));
  if (ids.some((id) => !team.has(id))) throw notFound("User");
}

const master = requireMasterKey;

/**
 * Apollo's reason code (its add_contact_ids `skipped_contact_ids`) for each reason a contact is left out.
 * Apollo's own codes where it has one; Seqflare's few extra checks get codes of the same form.
 */
export const APOLLO_SKIP_REASON: Record<SkipReason | WarningCategory, string> = {
  not_found: "contact_not_found",
  already_in_sequence: "contacts_already_exists_in_current_campaign",
  duplicate_email: "contacts_with_duplicate_email",
  replied_in_sequence: "contacts_already_exists_in_current_campaign",
  active_in_other_sequence: "contacts_active_in_other_campaigns",
  finished_in_other_sequence: "contacts_finished_in_other_campaigns",
  no_email: "contacts_without_email",
  unverified_email: "contacts_unverified_email",
  job_change: "contacts_with_job_change",
  ownership_not_permitted: "contacts_without_ownership_permission",
  unsubscribed: "contacts_unsubscribed",
  bounced: "contacts_bounced",
  suppressed: "contacts_suppressed",
  do_not_contact: "contacts_in_do_not_contact_stage",
  blocked_stage: "contacts_in_blocked_stage",
  not_processed: "contacts_not_processed",
  sequence_archived: "contacts_in_archived_campaign",
  caller_not_permitted: "contacts_without_permission",
  // The job stopped acting for its caller: each cause its own code, so an integration can tell a key to
  // replace from a user to enable.
  api_key_revoked: "contacts_api_key_revoked",
  caller_disabled: "contacts_user_disabled",
  // Apollo's own code for this one isn't documented publicly: Seqflare's, in its form.
  same_company: "contacts_with_same_company_in_campaign",
  mailbox_not_connected: "contacts_without_connected_mailbox",
};

/** The Apollo people search parameter each people search filter comes from (its errors name it). */
const APOLLO_PEOPLE_FIELD: Record<string, string> = {
  q: "q_keywords",
  companies: "q_organization_name",
  titles: "person_titles",
  seniorities: "person_seniorities",
  email_statuses: "contact_email_status",
};

/** Apollo's contact_email_status values (compared in lower case, "_" as a space) as the email statuses here. */
const APOLLO_EMAIL_STATUS: Record<string, string> = {
  "likely to engage": "verified",
  verified: "verified",
  unverified: "unverified",
  guessed: "guessed",
  unavailable: "unavailable",
};

/** Apollo's contacts/search sort_by_field values that are a column here. */
const CONTACT_SORTS = { contact_created_at: "created_at", contact_updated_at: "updated_at", contact_last_name: "last_name" } as const;

/** Apollo's accounts/search sort_by_field values (documented). */
const ACCOUNT_SORTS = ["account_last_activity_date", "account_created_at", "account_updated_at"] as const;

/** Apollo's emailer_message_stats: the message statuses each one is here. */
const MESSAGE_STATS = {
  delivered: ["sent", "unknown"],
  scheduled: ["scheduled", "sending"],
  bounced: ["bounced"],
  failed_other: ["failed"],
} as const;

const PAUSED_START =
  "Seqflare adds contacts active. To hold them, add them and then pause them (remove_or_stop_contact_ids with mode=stop)";

/** Apollo's `label_names`: the team's lists by name, 422 naming any that doesn't exist. */
async function listIdsNamed(c: Context<AppEnv>, caller: Caller, names: string[] | undefined): Promise<string[]> {
  if (!names?.length) return [];
  const results = await listsByName(c.var.db, caller.teamId, names);
  const missing = names.filter((n) => !results.some((r) => r.name === n));
  if (missing.length)
    throw new ApiError("validation_failed", `No list named ${missing.map((m) => `"${m}"`).join(", ")}`, {
      fields: [{ field: "label_names", message: "Unknown list" }],
    });
  return results.map((r) => r.id);
}

/**
 * The path the app routes on: an Apollo path with a trailing slash is routed as without (Apollo answers
 * `…/mixed_people/search/` like `…/mixed_people/search`, and clients build both); /api paths are as sent.
 */
export const routingPath = (req: Request) => {
  const path = getPath(req);
  return path.startsWith("/apollo/") && path.endsWith("/") ? path.replace(/\/+$/, "") : path;
};

/**
 * The mailboxes an add sends from: the account ids given, narrowed to the one with
 * `send_email_from_email_address` when that is given too (422 when none of them has it), or the team's
 * mailbox with that address. Whether the caller may send from it is the add's own check, as for any id.
 */
async function sendFrom(c: Context<AppEnv>, caller: Caller, ids: string[] | undefined, address: string | undefined) {
  if (!address?.trim()) return ids?.length ? ids : undefined;
  const wanted = address.trim().toLowerCase();
  const named = (await listMailboxes(c.var.db, caller.teamId)).filter(
    (m) => m.email.toLowerCase() === wanted && (!ids?.length || ids.includes(m.id)),
  );
  if (!named.length)
    throw new ApiError(
      "validation_failed",
      ids?.length
        ? "send_email_from_email_address is not the address of the email account given"
        : "No mailbox of your team sends from this address",
      { fields: [{ field: "send_email_from_email_address", message: "Use the address of a mailbox in GET email_accounts" }] },
    );
  return named.map((m) => m.id);
}

/**
 * The Apollo-compatible API: an integration written against Apollo's public API works by changing
 * its base URL to /apollo/api/v1 (or /apollo/v1). Every search answers GET (parameters in the query
 * string, as many integrations send them) and POST (query, JSON or form body) alike. Endpoints Apollo reserves for master keys answer 403 to standard
 * keys. An add answers Apollo's `skipped_contact_ids`, and the extra `seqflare` field has the job and every outcome.
 */
export const apolloRoutes = new Hono<AppEnv>()
  .on(["GET", "POST"], "/emailer_campaigns/search", master, async (c) => {
    const p = await parse(c, z.object({ q_name: str.optional(), page: int(1, APOLLO_MAX_PAGE), per_page: int(25, 100) }), { strict: true });
    const name = p.q_name?.trim() || null;
    const { rows, total } = await campaigns(c, c.get("caller"), { q: name ?? undefined }, p.per_page, p.page);
    return c.json({
      breadcrumbs: p.q_name ? [{ label: "Name", signal_field_name: "q_name", value: p.q_name, display_name: p.q_name }] : [],
      emailer_campaigns: rows.map(apolloCampaign),
      pagination: apolloPagination(p.page, p.per_page, total),
    });
  })
  .post("/emailer_campaigns/remove_or_stop_contact_ids", master, async (c) => {
    const p = await parse(
      c,
      z.object({
        emailer_campaign_ids: arr(APOLLO_ARRAY_MAX.emailer_campaign_ids),
        contact_ids: arr(APOLLO_ARRAY_MAX.contact_ids),
        mode: z.enum(["mark_as_finished", "remove", "stop"]),
        user_id: id.optional(),
      }),
    );
    if (!p.emailer_campaign_ids?.length || !p.contact_ids?.length)
      throw new ApiError("validation_failed", "emailer_campaign_ids and contact_ids are required", {
        fields: [{ field: !p.emailer_campaign_ids?.length ? "emailer_campaign_ids" : "contact_ids", message: "Required" }],
      });
    const caller = await actingAs(c, p.user_id);
    const action = p.mode === "mark_as_finished" ? "finish" : p.mode === "remove" ? "remove" : "pause";
    // Every campaign is checked (found, and the caller may edit it) before any is changed: a refused one
    // after the first would otherwise leave the request half done, and unaudited.
    await Promise.all(p.emailer_campaign_ids.map((seqId) => prepareAction(c.var.db, caller, seqId, action, {})));
    // Each campaign through the same enrollment actions as /api (authorization included), in order.
    for (const seqId of p.emailer_campaign_ids) await actOnContacts(c.env, c.var.db, caller, seqId, action, p.contact_ids);
    await audit(c.var.db, caller, `apollo.${p.mode}`, "sequence", p.emailer_campaign_ids.join(","), { contacts: p.contact_ids.length });
    const { rows } = await campaigns(c, caller, { ids: p.emailer_campaign_ids }, 100, 1);
    return c.json({ contacts: await apolloContacts(c.var.db, caller, p.contact_ids), emailer_campaigns: rows.map(apolloCampaign) });
  })
  .post("/emailer_campaigns/:id/add_contact_ids", master, async (c) => {
    const p = await parse(
      c,
      z.object({
        emailer_campaign_id: id.optional(),
        contact_ids: arr(APOLLO_ARRAY_MAX.add_contact_ids).optional(),
        label_names: arr(APOLLO_ARRAY_MAX.label_names).optional(),
        // One mailbox id, or several to rotate over (Apollo's CLI sends an array for several).
        send_email_from_email_account_id: arr(50).optional(),
        // Apollo's pick of one address to send from: a mailbox of the team (checked like any mailbox id).
        send_email_from_email_address: str.optional(),
        status: z.preprocess(one, z.literal("active", { message: PAUSED_START })).optional(),
        sequence_no_email: bool.optional(),
        sequence_unverified_email: bool.optional(),
        sequence_job_change: bool.optional(),
        sequence_active_in_other_campaigns: bool.optional(),
        sequence_finished_in_other_campaigns: bool.optional(),
        // Apollo's modifiers that add no condition here: taken, and change nothing.
        add_if_in_queue: bool.optional(),
        contact_verification_skipped: bool.optional(),
        // Apollo: "true to add contacts even if you don't have ownership permission for them" (default false).
        // Here the sequence's "teammates' contacts" setting is that permission and the upper bound: false leaves
        // teammates' contacts out of this add (contacts_without_ownership_permission); true or absent keep the
        // setting (absent, as most clients send it, adds what the sequence takes, as before this flag was read).
        contacts_without_ownership_permission: bool.optional(),
        // false: leave out a contact whose company already has someone in the sequence (skip_same_company);
        // true or absent: no such rule.
        sequence_same_company_in_same_campaign: bool.optional(),
        user_id: id.optional(),
      }),
      { strict: true },
    );
    const sequenceId = c.req.param("id");
    if (p.emailer_campaign_id && p.emailer_campaign_id !== sequenceId)
      throw new ApiError("validation_failed", "emailer_campaign_id does not match the path", {
        fields: [{ field: "emailer_campaign_id", message: "Must equal the id in the path" }],
      });
    if (!p.contact_ids?.length && !p.label_names?.length) {
      throw new ApiError("validation_failed", "Give contact_ids[] or label_names[]", {
        fields: [{ field: "contact_ids", message: "contact_ids or label_names is required" }],
      });
    }
    const caller = await actingAs(c, p.user_id);
    const listIds = await listIdsNamed(c, caller, p.label_names);
    const overrides: Record<WarningCategory, boolean> = {
      no_email: p.sequence_no_email ?? false,
      unverified_email: p.sequence_unverified_email ?? false,
      job_change: p.sequence_job_change ?? false,
      active_in_other_sequence: p.sequence_active_in_other_campaigns ?? false,
      finished_in_other_sequence: p.sequence_finished_in_other_campaigns ?? false,
      // Apollo has no switch for these two: it keeps a contact that finished a sequence in it (adding them
      // again is "already exists"), and leaves out contacts in a stage the sequence excludes.
      replied_in_sequence: false,
      blocked_stage: false,
    };
    const mailboxIds = await sendFrom(c, caller, p.send_email_from_email_account_id, p.send_email_from_email_address);
    const { job } = await apolloNamed({ mailbox_ids: "send_email_from_email_account_id" }, () =>
      commitAddContacts(
        c.env,
        c.var.db,
        caller,
        sequenceId,
        {
          source: { contact_ids: p.contact_ids, list_ids: listIds.length ? listIds : undefined },
          mailbox_ids: mailboxIds,
          skip_validation: false,
          enrich: false,
          overrides,
          skip_same_company: p.sequence_same_company_in_same_campaign === false,
          ...(p.contacts_without_ownership_permission === false ? { allow_other_owners: false } : {}),
        },
        idempotencyScope(c.get("caller"), c.req.header("idempotency-key")),
        "apollo",
      ),
    );
    // Apollo answers synchronously: a batch that fits one chunk is processed now (the queued copy
    // of the chunk then finds it done); a larger one answers with the job to follow.
    if (job.total <= CHUNK_SIZE) await processChunk(c.env, job.id, 0, job.total);
    const fresh = await jobFor(c.var.db, caller, job.id);
    const { outcomes } = await outcomesPage(c.var.db, fresh, "all", 1, CHUNK_SIZE);
    const enrolled = outcomes.filter((o) => o.outcome === "enrolled" && o.contact_id).map((o) => o.contact_id!);
    const { rows } = await campaigns(c, caller, { ids: [sequenceId] }, 1, 1);
    // Apollo's one reason per contact left out: a skip's first reason, or the first warning not overridden.
    const skipped = outcomes
      .filter((o) => o.contact_id && o.outcome !== "enrolled")
      .map((o) => {
        const reason = o.outcome === "skipped" ? o.reasons[0] : o.reasons.find((r) => !overrides[r as WarningCategory]);
        return [o.contact_id!, APOLLO_SKIP_REASON[reason as keyof typeof APOLLO_SKIP_REASON] ?? "contacts_not_processed"];
      });
    return c.json({
      contacts: await apolloContacts(c.var.db, caller, enrolled),
      skipped_contact_ids: Object.fromEntries(skipped),
      emailer_campaign: rows[0] ? apolloCampaign(rows[0]) : null,
      seqflare: {
        job: {
          id: fresh.id,
          status: fresh.status,
          total: fresh.total,
          processed: fresh.processed,
          enrolled: fresh.enrolled,
          warned: fresh.warned,
          skipped: fresh.skipped,
          credits_used: fresh.creditsUsed,
          url: `/api/jobs/${fresh.id}`,
        },
        outcomes: outcomes.map((o) => ({
          contact_id: o.contact_id,
          outcome: o.outcome,
          reasons: o.reasons.map((r) => ({
            code: r,
            label: OUTCOME_REASONS[r as keyof typeof OUTCOME_REASONS]?.label ?? r,
            fix: OUTCOME_REASONS[r as keyof typeof OUTCOME_REASONS]?.fix ?? "",
          })),
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
      contact_stages: (await contactStagesOf(c.var.db, teamId)).map((s) => ({
        id: s.id,
        team_id: teamId,
        name: s.name,
        display_name: s.name,
        display_order: s.position,
        category: s.category,
      })),
    });
  })
  .get("/labels", async (c) => {
    const rows = await allLists(c.var.db, c.get("caller").teamId);
    return c.json(
      rows.map((l) => ({
        id: l.id,
        name: l.name,
        modality: "contacts",
        cached_count: l.contact_count,
        user_id: l.owner_id,
        created_at: iso(l.created_at),
        updated_at: iso(l.created_at),
      })),
    );
  })
  .on(["GET", "POST"], "/users/search", master, async (c) => {
    const p = await parse(c, z.object({ q_keywords: str.optional(), page: int(1, APOLLO_MAX_PAGE), per_page: int(25, 100) }), {
      strict: true,
    });
    const { rows, total } = await searchTeamUsers(c.var.db, c.get("caller").teamId, p.q_keywords?.trim() || null, p.page, p.per_page);
    return c.json({
      users: rows.map((u) => ({
        id: u.id,
        email: u.email,
        name: u.name,
        first_name: u.name.split(" ")[0],
        last_name: u.name.split(" ").slice(1).join(" "),
        team_id: u.teamId,
        created_at: iso(u.createdAt),
      })),
      pagination: apolloPagination(p.page, p.per_page, total),
    });
  })
  .post("/contacts", async (c) => {
    const p = await parse(c, ContactParams.extend({ run_dedupe: bool.optional() }));
    const caller = c.get("caller");
    const r = await createContact(c.var.db, caller, toInput(p), {
      dedupe: p.run_dedupe ?? false,
      source: "apollo_api",
      newEmailStatus: APOLLO_NEW_EMAIL_STATUS,
    });
    return c.json({ contact: (await apolloContacts(c.var.db, caller, [r.id]))[0] });
  })
  .on(["PUT", "PATCH"], "/contacts/:id", async (c) => {
    const p = await parse(c, ContactParams);
    const caller = c.get("caller");
    // An update sending the contact's address back unchanged (a client saving the whole contact) keeps what
    // is known of it, and changes nothing a sequence's editors must allow: updateContact tells a new address.
    await updateContact(c.env, c.var.db, caller, c.req.param("id"), toInput(p), { newEmailStatus: APOLLO_NEW_EMAIL_STATUS });
    return c.json({ contact: (await apolloContacts(c.var.db, caller, [c.req.param("id")]))[0] });
  })
  .on(["GET", "POST"], "/contacts/search", async (c) => {
    const p = await parse(
      c,
      z.object({
        q_keywords: str.optional(),
        contact_stage_ids: arr(APOLLO_ARRAY_MAX.contact_stage_ids).optional(),
        // Apollo documents contact_label_ids; its n8n node sends label_names; label_ids is ours.
        contact_label_ids: arr(APOLLO_ARRAY_MAX.label_ids).optional(),
        label_ids: arr(APOLLO_ARRAY_MAX.label_ids).optional(),
        label_names: arr(APOLLO_ARRAY_MAX.label_names).optional(),
        emailer_campaign_ids: arr(APOLLO_ARRAY_MAX.emailer_campaign_ids).optional(),
        sort_by_field: str.optional(),
        sort_ascending: bool.optional(),
        page: int(1, APOLLO_MAX_PAGE),
        per_page: int(25, 100),
      }),
      { strict: true },
    );
    const caller = c.get("caller");
    // Apollo's orders that are a column here. Last activity (Apollo's own example), opened and clicked aren't
    // kept, so they are refused: sorted another way, a page would hold other contacts than the ones asked for.
    const sortBy = p.sort_by_field ?? "contact_created_at";
    if (!Object.hasOwn(CONTACT_SORTS, sortBy))
      throw new ApiError(
        "validation_failed",
        `Seqflare can't sort contacts by "${p.sort_by_field}": it keeps no such date, and another order would put other contacts on each page`,
        { fields: [{ field: "sort_by_field", message: `Use ${Object.keys(CONTACT_SORTS).join(", ")}` }] },
      );
    // Only sequences the caller may see: another's (or another team's) answers 404, as everywhere.
    if (p.emailer_campaign_ids?.length) await mustSeeCampaigns(c, caller, p.emailer_campaign_ids);
    const listIds = [
      ...new Set([...(p.contact_label_ids ?? []), ...(p.label_ids ?? []), ...(await listIdsNamed(c, caller, p.label_names))]),
    ];
    const { ids, total } = await searchContactIds(c.var.db, caller.teamId, {
      q: p.q_keywords?.trim() || null,
      stageIds: p.contact_stage_ids,
      listIds: listIds.length ? listIds : undefined,
      sequenceIds: p.emailer_campaign_ids,
      sort: CONTACT_SORTS[sortBy as keyof typeof CONTACT_SORTS],
      ascending: p.sort_ascending ?? false,
      page: p.page,
      perPage: p.per_page,
    });
    return c.json({
      contacts: await apolloContacts(c.var.db, caller, ids),
      breadcrumbs: [],
      pagination: apolloPagination(p.page, p.per_page, total),
    });
  })
  // Integrations sync or check their key with this first (Airweave's Apollo source validates with it). Seqflare
  // keeps companies as contacts' fields, not as account records (see account_id below), so the truthful answer is
  // no accounts, with a pagination that says so: a sync reads it and goes on to contacts. Accounts are never made
  // up from contacts' companies: an id a client kept would name nothing it could update or link.
  .on(["GET", "POST"], "/accounts/search", async (c) => {
    const p = await parse(
      c,
      z.object({
        // Apollo's documented filters, and those sim.ai's account search sends (q_keywords, owner_id): each
        // narrows an empty set, so each is taken, checked for its form.
        q_organization_name: str.optional(),
        q_keywords: str.optional(),
        owner_id: id.optional(),
        account_stage_ids: arr(APOLLO_ARRAY_MAX.account_stage_ids).optional(),
        account_label_ids: arr(APOLLO_ARRAY_MAX.label_ids).optional(),
        sort_by_field: z.preprocess(one, z.enum(ACCOUNT_SORTS, { message: `Use ${ACCOUNT_SORTS.join(", ")}` })).optional(),
        sort_ascending: bool.optional(),
        page: int(1, APOLLO_MAX_PAGE),
        per_page: int(25, 100),
      }),
      { strict: true },
    );
    // An owner of another team is a 404, as user_ids answers on emailer_messages/search.
    if (p.owner_id) await mustBeTeamUsers(c, c.get("caller"), [p.owner_id]);
    return c.json({ accounts: [], breadcrumbs: [], pagination: apolloPagination(p.page, p.per_page, 0) });
  })
  .post("/contacts/update_stages", async (c) => {
    const p = await parse(c, z.object({ contact_ids: arr(APOLLO_ARRAY_MAX.contact_ids), contact_stage_id: id }));
    if (!p.contact_ids.length)
      throw new ApiError("validation_failed", "contact_ids is required", { fields: [{ field: "contact_ids", message: "Required" }] });
    const caller = c.get("caller");
    await updateStages(c.env, c.var.db, caller, p.contact_ids, p.contact_stage_id);
    return c.json({ contacts: await apolloContacts(c.var.db, caller, p.contact_ids) });
  })
  // api_search is the People API Search Apollo documents today; search, its older name, is still sent.
  .on(["GET", "POST"], ["/mixed_people/search", "/mixed_people/api_search"], async (c) => {
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
        // Similar titles are always found (VP = Vice President): it narrows nothing.
        include_similar_titles: bool.optional(),
        page: int(1, APOLLO_MAX_PAGE),
        per_page: int(25, 100),
      }),
      { strict: true },
    );
    const caller = c.get("caller");
    // Any "lo,hi" range (Apollo's clients send "50,500", "1,1000000"), not only the people search's buckets.
    const ranges = (p.organization_num_employees_ranges ?? []).map((r) => {
      const m = /^\s*(\d{1,9})\s*,\s*(\d{1,9})\s*$/.exec(r);
      if (!m || Number(m[1]) > Number(m[2]))
        throw new ApiError("validation_failed", `"${r}" is not an employee range`, {
          fields: [{ field: "organization_num_employees_ranges", message: 'Write each range as "min,max", for example "50,500"' }],
        });
      return `${Number(m[1])},${Number(m[2])}` as (typeof EMPLOYEE_RANGES)[number];
    });
    const statuses = ["verified", "unverified", "guessed", "unavailable"];
    // Apollo's documented values, as the statuses here: its "likely to engage" is a verified address Apollo
    // also saw activity on; Seqflare keeps no such signal, so it finds every verified address.
    const emailStatuses = [
      ...new Set(p.contact_email_status?.map((x) => (APOLLO_EMAIL_STATUS[x.toLowerCase().replace(/_/g, " ")] ?? x) as string)),
    ];
    const unknownStatus = emailStatuses.filter((x) => !statuses.includes(x));
    if (unknownStatus.length)
      throw new ApiError("validation_failed", `Seqflare can't filter by email status ${unknownStatus.map((x) => `"${x}"`).join(", ")}`, {
        fields: [{ field: "contact_email_status", message: `Use ${[...statuses, "likely to engage"].join(", ")}` }],
      });
    const locations = p.person_locations?.map(parseLocation);
    const filters: PeopleFilters = {
      q: p.q_keywords,
      // The company is a filter of its own, never words added to the keywords: joined, it made the
      // keywords longer than a search takes and was cut off, so the search widened to every company.
      companies: p.q_organization_name ? [p.q_organization_name] : undefined,
      titles: p.person_titles,
      seniorities: p.person_seniorities,
      employee_ranges: ranges.length ? ranges : undefined,
      email_statuses: p.contact_email_status ? (emailStatuses as PeopleFilters["email_statuses"]) : undefined,
      saved: "any",
    };
    // The people search's own checks on the values (at most 12 words a keyword search or title, …), named by
    // Apollo's fields: what it can't apply is refused, never cut short. Not its list lengths: Apollo takes up
    // to APOLLO_ARRAY_MAX values a filter (checked above), and employee ranges any "lo,hi" (checked above).
    const checked = PeopleFilters.safeParse({ ...filters, employee_ranges: undefined });
    const problems = checked.success ? [] : checked.error.issues.filter((i) => !(i.code === "too_big" && i.origin === "array"));
    if (problems.length)
      throw validationError(
        problems.map((i) => ({ ...i, path: [APOLLO_PEOPLE_FIELD[String(i.path[0])] ?? i.path[0]!, ...i.path.slice(1)] })),
      );
    const r = await searchPeople(
      c.var.db,
      caller.teamId,
      // A person in any of the locations is found (parsed above: a state alone or a form not understood is a 422).
      { ...(checked.success ? { ...checked.data, employee_ranges: filters.employee_ranges } : filters), locations },
      "score",
      p.page,
      p.per_page,
    );
    const saved = r.people.filter((x) => x.contact_id).map((x) => x.contact_id!);
    const person = (x: (typeof r.people)[number]) => ({
      id: x.id,
      first_name: x.first_name,
      last_name: x.last_name,
      name: `${x.first_name} ${x.last_name}`,
      title: x.title,
      seniority: x.seniority,
      departments: [x.department],
      linkedin_url: x.linkedin_url,
      city: x.city,
      country: x.country,
      time_zone: x.time_zone,
      // Like Apollo, a net-new person's address is revealed only when saved (that is what costs a credit).
      email: null,
      email_status: x.email_status,
      contact_id: x.contact_id,
      organization: { name: x.company, primary_domain: x.domain, industry: x.industry, estimated_num_employees: x.employees },
      organization_name: x.company,
    });
    return c.json({
      people: r.people.filter((x) => !x.contact_id).map(person),
      contacts: await apolloContacts(c.var.db, caller, saved),
      breadcrumbs: [],
      pagination: apolloPagination(p.page, p.per_page, r.total),
    });
  })
  .on(["GET", "POST"], "/emailer_messages/search", master, async (c) => {
    const p = await parse(
      c,
      z.object({
        emailer_campaign_ids: arr(APOLLO_ARRAY_MAX.emailer_campaign_ids).optional(),
        not_emailer_campaign_ids: arr(APOLLO_ARRAY_MAX.emailer_campaign_ids).optional(),
        contact_ids: arr(APOLLO_ARRAY_MAX.contact_ids).optional(),
        user_ids: arr(APOLLO_ARRAY_MAX.emailer_campaign_ids).optional(),
        emailer_message_stats: arr(APOLLO_ARRAY_MAX.statuses).optional(),
        // Apollo documents both spellings of the range; each end a date (YYYY-MM-DD) or an ISO 8601 time.
        emailer_message_date_range: DateRange.optional(),
        emailerMessageDateRange: DateRange.optional(),
        emailer_message_date_range_mode: z
          .preprocess(one, z.enum(["completed_at", "due_at"], { message: "Use completed_at or due_at" }))
          .optional(),
        page: int(1, APOLLO_MAX_PAGE),
        per_page: int(25, 100),
      }),
      { strict: true },
    );
    const caller = c.get("caller");
    // Apollo's stats that are a message status here; opens, clicks and the like aren't tracked, so a
    // filter on them is refused rather than answered with nothing.
    const unknown = p.emailer_message_stats?.filter((s) => !Object.hasOwn(MESSAGE_STATS, s)) ?? [];
    if (unknown.length)
      throw new ApiError("validation_failed", `Seqflare can't filter emails by ${unknown.map((s) => `"${s}"`).join(", ")}`, {
        fields: [{ field: "emailer_message_stats", message: `Use ${Object.keys(MESSAGE_STATS).join(", ")}` }],
      });
    // Both spellings at once are two ranges: which one the caller meant can't be told, so neither is dropped quietly.
    if (p.emailer_message_date_range && p.emailerMessageDateRange)
      throw new ApiError("validation_failed", "Give the date range once: emailer_message_date_range or emailerMessageDateRange, not both", {
        fields: [{ field: "emailerMessageDateRange", message: "Leave this out, or leave out emailer_message_date_range" }],
      });
    const rangeName = p.emailer_message_date_range ? "emailer_message_date_range" : "emailerMessageDateRange";
    const range = p.emailer_message_date_range ?? p.emailerMessageDateRange;
    const from = dateBound(range?.min, false, `${rangeName}[min]`);
    const to = dateBound(range?.max, true, `${rangeName}[max]`);
    if (from !== undefined && to !== undefined && from > to)
      throw new ApiError("validation_failed", `${rangeName}[min] is after ${rangeName}[max]`, {
        fields: [{ field: `${rangeName}[min]`, message: "Must be on or before max" }],
      });
    // Only sequences the caller may see: another team's answers 404, as contacts/search does.
    if (p.emailer_campaign_ids?.length) await mustSeeCampaigns(c, caller, p.emailer_campaign_ids);
    // Excluding one is naming it too: a sequence the caller can't see answers the same 404, not a quiet 200.
    if (p.not_emailer_campaign_ids?.length) await mustSeeCampaigns(c, caller, p.not_emailer_campaign_ids);
    if (p.user_ids?.length) await mustBeTeamUsers(c, caller, p.user_ids);
    const { rows, total } = await searchSequenceMessages(c.var.db, caller, {
      // completed_at (Apollo's default) is when an email went out; due_at when it was scheduled to.
      dates:
        from !== undefined || to !== undefined
          ? { field: p.emailer_message_date_range_mode === "due_at" ? "scheduled" : "sent", from, to }
          : undefined,
      sequenceIds: p.emailer_campaign_ids,
      notSequenceIds: p.not_emailer_campaign_ids,
      contactIds: p.contact_ids,
      userIds: p.user_ids,
      statuses: p.emailer_message_stats?.flatMap((s) => MESSAGE_STATS[s as keyof typeof MESSAGE_STATS]),
      page: p.page,
      perPage: p.per_page,
    });
    return c.json({
      emailer_messages: await apolloEmailerMessages(c.var.db, caller.teamId, rows),
      pagination: apolloPagination(p.page, p.per_page, total),
    });
  })
  .on(["GET", "POST"], "/tasks/search", master, async (c) => {
    const p = await parse(
      c,
      z.object({
        // Open tasks first, each by due date: the one order there is.
        sort_by_field: z.preprocess(one, z.literal("task_due_at")).optional(),
        // Apollo's facet counts to show beside the results: they narrow nothing.
        open_factor_names: arr(APOLLO_ARRAY_MAX.statuses).optional(),
        page: int(1, APOLLO_MAX_PAGE),
        per_page: int(25, 100),
      }),
      { strict: true },
    );
    const caller = c.get("caller");
    // Tasks of sequences the caller can't see stay hidden, except their own.
    const { rows, total } = await searchTeamTasks(c.var.db, caller, p.page, p.per_page);
    return c.json({
      tasks: rows.map((t) => ({
        id: t.id,
        user_id: t.assigneeId,
        contact_id: t.contactId,
        emailer_campaign_id: t.sequenceId,
        type: t.type,
        status: t.status === "open" ? "scheduled" : t.status,
        priority: "medium",
        note: t.note,
        due_at: iso(t.dueAt),
        completed_at: iso(t.completedAt),
        created_at: iso(t.createdAt),
      })),
      pagination: apolloPagination(p.page, p.per_page, total),
    });
  })
  // After every /contacts/<word> route, so "search" is never taken for an id.
  .get("/contacts/:id", async (c) => {
    const live = await getContact(c.var.db, c.get("caller"), c.req.param("id"));
    const [contact] = await apolloContacts(c.var.db, c.get("caller"), [live.id]);
    return c.json({ contact });
  });

/** Apollo's emailer_message_date_range: `{ min, max }`, each end optional ("" or null is no end). */
const DateRange = z
  .object({
    min: z.preprocess((v) => (v === "" || v === null ? undefined : v), str.optional()),
    max: z.preprocess((v) => (v === "" || v === null ? undefined : v), str.optional()),
  })
  .strict();

/**
 * One end of a date range in ms: a day (YYYY-MM-DD, UTC: min from its start, max through its end, as a
 * range of days reads) or an ISO 8601 time with its zone. Anything else is a 422 naming the field.
 */
function dateBound(v: string | undefined, end: boolean, field: string): number | undefined {
  const text = v?.trim();
  if (!text) return undefined;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const t = day
    ? Date.parse(`${text}T00:00:00Z`)
    : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text)
      ? Date.parse(text)
      : NaN;
  // A day that isn't on the calendar (2024-02-30) is refused, not read as the next month's.
  if (Number.isNaN(t) || (day && new Date(t).toISOString().slice(0, 10) !== text))
    throw new ApiError("validation_failed", `${field} is not a date: "${text}"`, {
      fields: [{ field, message: "Use a date as YYYY-MM-DD, or a time as 2024-05-01T09:00:00Z" }],
    });
  return day && end ? t + 86_400_000 - 1 : t;
}

/** Apollo's phone fields; a contact here keeps one phone, the first of these given. */
const PHONES = ["direct_phone", "mobile_phone", "corporate_phone", "other_phone", "home_phone"] as const;

const ContactParams = z.object({
  // null clears a field (an update sending back what a search answered, nulls included); a name cleared is empty.
  first_name: str.nullable().optional(),
  last_name: str.nullable().optional(),
  email: str.nullable().optional(),
  title: str.nullable().optional(),
  organization_name: str.nullable().optional(),
  website_url: str.nullable().optional(),
  // Names of lists a contact create or update makes when missing: held to the lists' own limit (a
  // longer one made a list the Lists screen couldn't rename).
  label_names: arr(APOLLO_ARRAY_MAX.contact_label_names, LIST_NAME_MAX).optional(),
  contact_stage_id: id.optional(),
  owner_id: id.optional(),
  linkedin_url: str.nullable().optional(),
  direct_phone: str.nullable().optional(),
  mobile_phone: str.nullable().optional(),
  corporate_phone: str.nullable().optional(),
  other_phone: str.nullable().optional(),
  home_phone: str.nullable().optional(),
  present_raw_address: str.nullable().optional(),
  email_status: z.enum(["verified", "unverified", "guessed", "unavailable"]).optional(),
  // Apollo's custom fields by key: the contact's custom fields (a value, or null to remove one).
  typed_custom_fields: z
    .record(
      z.string(),
      z.union([z.string(), z.number().transform(String), z.boolean().transform(String), z.null()], {
        message: "A custom field's value is text, a number, true/false or null",
      }),
    )
    .optional(),
  // Seqflare has no accounts (companies as records): dropping the link would answer 200 for a contact not linked.
  account_id: z.never({ message: "Seqflare has no accounts: leave account_id out and send organization_name and website_url" }).optional(),
});

/** Apollo's clients send profile addresses with or without their scheme; one that can't be a web address is refused (it becomes a link on screens). */
function linkedinUrl(v: string | undefined) {
  if (!v?.trim()) return undefined;
  const url = webAddress(v);
  if (url) return url;
  const message = "linkedin_url must be a web address (http:// or https://)";
  throw new ApiError("validation_failed", message, { fields: [{ field: "linkedin_url", message }] });
}

/** Apollo's name for a contact field, so an error names the parameter the client sent. */
const APOLLO_FIELD: Record<string, string> = {
  company: "organization_name",
  domain: "website_url",
  city: "present_raw_address",
  stage_id: "contact_stage_id",
  list_names: "label_names",
  custom_fields: "typed_custom_fields",
};

/**
 * The status of a new address a client gives without one: the customer's to vouch for, and Apollo keeps it as
 * verified ("user managed"), so a contact made here can be added to a sequence like one made in Apollo. Only a
 * new one: the address a contact has, sent back, keeps its status (a guessed one is never made verified), and
 * a cleared one is unavailable.
 */
const APOLLO_NEW_EMAIL_STATUS = "verified";

/** Apollo's contact parameters as a ContactInput, held to the native API's limits (routes/contacts.ts). */
function toInput(p: z.infer<typeof ContactParams>): ContactFields {
  const email = p.email?.trim();
  const phoneField = PHONES.find((f) => p[f] !== undefined);
  const input = {
    first_name: p.first_name === null ? "" : p.first_name,
    last_name: p.last_name === null ? "" : p.last_name,
    email: p.email === null ? null : email || undefined,
    email_status: p.email_status,
    title: p.title,
    company: p.organization_name,
    domain:
      p.website_url === null
        ? null
        : p.website_url
          ? p.website_url
              .trim()
              .replace(/^https?:\/\//i, "")
              .replace(/^www\./i, "")
              .split("/")[0]!
              .toLowerCase()
          : undefined,
    list_names: p.label_names,
    stage_id: p.contact_stage_id,
    owner_id: p.owner_id,
    linkedin_url: p.linkedin_url === null ? null : linkedinUrl(p.linkedin_url),
    phone: phoneField ? p[phoneField] : undefined,
    city: p.present_raw_address,
    custom_fields: p.typed_custom_fields,
  };
  const r = NativeContactInput.safeParse(input);
  if (!r.success)
    throw validationError(
      r.error.issues.map((i) => {
        const name = String(i.path[0]);
        const field = name === "phone" ? phoneField! : (APOLLO_FIELD[name] ?? name);
        return { ...i, path: [field, ...i.path.slice(1)] };
      }),
    );
  return r.data;
}
