// Cities are typed, not picked: the city filter finds a city whatever case it is typed in, whole
// cities only, through the full-text index.
import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { buildPeopleWhere } from "../../worker/services/people-search";
import { client, env, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

const company = `Qcy${newId().slice(0, 8)}`;
const CITIES = ["Berlin", "New York", "West New York", "São Paulo"];

beforeAll(async () => {
  await env.DB.batch(
    CITIES.map((city, i) =>
      env.DB.prepare(
        "INSERT INTO people (id, first_name, last_name, title, seniority, department, company, domain, industry, employees, city, country, time_zone, email, email_status, score) VALUES (?, 'Cy', ?, 'Buyer', 'manager', 'sales', ?, 'qcy.test', 'Software', 50, ?, 'Somewhere', 'UTC', ?, 'verified', 50)",
      ).bind(`ppl-${company}-${i}`, `City${i}`, company, city, `c${i}@qcy.test`),
    ),
  );
});

async function cities(typed: string[]) {
  const x = await addContactsSetup();
  const b = await ok(client(x.s).api.people.search.$post({ json: { companies: [company], cities: typed, per_page: 100 } }));
  return b.people.map((p) => p.city).sort();
}

describe("people search: the city filter", () => {
  it("finds a city typed in any case, and only whole cities", async () => {
    expect(await cities(["berlin"])).toEqual(["Berlin"]);
    expect(await cities(["BERLIN"])).toEqual(["Berlin"]);
    expect(await cities(["Berlin"])).toEqual(["Berlin"]);
    expect(await cities(["new york"])).toEqual(["New York"]);
    expect(await cities(["berlin", "New york", "são paulo"])).toEqual(["Berlin", "New York", "São Paulo"]);
    expect(await cities(["york"])).toEqual([]);
    expect(await cities(["-"])).toEqual([]);
  });

  it("reaches the people through the full-text index, not by reading every person", async () => {
    const { where, params } = buildPeopleWhere({ saved: "any", cities: ["berlin"] }, "team");
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN SELECT p.id FROM people p WHERE ${where}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    expect(plan.join("\n")).toMatch(/people_fts VIRTUAL TABLE INDEX/);
    expect(plan.filter((d) => /^SCAN p\b/.test(d))).toEqual([]);
  });
});
