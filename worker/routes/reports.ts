import { createRoute, z } from "@hono/zod-openapi";
import { now } from "../lib/clock";
import { csvDownload, csvFile, csvLine } from "../lib/csv";
import { ApiError } from "../lib/errors";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, json, jsonBody } from "../lib/schemas";
import { REASONS } from "../../durable-objects/engine";
import type { Db } from "../db/client";
import type { Caller } from "../env";
import { mailboxFor, teamUserFor } from "../services/access";
import { auditSequenceExport } from "../services/contacts-export";
import { chooseWinnerBy, setAutoWinner } from "../services/reports/ab";
import { contactsExport, reportFor, type ReportFilter } from "../services/reports/sequence";
import { homeDashboard, teamReport } from "../services/reports/team";
import { DAY_MS } from "../services/reports/thresholds";
import { isValidTimeZone } from "../services/schedule-time";
import { localDayBounds } from "../services/tasks";

/** Sequence reports, A/B results and winners, the team report, the home dashboard, and their CSV exports. */

const MAX_RANGE_DAYS = 3 * 366;
const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date like 2026-11-30")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "Not a real date");

const RangeBase = z.object({
  from: IsoDate.optional().openapi({ description: "First day (UTC, inclusive), YYYY-MM-DD" }),
  to: IsoDate.optional().openapi({ description: "Last day (UTC, inclusive), YYYY-MM-DD" }),
});
const ReportBase = RangeBase.extend({
  added_by: z.string().min(1).max(64).optional().openapi({ description: "Only contacts added by this user" }),
  mailbox_id: z.string().min(1).max(64).optional().openapi({ description: "Only emails from (and contacts assigned to) this mailbox" }),
});
/** The day range in order and at most MAX_RANGE_DAYS long. */
const ordered = <T extends typeof RangeBase>(s: T) =>
  s
    .refine((q) => !q.from || !q.to || q.from <= q.to, { message: "The last day can't be before the first day", path: ["to"] })
    .refine((q) => !q.from || !q.to || (Date.parse(q.to) - Date.parse(q.from)) / DAY_MS <= MAX_RANGE_DAYS, {
      message: `Choose at most ${MAX_RANGE_DAYS} days`,
      path: ["to"],
    });
const Range = ordered(RangeBase);
const ReportQuery = ordered(ReportBase);
const ReportExportQuery = ordered(
  ReportBase.extend({ part: z.enum(["statuses", "steps", "mailboxes", "daily", "ab_tests"]).default("steps") }),
);
const TeamExportQuery = ordered(RangeBase.extend({ by: z.enum(["users", "sequences"]).default("users") }));

const dayStart = (s: string) => Date.parse(`${s}T00:00:00Z`);
const filterOf = (q: { from?: string; to?: string; added_by?: string; mailbox_id?: string }): ReportFilter => ({
  from: q.from ? dayStart(q.from) : undefined,
  to: q.to ? dayStart(q.to) + DAY_MS : undefined,
  addedBy: q.added_by,
  mailboxId: q.mailbox_id,
});

/**
 * The filter of a sequence report, once the mailbox and user it names are checked: another team's (or a removed
 * mailbox) answers 404 through the access helpers, as the Outbox's filters do, not a report of zeros.
 */
async function checkedFilter(d: Db, caller: Caller, q: Parameters<typeof filterOf>[0]): Promise<ReportFilter> {
  await Promise.all([
    q.mailbox_id ? mailboxFor(d, caller, q.mailbox_id) : undefined,
    q.added_by ? teamUserFor(d, caller, q.added_by) : undefined,
  ]);
  return filterOf(q);
}

const Counts = { sent: z.number(), replied: z.number(), out_of_office: z.number(), bounced: z.number() };
const Thresholds = z
  .object({ bounce_rate_max: z.number(), spam_rate_max: z.number(), spam_rate_target: z.number(), note: z.string() })
  .openapi("ReportThresholds");
const AbTest = z
  .object({
    step_id: z.string(),
    position: z.number(),
    winner_id: z.string().nullable(),
    variants: z.array(
      z.object({
        id: z.string(),
        label: z.string(),
        enabled: z.boolean(),
        sent: z.number(),
        replies: z.number(),
        reply_rate: z.number(),
        ci_low: z.number(),
        ci_high: z.number(),
      }),
    ),
    leader_id: z.string().nullable(),
    p_value: z.number().nullable(),
    significant: z.boolean(),
    auto_pick: z
      .boolean()
      .openapi({ description: "Significant at the automatic winner's stricter line (p < 0.001): what it would switch to now" }),
    needs_more_per_variant: z.number().nullable(),
    verdict: z.string(),
  })
  .openapi("AbTest");

