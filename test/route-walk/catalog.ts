// Every route the walk visits: the REST routes from /api/openapi.json, and the Apollo facade
// (/apollo/api/v1, not in that document) described here from worker/apollo/routes.ts. A test checks
// that this catalog covers every route the Worker registers, so a new route can't skip the walk.
import { APOLLO_ARRAY_MAX } from "../../worker/apollo/routes";
import type { Schema } from "./schema-arb";
import type { Resource } from "./world";

export interface Param {
  name: string;
  in: "path" | "query" | "header";
  schema: Schema;
  required: boolean;
}

export interface Route {
  api: "rest" | "apollo";
  method: string;
  /** Path template relative to the prefix, OpenAPI style: /sequences/{id}/steps/{stepId}. */
  template: string;
  prefix: "/api" | "/apollo/api/v1";
  params: Param[];
  body?: Schema;
  bodyRequired: boolean;
  /** Id-carrying path parameters, outermost first, with the resource each names. */
  ids: { name: string; res: Resource }[];
  /** Statuses the document lists for this operation (none for Apollo, which has no document). */
  documented: number[] | null;
}

export const key = (r: Route) => `${r.method} ${r.prefix}${r.template}`;

/** Which resource a path segment's id names. */
const SEGMENT: Record<string, Resource> = {
  "api-keys": "api_keys",
  contacts: "contacts",
  lists: "lists",
  sequences: "sequences",
  steps: "steps",
  variants: "variants",
  mailboxes: "mailboxes",
  schedules: "schedules",
  messages: "messages",
  tasks: "tasks",
  jobs: "jobs",
  workflows: "workflows",
  emailer_campaigns: "sequences",
  imports: "imports",
  replies: "replies",
  users: "users",
  invites: "invites",
  // A suppression is named by its address (DELETE /suppressions/{email}).
  suppressions: "suppressions",
  // /webhooks/outgoing/{id}: an outgoing webhook subscription.
  outgoing: "webhook_subscriptions",
  "email-templates": "email_templates",
};

/** Path parameters whose name says what they name. */
const PARAM: Record<string, Resource> = {
  stepId: "steps",
  step_id: "steps",
  variantId: "variants",
  variant_id: "variants",
  job_id: "jobs",
  enrollment_id: "enrollments",
  // An invite link's token: the walk has no tokens (only their hashes are stored), so every one it sends is unknown.
  token: "invites",
};

/** Path parameters whose resource the catalog can't tell (a test fails on them: teach SEGMENT or PARAM). */
export const unknownParams: string[] = [];

function idsOf(template: string, params: Param[]): Route["ids"] {
  const segs = template.split("/").filter(Boolean);
  const out: Route["ids"] = [];
  segs.forEach((s, i) => {
    const m = /^\{(.+)\}$/.exec(s);
    if (!m) return;
    const p = params.find((x) => x.name === m[1] && x.in === "path");
    if (p?.schema.enum) return;
    const res = PARAM[m[1]!] ?? SEGMENT[segs[i - 1] ?? ""];
    if (!res) unknownParams.push(`{${m[1]}} in ${template}`);
    out.push({ name: m[1]!, res: res ?? "contacts" });
  });
  return out;
}

/** The parts of the OpenAPI document the walk reads (after `deref`). */
interface Operation {
  parameters?: { name: string; in: Param["in"]; schema?: Schema; required?: boolean }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, unknown>;
}
export interface OpenApiDoc {
  paths: Record<string, Record<string, unknown>>;
}

/** Inlines every `#/components/...` reference of the document. */
export function deref(doc: OpenApiDoc, node: unknown): unknown {
  if (Array.isArray(node)) return node.map((n) => deref(doc, n));
  if (node && typeof node === "object") {
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === "string")
      return deref(
        doc,
        ref
          .split("/")
          .slice(1)
          .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], doc),
      );
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, deref(doc, v)]));
  }
  return node;
}

export function restRoutes(doc: OpenApiDoc): Route[] {
  const out: Route[] = [];
  for (const [template, ops] of Object.entries(doc.paths)) {
    for (const [method, op0] of Object.entries(ops)) {
      const op = deref(doc, op0) as Operation;
      const params: Param[] = (op.parameters ?? []).map((p) => ({
        name: p.name,
        in: p.in,
        schema: p.schema ?? {},
        required: !!p.required,
      }));
      const body = op.requestBody?.content?.["application/json"]?.schema;
      out.push({
        api: "rest",
        method: method.toUpperCase(),
        template,
        prefix: "/api",
        params,
        body,
        bodyRequired: !!op.requestBody?.required,
        ids: idsOf(template, params),
        documented: Object.keys(op.responses ?? {}).map(Number),
      });
    }
  }
  return out;
}

