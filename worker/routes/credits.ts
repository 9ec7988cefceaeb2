import { createRoute, z } from "@hono/zod-openapi";
import { now } from "../lib/clock";
import { router } from "../lib/openapi";
import { requirePermission } from "../middleware/auth";
import { json, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { DEFAULT_WATERFALL } from "../services/enrichment";

const DAY = 86_400_000;

const LedgerEntry = z
  .object({ id: z.string(), kind: z.string(), amount: z.number(), balance_after: z.number(), job_id: z.string().nullable(), source: z.string(), provider: z.string().nullable(), note: z.string(), created_at: z.number() })
  .openapi("LedgerEntry");

export const creditRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/credits",
      tags: ["Credits"],
      middleware: [requirePermission("credits.view")],
      summary: "Balance, credits held by running jobs, usage by day and source, and the enrichment waterfall report",
      request: { query: z.object({ days: z.coerce.number().int().min(1).max(365).default(30) }) },
      responses: {
        200: json(
          z.object({
            balance: z.number(),
            held: z.number(),
            usage: z.array(z.object({ day: z.string(), source: z.string(), credits: z.number(), contacts: z.number() })),
            waterfall: z.array(z.object({ provider: z.string(), cost: z.number(), position: z.number(), attempts: z.number(), successes: z.number(), credits: z.number() })),
          }),
        ),
      },
    }),
    async (c) => {
      const teamId = c.get("caller").teamId;
      const since = now() - c.req.valid("query").days * DAY;
      const [bal, held, usage, enrich] = await c.env.DB.batch<any>([
        c.env.DB.prepare("SELECT credit_balance AS b FROM teams WHERE id = ?").bind(teamId),
        c.env.DB.prepare("SELECT coalesce(sum(credits_held - credits_used), 0) AS h FROM jobs WHERE team_id = ? AND status IN ('scheduled','preparing','queued','running')").bind(teamId),
        c.env.DB.prepare(
          `SELECT date(coalesce(finished_at, created_at) / 1000, 'unixepoch') AS day, json_extract(source, '$.kind') AS source,
                  sum(credits_used) AS credits, sum(enrolled) AS contacts
             FROM jobs WHERE team_id = ? AND coalesce(finished_at, created_at) >= ? AND credits_used > 0
            GROUP BY day, source ORDER BY day`,
        ).bind(teamId, since),
        c.env.DB.prepare("SELECT provider, count(*) AS attempts, sum(success) AS successes, sum(cost) AS credits FROM enrichments WHERE team_id = ? AND created_at >= ? GROUP BY provider").bind(teamId, since),
      ]);
      const stats = new Map(enrich!.results.map((r: any) => [r.provider, r]));
      return c.json({
        balance: bal!.results[0]?.b ?? 0,
        held: held!.results[0]?.h ?? 0,
        usage: usage!.results.map((r: any) => ({ day: r.day, source: r.source ?? "other", credits: r.credits, contacts: r.contacts })),
        waterfall: DEFAULT_WATERFALL.map((p, i) => {
          const s = stats.get(p.name) as any;
          return { provider: p.name, cost: p.cost, position: i + 1, attempts: s?.attempts ?? 0, successes: s?.successes ?? 0, credits: s?.credits ?? 0 };
        }),
      }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/credits/ledger",
      tags: ["Credits"],
      middleware: [requirePermission("credits.view")],
      summary: "The append-only credit ledger, newest first",
      request: { query: Pagination },
      responses: { 200: json(z.object({ entries: z.array(LedgerEntry), pagination: PaginationMeta })) },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const teamId = c.get("caller").teamId;
      const [rows, total] = await c.env.DB.batch<any>([
        c.env.DB.prepare("SELECT id, kind, amount, balance_after, job_id, source, provider, note, created_at FROM credit_ledger WHERE team_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?").bind(teamId, q.per_page, (q.page - 1) * q.per_page),
        c.env.DB.prepare("SELECT count(*) AS n FROM credit_ledger WHERE team_id = ?").bind(teamId),
      ]);
      return c.json({ entries: rows!.results, pagination: paginationMeta(q.page, q.per_page, total!.results[0].n) }, 200);
    },
  );
