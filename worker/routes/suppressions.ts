import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, json, jsonBody, Pagination, PaginationMeta, paginationMeta } from "../lib/schemas";
import { requirePermission } from "../middleware/auth";
import { addSuppressions, liftSuppression, listSuppressions, SUPPRESSION_WORDS, type SuppressionReason } from "../services/suppressions";

// The team's "Do not email" list (admins): addresses never emailed again, whatever contact has them.

const REASONS = Object.keys(SUPPRESSION_WORDS) as [SuppressionReason, ...SuppressionReason[]];

const SuppressionSchema = z
  .object({
    email: z.string().openapi({ description: "The address, or for a whole domain '@' + the domain (@example.com)" }),
    kind: z.enum(["domain", "email"]).openapi({
      description: "domain: every address at exactly that domain (not its subdomains); email: one address",
    }),
    reason: z.enum(REASONS).openapi({
      description: "unsubscribed, complaint (reported as spam), bounced, dnc (a deleted Do Not Contact contact), manual (added here)",
    }),
    source: z.string().openapi({
      description:
        "Where it came from: manual (added here), dsn (a bounce report), reply, one_click (the unsubscribe link), or the deletion of a contact",
    }),
    created_at: z.number(),
  })
  .openapi("Suppression");

const Address = z.string().trim().toLowerCase().email().max(254);

/** A hostname as a blocked domain is given: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => !v.includes("@"), "Give the domain without @, as in example.com")
  .refine((v) => v.includes("@") || HOSTNAME.test(v), "Give a domain name, as in example.com")
  .openapi({ description: "A whole domain, as in example.com: every address at it (not its subdomains) is never emailed" });

/** What DELETE names: an address, or '@' + a blocked domain. */
const Entry = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .refine(
    (v) => (v.startsWith("@") ? HOSTNAME.test(v.slice(1)) : z.email().safeParse(v).success),
    "Give a suppressed address, or @ and a blocked domain (@example.com)",
  );

const guard = [requirePermission("suppressions.manage", "Only team admins can see and change the Do not email list")];

export const suppressionRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/suppressions",
      tags: ["Suppressions"],
      summary: "The team's suppressed addresses (never emailed), newest first, a page at a time (admins)",
      middleware: guard,
      request: {
        query: Pagination.extend({ q: z.string().trim().max(254).optional().openapi({ description: "Only addresses containing this" }) }),
      },
      responses: {
        200: json(z.object({ suppressions: z.array(SuppressionSchema), pagination: PaginationMeta })),
        403: errorResponses[403],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const r = await listSuppressions(c.var.db, c.get("caller").teamId, q.q, q.page, q.per_page);
      return c.json({ suppressions: r.suppressions, pagination: paginationMeta(q.page, q.per_page, r.total) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/suppressions",
      tags: ["Suppressions"],
      summary: "Suppress addresses or a whole domain by hand (admins): they are skipped when added to a sequence and never emailed",
      description:
        "Give emails, a domain, or both. A domain is stored as @example.com and covers every address at exactly that domain (a@mail.example.com is not covered by @example.com). An address already suppressed keeps its reason. The answer lists every given entry as it is now.",
      middleware: guard,
      request: {
        body: jsonBody(
          z
            .object({ emails: z.array(Address).min(1).max(1_000).optional(), domain: Domain.optional() })
            .refine((b) => b.emails || b.domain, { message: "Give emails or a domain", path: ["emails"] }),
        ),
      },
      responses: {
        200: json(z.object({ added: z.number(), suppressions: z.array(SuppressionSchema) })),
        403: errorResponses[403],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const b = c.req.valid("json");
      return c.json(await addSuppressions(c.var.db, c.get("caller"), b.emails ?? [], b.domain ? [b.domain] : []), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/suppressions/{email}",
      tags: ["Suppressions"],
      summary: "Lift a suppression (admins): the address, or every address at a blocked domain (@example.com), may be emailed again",
      description:
        "A blocked domain is named as @example.com. A bounce or a manual entry is lifted as asked. An unsubscribe or a spam complaint was the person's choice: lifting it needs confirm=true (they asked to hear from you again); without it the answer is 422 naming confirm. The team's contacts with the address lose the bounced or unsubscribed mark.",
      middleware: guard,
      request: {
        params: z.object({ email: Entry }),
        query: z.object({
          confirm: z
            .enum(["true", "false"])
            .optional()
            .openapi({ description: "true: lift an unsubscribe or complaint (the person gave consent again)" }),
        }),
      },
      responses: {
        200: json(z.object({ lifted: SuppressionSchema })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const confirm = c.req.valid("query").confirm === "true";
      return c.json({ lifted: await liftSuppression(c.var.db, c.get("caller"), c.req.valid("param").email, confirm) }, 200);
    },
  );