const str: Schema = { type: "string" };
/** An Apollo array parameter: at most `max` entries (APOLLO_ARRAY_MAX, printed in the README), each at most 200 characters. */
const arr = (max: number): Schema => ({ type: "array", items: { type: "string", maxLength: 200 }, maxItems: max });
const M = APOLLO_ARRAY_MAX;
const bool: Schema = { type: "boolean" };
const page: Schema = { type: "integer", minimum: 1, maximum: 500 };
const perPage: Schema = { type: "integer", minimum: 1, maximum: 100 };
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({ type: "object", properties, required });

const contactParams = {
  first_name: str,
  last_name: str,
  email: { type: "string", format: "email" },
  title: str,
  organization_name: str,
  website_url: str,
  label_names: arr(M.contact_label_names),
  contact_stage_id: str,
  owner_id: str,
  linkedin_url: str,
  direct_phone: str,
  present_raw_address: str,
};

/** The Apollo facade's routes, as worker/apollo/routes.ts parses them (query, form or JSON alike). */
const peopleSearch = obj({
  q_keywords: str,
  person_titles: arr(M.person_filters),
  person_seniorities: arr(M.person_filters),
  person_locations: arr(M.person_filters),
  organization_num_employees_ranges: arr(M.statuses),
  contact_email_status: arr(M.statuses),
  q_organization_name: str,
  page,
  per_page: perPage,
});

/** Apollo's accounts/search: Seqflare keeps no accounts, so it always answers none (its filters are checked). */
const accountSearch = obj({
  q_organization_name: str,
  q_keywords: str,
  owner_id: str,
  account_stage_ids: arr(M.account_stage_ids),
  account_label_ids: arr(M.label_ids),
  sort_by_field: { type: "string", enum: ["account_last_activity_date", "account_created_at", "account_updated_at"] },
  sort_ascending: bool,
  page,
  per_page: perPage,
});

const APOLLO: [string, string, Schema | undefined][] = [
  ["POST", "/emailer_campaigns/search", obj({ q_name: str, page, per_page: perPage })],
  [
    "POST",
    "/emailer_campaigns/remove_or_stop_contact_ids",
    obj(
      {
        emailer_campaign_ids: { ...arr(M.emailer_campaign_ids), minItems: 1 },
        contact_ids: { ...arr(M.contact_ids), minItems: 1 },
        mode: { type: "string", enum: ["mark_as_finished", "remove", "stop"] },
        user_id: str,
      },
      ["emailer_campaign_ids", "contact_ids", "mode"],
    ),
  ],
  [
    "POST",
    "/emailer_campaigns/{id}/add_contact_ids",
    obj(
      {
        contact_ids: { ...arr(M.add_contact_ids), minItems: 1 },
        label_names: arr(M.label_names),
        send_email_from_email_account_id: str,
        sequence_no_email: bool,
        sequence_unverified_email: bool,
        sequence_job_change: bool,
        sequence_active_in_other_campaigns: bool,
        sequence_finished_in_other_campaigns: bool,
        user_id: str,
      },
      ["contact_ids"],
    ),
  ],
  ["GET", "/email_accounts", undefined],
  ["GET", "/labels", undefined],
  ["GET", "/users/search", obj({ q_keywords: str, page, per_page: perPage })],
  ["POST", "/users/search", obj({ q_keywords: str, page, per_page: perPage })],
  ["POST", "/contacts", obj({ ...contactParams, run_dedupe: bool })],
  ["PUT", "/contacts/{id}", obj(contactParams)],
  [
    "POST",
    "/contacts/search",
    obj({
      q_keywords: str,
      contact_stage_ids: arr(M.contact_stage_ids),
      label_ids: arr(M.label_ids),
      sort_by_field: { type: "string", enum: ["contact_last_name", "contact_updated_at", "contact_created_at"] },
      sort_ascending: bool,
      page,
      per_page: perPage,
    }),
  ],
  [
    "POST",
    "/contacts/update_stages",
    obj({ contact_ids: { ...arr(M.contact_ids), minItems: 1 }, contact_stage_id: str }, ["contact_ids", "contact_stage_id"]),
  ],
  ["POST", "/mixed_people/search", peopleSearch],
  // Apollo's current People API Search: the same search under its newer name.
  ["POST", "/mixed_people/api_search", peopleSearch],
  [
    "POST",
    "/emailer_messages/search",
    obj({
      emailer_campaign_ids: arr(M.emailer_campaign_ids),
      contact_ids: arr(M.contact_ids),
      emailer_message_stats: arr(M.statuses),
      page,
      per_page: perPage,
    }),
  ],
  ["POST", "/tasks/search", obj({ sort_by_field: str, open_factor_names: arr(M.statuses), page, per_page: perPage })],
  // Integrations send searches as GET with the parameters in the query string; lookups and PATCH updates.
  ["GET", "/emailer_campaigns/search", obj({ q_name: str, page, per_page: perPage })],
  [
    "GET",
    "/contacts/search",
    obj({
      q_keywords: str,
      contact_stage_ids: arr(M.contact_stage_ids),
      label_ids: arr(M.label_ids),
      sort_by_field: { type: "string", enum: ["contact_last_name", "contact_updated_at", "contact_created_at"] },
      sort_ascending: bool,
      page,
      per_page: perPage,
    }),
  ],
  ["GET", "/mixed_people/search", peopleSearch],
  // Apollo's current People API Search: the same search under its newer name.
  ["GET", "/mixed_people/api_search", peopleSearch],
  [
    "GET",
    "/emailer_messages/search",
    obj({
      emailer_campaign_ids: arr(M.emailer_campaign_ids),
      contact_ids: arr(M.contact_ids),
      emailer_message_stats: arr(M.statuses),
      page,
      per_page: perPage,
    }),
  ],
  ["GET", "/tasks/search", obj({ sort_by_field: str, open_factor_names: arr(M.statuses), page, per_page: perPage })],
  ["POST", "/accounts/search", accountSearch],
  ["GET", "/accounts/search", accountSearch],
  ["GET", "/contact_stages", undefined],
  ["GET", "/auth/health", undefined],
  ["GET", "/contacts/{id}", undefined],
  ["PATCH", "/contacts/{id}", obj(contactParams)],
];

