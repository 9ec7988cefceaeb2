import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, Id, json, jsonBody, PaginationMeta, paginationMeta } from "../lib/schemas";
import { maskEmail, peopleFacets, PEOPLE_SORTS, PeopleFilters, searchPeople } from "../services/people-search";
import { MAX_SAVE, savePeopleToList } from "../services/save-to-list";

const PersonSchema = z
  .object({
    id: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    title: z.string(),
    seniority: z.string(),
    department: z.string(),
    company: z.string(),
    domain: z.string(),
    industry: z.string(),
    employees: z.number(),
    city: z.string(),
    country: z.string(),
    time_zone: z.string(),
    email: z.string().nullable().openapi({ description: "Masked (a•••@domain) until the person is saved as a contact" }),
    email_status: z.string(),
    score: z.number(),
    linkedin_url: z.string().nullable(),
    job_changed_at: z.number().nullable(),
    contact_id: z.string().nullable().openapi({ description: "Set when your team has already saved this person" }),
    sequences: z.array(z.object({ id: z.string(), name: z.string() })).openapi({
      description:
        "For a person your team has saved: the sequences their contact is in now (scheduled, active, paused or held), those you may see, by name; [] otherwise",
    }),
  })
  .openapi("Person");

/** The last page a search can read: past it the search must be narrowed. */
export const MAX_PEOPLE_PAGE = 500;

// safeExtend keeps PeopleFilters' own checks (its score range).
export const PeopleSearchBody = PeopleFilters.safeExtend({
  sort: z.enum(PEOPLE_SORTS).default("score"),
  page: z.number().int().min(1).max(MAX_PEOPLE_PAGE).default(1),
  per_page: z.number().int().min(1).max(100).default(25),
}).openapi("PeopleSearch");

const SaveToList = z
  .object({
    people_ids: z
      .array(Id)
      .min(1)
      .max(MAX_SAVE)
      .openapi({ description: `People checked in the search (at most ${MAX_SAVE})` }),
    list_id: Id.optional().openapi({ description: "An existing list of your team" }),
    list_name: z.string().trim().min(1).max(120).optional().openapi({ description: "Or a list by name, created when missing" }),
  })
  .refine((b) => !!b.list_id !== !!b.list_name, { message: "Pick a list, or name a new one (not both)", path: ["list_id"] })
  .openapi("SaveToList");

const SaveResultSchema = z
  .object({
    list: z.object({ id: z.string(), name: z.string() }),
    saved: z.number().openapi({ description: "People saved as new contacts now" }),
    already_saved: z.number().openapi({
      description:
        "People your team had saved already (same person or same email), or sharing the email of a person saved now (one contact, charged once): added to the list at no charge",
    }),
    skipped: z
      .array(z.object({ person_id: z.string(), reasons: z.array(z.enum(["suppressed", "not_found", "insufficient_credits"])) }))
      .openapi({ description: "People not saved, each with why" }),
    credits_charged: z.number().openapi({ description: "1 per net-new person saved with a verified email" }),
    job_id: z.string().nullable(),
    contact_ids: z.array(z.string()).openapi({ description: "The contacts now in the list from this request" }),
  })
  .openapi("SaveToListResult");

const Facet = z.array(z.object({ value: z.string(), count: z.number() }));

export const peopleRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/people/facets",
      tags: ["People"],
      summary: "The values the people filters take (seniorities, departments, industries, countries, email statuses), with counts",
      responses: {
        200: json(z.object({ seniorities: Facet, departments: Facet, industries: Facet, countries: Facet, email_statuses: Facet })),
      },
    }),
    async (c) => {
      const facets = await peopleFacets(c.var.db);
      // The prospect database changes rarely: browsers may keep this for an hour.
      c.header("cache-control", "private, max-age=3600");
      return c.json(facets, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/people/search",
      tags: ["People"],
      summary: "Prospect Searcher: filter the people database; each result says whether it is already a contact",
      request: { body: jsonBody(PeopleSearchBody) },
      responses: { 200: json(z.object({ people: z.array(PersonSchema), pagination: PaginationMeta })), 422: errorResponses[422] },
    }),
    async (c) => {
      const { sort, page, per_page, ...filters } = c.req.valid("json");
      const caller = c.get("caller");
      const r = await searchPeople(c.var.db, caller.teamId, filters, sort, page, per_page, caller);
      // A net-new person's address is revealed when they are saved (that is what a credit buys).
      const people = r.people.map((p) => (p.contact_id || !p.email ? p : { ...p, email: maskEmail(p.email) }));
      // Pages past MAX_PEOPLE_PAGE are refused, so they are not offered: total_pages stops there (total_entries doesn't).
      const meta = paginationMeta(page, per_page, r.total);
      return c.json({ people, pagination: { ...meta, total_pages: Math.min(meta.total_pages, MAX_PEOPLE_PAGE) } }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/people/save",
      tags: ["People"],
      summary:
        "Save to list (no sequence): checked people become contacts (net-new verified ones cost 1 credit, once; suppressed ones are skipped) and join a list",
      request: { body: jsonBody(SaveToList) },
      responses: { 200: json(SaveResultSchema), 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const { people_ids, ...target } = c.req.valid("json");
      return c.json(await savePeopleToList(c.var.db, c.get("caller"), people_ids, target), 200);
    },
  );