const SequenceReportSchema = z
  .object({
    sequence: z.object({ id: z.string(), name: z.string() }),
    filters: z.object({
      from: z.number().nullable(),
      to: z.number().nullable(),
      added_by: z.string().nullable(),
      mailbox_id: z.string().nullable(),
    }),
    totals: z.object({
      ...Counts,
      contacts: z.number().openapi({
        description:
          "Contacts in the sequence; with a range, those with an email sent or a task come due in it (statuses count the same contacts, by their latest run)",
      }),
      reply_rate: z.number(),
      bounce_rate: z.number(),
      positive_replies: z.number(),
      meetings: z.number(),
      unsubscribed: z.number(),
      tasks_done: z.number(),
    }),
    statuses: z.array(z.object({ status: z.string(), contacts: z.number() })),
    steps: z.array(
      z.object({
        step_id: z.string().nullable(),
        position: z.number().nullable(),
        type: z.string().nullable(),
        enabled: z.boolean(),
        deleted: z
          .boolean()
          .openapi({ description: "The row of the steps deleted since: their emails and tasks, so the steps add up to the totals" }),
        reached: z.number().nullable().openapi({
          description:
            "Contacts that had this step's email or task (in the range, when one is set) or, without a range, whose open run is on it now; null for deleted steps",
        }),
        sent: z.number(),
        replied: z.number(),
        bounced: z.number(),
        unsubscribed: z.number(),
        tasks_done: z.number(),
        reply_rate: z.number(),
        bounce_rate: z.number(),
      }),
    ),
    mailboxes: z.array(z.object({ mailbox_id: z.string(), email: z.string(), ...Counts, reply_rate: z.number(), bounce_rate: z.number() })),
    daily: z.array(z.object({ day: z.string(), ...Counts })).openapi({
      description:
        "Every UTC day from the range's first (without one, the first email's) to its last, never past today, zeros included; at most 1,099 days are filled, older days are listed only when they have emails",
    }),
    ab_tests: z.array(AbTest),
    auto_winner: z.boolean(),
    thresholds: Thresholds,
    tracking: z.object({ opens: z.boolean(), clicks: z.boolean(), note: z.string() }),
  })
  .openapi("SequenceReport");

const TeamRowSchema = {
  added: z.number(),
  sent: z.number(),
  replies: z.number().openapi({ description: "Replies to emails sent in the range, whenever they came" }),
  meetings: z.number().openapi({ description: "Meetings booked in the range, for the run they ended (or the last email before them)" }),
  positive_replies: z
    .number()
    .openapi({ description: "Contacts who replied to an email sent in the range and are now in a succeeded stage" }),
  unsubscribed: z.number().openapi({ description: "Emails sent in the range that the person opted out from (link or reply)" }),
  bounced: z.number(),
  bounce_rate: z.number(),
  reply_rate: z.number(),
};
const TeamReportSchema = z
  .object({
    from: z.number(),
    to: z.number(),
    users: z.array(
      z.object({
        user_id: z.string(),
        name: z.string(),
        email: z.string(),
        ...TeamRowSchema,
        meetings: z.number().openapi({
          description:
            "Meetings booked in the range by this user (the button or the API), in a sequence or outside any; one the scheduling tool booked, for the owner of the mailbox that emailed the contact",
        }),
      }),
    ),
    sequences: z.array(z.object({ sequence_id: z.string(), name: z.string(), ...TeamRowSchema })),
    all_sequences: z
      .boolean()
      .openapi({ description: "Whether the figures cover every sequence of the team (admins), or only the caller's own and shared ones" }),
    thresholds: Thresholds,
  })
  .openapi("TeamReport");

const HomeSchema = z
  .object({
    credits: z.number(),
    tasks: z.object({ overdue: z.number(), due_today: z.number() }),
    recent_replies: z.array(
      z.object({
        message_id: z.string(),
        replied_at: z.number(),
        subject: z.string(),
        sequence: z.object({ id: z.string(), name: z.string() }),
        contact: z
          .object({ id: z.string(), name: z.string() })
          .nullable()
          .openapi({ description: "Null when the contact has been deleted: the reply stays, the person's name doesn't" }),
      }),
    ),
    jobs: z.array(
      z.object({
        id: z.string(),
        status: z.string(),
        sequence: z.object({ id: z.string(), name: z.string() }).nullable(),
        total: z.number(),
        processed: z.number(),
        run_at: z.number().nullable(),
        created_at: z.number(),
      }),
    ),
    high_bounce_sequences: z.array(
      z.object({
        sequence_id: z.string(),
        name: z.string(),
        active: z.boolean().openapi({ description: "Whether the sequence is on (archived sequences are left out)" }),
        sent: z.number(),
        bounced: z.number(),
        bounce_rate: z.number(),
      }),
    ),
    bounce_window_days: z.number(),
    thresholds: Thresholds,
  })
  .openapi("HomeDashboard");

