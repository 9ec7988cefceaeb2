import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { requirePermission } from "../middleware/auth";
import { json, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { creditsSummary, ledgerPage } from "../services/credits";

const LedgerEntry = z
  .object({
    id: z.string(),
    kind: z.string(),
    amount: z.number(),
    balance_after: z.number(),
    job_id: z.string().nullable(),
    job_visible: z.boolean().openapi({ description: "Whether the caller may open the job (its sequence is visible to them)" }),
    source: z.string(),
    provider: z.string().nullable(),
    note: z.string(),
    created_at: z.number(),
  })
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
            waterfall: z.array(
              z.object({
                provider: z.string(),
                cost: z.number(),
                position: z.number(),
                attempts: z.number(),
                successes: z.number(),
                credits: z.number(),
              }),
            ),
          }),
        ),
      },
    }),
    async (c) => c.json(await creditsSummary(c.var.db, c.get("caller").teamId, c.req.valid("query").days), 200),
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
      const { entries, total } = await ledgerPage(c.var.db, c.get("caller"), q.page, q.per_page);
      return c.json({ entries, pagination: paginationMeta(q.page, q.per_page, total) }, 200);
    },
  );
