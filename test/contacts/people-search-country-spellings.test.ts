// The country filter matched the data's spelling only: `countries: ["USA"]` found no one, silently (the
// People screen's picker offers the data's names, but API clients send "USA", "U.S." or "united states").
import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

const tag = newId().slice(0, 8);

beforeAll(async () => {
  const rows: [string, string][] = [
    ["us0", "United States"],
    ["us1", "United States"],
    ["uk0", "United Kingdom"],
    ["de0", "Germany"],
  ];
  await env.DB.batch(
    rows.map(([key, country]) =>
      env.DB.prepare(
        "INSERT INTO people (id, first_name, last_name, title, seniority, department, company, domain, industry, employees, city, country, time_zone, email, email_status, score) VALUES (?, 'Co', ?, 'Buyer', 'manager', 'sales', ?, 'co.test', 'Software', 50, 'Springfield', ?, 'UTC', ?, 'verified', 50)",
      ).bind(`ppl-${tag}-${key}`, key, `Spellings ${tag}`, country, `${key}.${tag}@co.test`),
    ),
  );
});

async function countriesFound(countries: string[]) {
  const x = await addContactsSetup();
  const b = await ok(client(x.s).api.people.search.$post({ json: { countries, companies: [`Spellings ${tag}`], per_page: 100 } }));
  return b.people.map((p) => p.country).sort();
}

describe("people search: the country filter", () => {
  it("finds a country by its usual spellings and codes, as the data's own name does", async () => {
    const us = ["United States", "United States"];
    expect(await countriesFound(["United States"])).toEqual(us);
    for (const spelling of ["USA", "usa", "U.S.", "US", "united states", "United States of America"])
      expect([spelling, await countriesFound([spelling])]).toEqual([spelling, us]);
    expect(await countriesFound(["UK", "Deutschland"])).toEqual(["Germany", "United Kingdom"]);
    // A name it doesn't know still finds no one (the screen's picker offers only the data's names).
    expect(await countriesFound(["Atlantis"])).toEqual([]);
  });
});