const csv = { 200: csvFile() };
const pct = (x: number) => (x * 100).toFixed(2);

/** Team report range: the given days, or the last 30 days. */
function teamRange(q: { from?: string; to?: string }) {
  const to = q.to ? dayStart(q.to) + DAY_MS : Math.floor(now() / DAY_MS) * DAY_MS + DAY_MS;
  const from = q.from ? dayStart(q.from) : to - 30 * DAY_MS;
  // Both days given, the query's own check has put them in order; only `from` given, `to` is today, which the
  // caller never named: the fault is a first day in the future.
  if (from >= to)
    throw new ApiError("validation_failed", "From can't be after today", {
      fields: [{ field: "from", label: "From", message: "Choose today or an earlier day" }],
    });
  return { from, to };
}

export const reportRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/report",
      tags: ["Reports"],
      summary: "A sequence's report: contacts by status, funnel per step, per mailbox, daily series, A/B tests",
      request: { params: IdParam, query: ReportQuery },
      responses: { 200: json(z.object({ report: SequenceReportSchema })), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) =>
      c.json(
        {
          report: await reportFor(
            c.var.db,
            c.get("caller"),
            c.req.valid("param").id,
            await checkedFilter(c.var.db, c.get("caller"), c.req.valid("query")),
          ),
        },
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/report/export",
      tags: ["Reports"],
      summary: "One part of a sequence's report as CSV (spreadsheet-formula safe)",
      request: { params: IdParam, query: ReportExportQuery },
      responses: { ...csv, 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const r = await reportFor(c.var.db, c.get("caller"), c.req.valid("param").id, await checkedFilter(c.var.db, c.get("caller"), q));
      let out = "";
      if (q.part === "statuses") out = csvLine(["status", "contacts"]) + r.statuses.map((s) => csvLine([s.status, s.contacts])).join("");
      if (q.part === "steps")
        out =
          csvLine([
            "step",
            "type",
            "reached",
            "sent",
            "replied",
            "bounced",
            "unsubscribed",
            "tasks_done",
            "reply_rate_pct",
            "bounce_rate_pct",
          ]) +
          r.steps
            .map((s) =>
              csvLine([
                s.deleted ? "(deleted steps)" : s.position,
                s.type ?? "",
                s.reached ?? "",
                s.sent,
                s.replied,
                s.bounced,
                s.unsubscribed,
                s.tasks_done,
                pct(s.reply_rate),
                pct(s.bounce_rate),
              ]),
            )
            .join("");
      if (q.part === "mailboxes")
        out =
          csvLine(["mailbox", "sent", "replied", "out_of_office", "bounced", "reply_rate_pct", "bounce_rate_pct"]) +
          r.mailboxes
            .map((m) => csvLine([m.email, m.sent, m.replied, m.out_of_office, m.bounced, pct(m.reply_rate), pct(m.bounce_rate)]))
            .join("");
      if (q.part === "daily")
        out =
          csvLine(["day", "sent", "replied", "out_of_office", "bounced"]) +
          r.daily.map((d) => csvLine([d.day, d.sent, d.replied, d.out_of_office, d.bounced])).join("");
      if (q.part === "ab_tests") {
        out = csvLine([
          "step",
          "variant",
          "enabled",
          "delivered",
          "replies",
          "reply_rate_pct",
          "ci_low_pct",
          "ci_high_pct",
          "p_value",
          "significant",
          "verdict",
        ]);
        for (const t of r.ab_tests)
          for (const v of t.variants)
            out += csvLine([
              t.position,
              v.label,
              v.enabled,
              v.sent,
              v.replies,
              pct(v.reply_rate),
              pct(v.ci_low),
              pct(v.ci_high),
              t.p_value?.toFixed(4) ?? "",
              t.significant,
              t.verdict,
            ]);
      }
      return csvDownload(`sequence-${r.sequence.id}-${q.part}.csv`, out);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/sequences/{id}/contacts/export",
      tags: ["Reports"],
      summary: "Every contact of a sequence with its status as CSV (streamed; spreadsheet-formula safe)",
      request: { params: IdParam },
      responses: { ...csv, 404: errorResponses[404] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { sequenceId, pages } = await contactsExport(c.var.db, caller, c.req.valid("param").id);
      await auditSequenceExport(c.var.db, caller, sequenceId);
      const iso = (v: number | null) => (v === null ? "" : new Date(v).toISOString());
      // A page is read only when the download wants more (csvDownload pulls), so a slow download never
      // has the whole sequence queued in memory.
      async function* lines() {
        yield csvLine([
          "contact_id",
          "first_name",
          "last_name",
          "email",
          "company",
          "status",
          "current_step",
          "reason",
          "reason_details",
          "mailbox",
          "added_at",
          "finished_at",
        ]);
        for await (const page of pages)
          yield page
            .map((r) =>
              csvLine([
                r.contact_id,
                r.first_name,
                r.last_name,
                r.email,
                r.company,
                r.status,
                r.current_step,
                r.reason,
                r.reason ? ((REASONS as Record<string, string>)[r.reason] ?? "") : "",
                r.mailbox,
                iso(r.created_at),
                iso(r.finished_at),
              ]),
            )
            .join("");
      }
      return csvDownload(`sequence-${sequenceId}-contacts.csv`, lines());
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/sequences/{id}/ab-tests/auto-winner",
      tags: ["Reports"],
      summary: "Turn the automatic A/B winner on or off (once a test is significant, new emails use the winner; recorded in the audit log)",
      request: { params: IdParam, body: jsonBody(z.object({ enabled: z.boolean() }).openapi("AutoWinner")) },
      responses: {
        200: json(z.object({ auto_winner: z.boolean(), switched_steps: z.array(z.string()) })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const { enabled } = c.req.valid("json");
      const switched = await setAutoWinner(c.var.db, c.get("caller"), c.req.valid("param").id, enabled);
      return c.json({ auto_winner: enabled, switched_steps: switched }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sequences/{id}/ab-tests/{step_id}/winner",
      tags: ["Reports"],
      summary: "Pick a step's winning variant by hand: the others are turned off (recorded in the audit log)",
      request: {
        params: IdParam.extend({
          step_id: z
            .string()
            .min(1)
            .max(64)
            .openapi({ param: { name: "step_id", in: "path" } }),
        }),
        body: jsonBody(z.object({ variant_id: Id }).openapi("ChooseWinner")),
      },
      responses: { 200: json(z.object({ ab_test: AbTest })), 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { id, step_id } = c.req.valid("param");
      const ab_test = await chooseWinnerBy(c.var.db, c.get("caller"), id, step_id, c.req.valid("json").variant_id);
      return c.json({ ab_test }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/reports/team",
      tags: ["Reports"],
      summary: "Per user and per sequence: added, sent, replies, meetings, bounce rate (default: the last 30 days)",
      request: { query: Range },
      responses: { 200: json(z.object({ report: TeamReportSchema })), 422: errorResponses[422] },
    }),
    async (c) => {
      const { from, to } = teamRange(c.req.valid("query"));
      return c.json({ report: await teamReport(c.var.db, c.get("caller"), from, to) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/reports/team/export",
      tags: ["Reports"],
      summary: "The team report as CSV, per user or per sequence (spreadsheet-formula safe)",
      request: { query: TeamExportQuery },
      responses: { ...csv, 422: errorResponses[422] },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const { from, to } = teamRange(q);
      const r = await teamReport(c.var.db, c.get("caller"), from, to);
      const head = [
        "added",
        "sent",
        "replies",
        "positive_replies",
        "meetings",
        "unsubscribed",
        "bounced",
        "bounce_rate_pct",
        "reply_rate_pct",
      ];
      const cells = (x: (typeof r.users)[number] | (typeof r.sequences)[number]) => [
        x.added,
        x.sent,
        x.replies,
        x.positive_replies,
        x.meetings,
        x.unsubscribed,
        x.bounced,
        pct(x.bounce_rate),
        pct(x.reply_rate),
      ];
      const out =
        q.by === "users"
          ? csvLine(["user", "email", ...head]) + r.users.map((u) => csvLine([u.name, u.email, ...cells(u)])).join("")
          : csvLine(["sequence", ...head]) + r.sequences.map((s) => csvLine([s.name, ...cells(s)])).join("");
      return csvDownload(`team-report-${q.by}.csv`, out);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/reports/home",
      tags: ["Reports"],
      summary: "The home dashboard: credits, tasks due, recent replies, running jobs, sequences bouncing too much",
      request: {
        query: z.object({
          time_zone: z
            .string()
            .max(64)
            .refine(isValidTimeZone, "Unknown IANA time zone")
            .default("UTC")
            .openapi({ description: "The viewer's IANA zone: what 'today' means (as on the Tasks page; DST-exact)" }),
        }),
      },
      responses: { 200: json(z.object({ home: HomeSchema })), 422: errorResponses[422] },
    }),
    async (c) => {
      const t = now();
      const day = localDayBounds(t, c.req.valid("query").time_zone);
      return c.json({ home: await homeDashboard(c.var.db, c.get("caller"), t, day) }, 200);
    },
  );
