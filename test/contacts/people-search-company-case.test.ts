// The company filter matched the name exactly as stored: "brightrock labs" found none of BrightRock
// Labs' people. It is case- and accent-blind now, through an index on the folded name (never a scan).
import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { buildPeopleWhere } from "../../worker/services/people-search";
import { client, env, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

const tag = newId().slice(0, 8);
const BRIGHT = `BrightRock Labs ${tag}`;
const SOCIETE = `Société Générale ${tag}`;
const OTHER = `BrightRock Lab ${tag}`;

beforeAll(async () => {
  const rows = [
    ...Array.from({ length: 3 }, (_, i) => [BRIGHT, `b${i}`]),
    ...Array.from({ length: 2 }, (_, i) => [SOCIETE, `s${i}`]),
    [OTHER, "o0"],
  ];
  await env.DB.batch(
    rows.map(([company, key]) =>
      env.DB.prepare(
        "INSERT INTO people (id, first_name, last_name, title, seniority, department, company, domain, industry, employees, city, country, time_zone, email, email_status, score) VALUES (?, 'Co', ?, 'Buyer', 'manager', 'sales', ?, 'co.test', 'Software', 50, 'Paris', 'France', 'UTC', ?, 'verified', 50)",
      ).bind(`ppl-${tag}-${key}`, key!, company!, `${key}.${tag}@co.test`),
    ),
  );
});

async function companiesFound(typed: string[], more: Record<string, unknown> = {}) {
  const x = await addContactsSetup();
  const b = await ok(client(x.s).api.people.search.$post({ json: { companies: typed, per_page: 100, ...more } }));
  return b.people.map((p) => p.company).sort();
}

describe("people search: the company filter", () => {
  it("finds a company typed in any case, with or without its accents, and only that company", async () => {
    const bright = [BRIGHT, BRIGHT, BRIGHT];
    expect(await companiesFound([BRIGHT.toLowerCase()])).toEqual(bright);
    expect(await companiesFound([BRIGHT.toUpperCase()])).toEqual(bright);
    expect(await companiesFound([BRIGHT])).toEqual(bright);
    expect(await companiesFound([`societe generale ${tag}`])).toEqual([SOCIETE, SOCIETE]);
    expect(await companiesFound([`SOCIÉTÉ GÉNÉRALE ${tag}`, BRIGHT.toLowerCase()])).toEqual([...bright, SOCIETE, SOCIETE].sort());
    // With the other filters as well (D1 parses an expression at most 100 deep).
    expect(
      await companiesFound([`societe generale ${tag}`], {
        q: "buyer",
        titles: ["Buyer"],
        seniorities: ["manager"],
        departments: ["sales"],
        industries: ["Software"],
        countries: ["France"],
        cities: ["paris"],
        email_statuses: ["verified"],
        employee_ranges: ["11,50"],
        score_min: 1,
        score_max: 100,
        saved: "net_new",
      }),
    ).toEqual([SOCIETE, SOCIETE]);
  });

  it("reaches the people through the folded company index, not by reading every person", async () => {
    const { where, params } = buildPeopleWhere({ saved: "any", companies: ["brightrock labs"] }, "team");
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN SELECT p.id FROM people p WHERE ${where}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    expect(plan.join("\n")).toMatch(/people_company_folded_idx/);
    expect(plan.filter((d) => /^SCAN p\b/.test(d))).toEqual([]);
  });
});