export function apolloRoutes(): Route[] {
  return APOLLO.map(([method, template, body]) => {
    const params: Param[] = [...template.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1]!,
      in: "path",
      schema: { type: "string" },
      required: true,
    }));
    return {
      api: "apollo",
      method,
      template,
      prefix: "/apollo/api/v1",
      params,
      body,
      bodyRequired: false,
      ids: idsOf(template, params),
      documented: null,
    };
  });
}

/**
 * Routes outside the document that the walk still calls. The OAuth callback is a browser navigation
 * (it always answers a redirect to the Mailboxes screen, with the outcome in words), so it has no JSON
 * contract to document; it must still never fail, whoever calls it with whatever query.
 */
export function extraRoutes(): Route[] {
  const q = (name: string): Param => ({ name, in: "query", schema: { type: "string" }, required: false });
  return [
    {
      api: "rest",
      method: "GET",
      template: "/oauth/{provider}/callback",
      prefix: "/api",
      body: undefined,
      bodyRequired: false,
      ids: [],
      documented: null,
      params: [
        { name: "provider", in: "path", schema: { type: "string", enum: ["google", "microsoft"] }, required: true },
        q("code"),
        q("state"),
        q("error"),
        q("error_description"),
      ],
    },
  ];
}

/** Worker routes the walk doesn't call, and why. */
export const NOT_WALKED: Record<string, string> = {
  "GET /api/openapi.json": "the document itself (public, no input)",
  "GET /api/docs": "static HTML page (public, no input)",
  "POST /api/dev/seed": "local-only seeding (answers 404 outside APP_ENV=local)",
  "GET /unsubscribe/:token": "signed-token page, covered by the unsubscribe tests",
  "POST /unsubscribe/:token": "signed-token page, covered by the unsubscribe tests",
  "GET /unsubscribe/preview":
    "a preview's link: a fixed page that unsubscribes nobody, covered by test/sequences/preview-unsubscribe-link.test.ts",
  "POST /unsubscribe/preview":
    "a preview's link: a fixed page that unsubscribes nobody, covered by test/sequences/preview-unsubscribe-link.test.ts",
  "GET /api/oauth/:provider/callback":
    "the provider's browser redirect back (answers 302 to the Mailboxes screen, never JSON); covered by test/mailboxes/oauth-mailboxes.test.ts",
};

/** `/sequences/{id}` → `/sequences/:id` (Hono's spelling). */
export const honoPath = (r: Route) => `${r.prefix}${r.template.replace(/\{(\w+)\}/g, ":$1")}`;
