import { describe, expect, it } from "vitest";
import { DEMO } from "../../worker/seed/demo";
import { buildPeopleWhere, walksScoreIndex, type PeopleFilters } from "../../worker/services/people-search";
import { client, env, login, ok } from "../helpers";

// A people-search page in score order is read one of two ways (services/people-search.ts): every match
// sorted, or, once the filter's total is known, the score index walked down to the page. Whichever
// way, each page holds the same people in the same order: score, then id.

const FILTERS: Omit<PeopleFilters, "saved">[] = [
  { titles: ["Manager"] },
  { q: "sales" },
  { titles: ["Engineer"], seniorities: ["senior", "manager", "director"] },
  { email_statuses: ["verified"] },
  { titles: ["Chief Technology Officer"] },
];

async function sortedPage(f: PeopleFilters, page: number, perPage: number) {
  const { where, params } = buildPeopleWhere(f, DEMO.team);
  const rows = await env.DB.prepare(
    `SELECT p.id FROM people p WHERE ${where} ORDER BY p.score DESC, p.id LIMIT ?${params.length + 1} OFFSET ?${params.length + 2}`,
  )
    .bind(...params, perPage, (page - 1) * perPage)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

describe("people search pages in score order", () => {
  it("hold the same people in the same order whether the page is sorted or walked from the score index", async () => {
    const api = client(await login("admin@demo.test")).api;
    for (const filter of FILTERS) {
      const f: PeopleFilters = { saved: "any", ...filter };
      // The first pass counts the total (pages sorted); the second reads with the total known.
      for (let pass = 0; pass < 2; pass++) {
        for (let page = 1; page <= 4; page++) {
          const got = await ok(api.people.search.$post({ json: { ...filter, page, per_page: 10 } }));
          expect(
            got.people.map((p) => p.id),
            `${JSON.stringify(filter)} page ${page} pass ${pass}`,
          ).toEqual(await sortedPage(f, page, 10));
        }
      }
    }
  });

  it("walks only when the page is reached after a fraction of the index: a rare filter is sorted", () => {
    const people = 200_000;
    expect(walksScoreIndex({ saved: "any", titles: ["CEO"] }, 6_000, people, 125)).toBe(true);
    expect(walksScoreIndex({ saved: "any", titles: ["Chief Revenue Officer"] }, 40, people, 25)).toBe(false);
    expect(walksScoreIndex({ saved: "any", titles: ["CEO"] }, 0, people, 25)).toBe(false);
    // Another filter reads each row walked: walking must meet fewer rows than there are matches.
    expect(walksScoreIndex({ saved: "any", email_statuses: ["verified"] }, 100_000, people, 100)).toBe(true);
    expect(walksScoreIndex({ saved: "any", email_statuses: ["verified"], titles: ["CEO"] }, 1_000, people, 100)).toBe(false);
  });
});
