// Apollo's person_locations are alternatives: a person in any of the places is found. Before, a city and a
// country sent together became a city filter ANDed with a country filter, so `London` and `United States`
// found nobody (no one lives in London and in the United States). The native search keeps its cities and
// countries apart, each ANDed with the rest, as before.
import { describe, expect, it } from "vitest";
import { as, call, env, errorOf, fieldsOf } from "../helpers";
import { addContactsSetup } from "../fixtures";
import { masterKey } from "./apollo-key";

type Answer = { people: { city: string; country: string }[]; contacts: unknown[]; pagination: { total_entries: number } };

const search = (key: string, body: unknown) =>
  call("/apollo/api/v1/mixed_people/api_search", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A city, its people, and a country none of them is in, with its people. */
async function cityAndOtherCountry() {
  const city = (await env.DB.prepare(
    "SELECT city, country, count(*) AS n FROM people WHERE city <> '' GROUP BY city, country ORDER BY n DESC LIMIT 1",
  ).first<{ city: string; country: string; n: number }>())!;
  const other = (await env.DB.prepare(
    "SELECT country, count(*) AS n FROM people WHERE country <> ?1 AND country NOT IN (SELECT country FROM people WHERE city = ?2) GROUP BY country ORDER BY n DESC LIMIT 1",
  )
    .bind(city.country, city.city)
    .first<{ country: string; n: number }>())!;
  const inCity = (await env.DB.prepare("SELECT count(*) AS n FROM people WHERE lower(city) = lower(?)")
    .bind(city.city)
    .first<{ n: number }>())!.n;
  return { city: city.city, inCity, country: other.country, inCountry: other.n };
}

describe("Apollo people search locations", () => {
  it("a city and a country find the people of either, the sum of both", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const { city, inCity, country, inCountry } = await cityAndOtherCountry();
    expect(inCity).toBeGreaterThan(0);
    expect(inCountry).toBeGreaterThan(0);
    const res = await search(key, { person_locations: [city, country], per_page: 100 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Answer;
    expect(body.pagination.total_entries).toBe(inCity + inCountry);
    const shown = body.people.length + body.contacts.length;
    expect(shown).toBe(Math.min(100, inCity + inCountry));
    expect(body.people.every((p) => p.city === city || p.country === country)).toBe(true);
    // Each alone finds its own people.
    const cityOnly = (await (await search(key, { person_locations: [city] })).json()) as Answer;
    expect(cityOnly.pagination.total_entries).toBe(inCity);
    const countryOnly = (await (await search(key, { person_locations: [country] })).json()) as Answer;
    expect(countryOnly.pagination.total_entries).toBe(inCountry);
  });

  it('takes Apollo\'s written forms: a country\'s short names, "City, ST", "City, Country" and "City, State, Country"', async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const count = async (where: string, ...args: string[]) =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM people WHERE ${where}`)
        .bind(...args)
        .first<{ n: number }>())!.n;
    const us = await count("country = 'United States'");
    const sf = await count("city = 'San Francisco' AND country = 'United States'");
    const london = await count("city = 'London' AND country = 'United Kingdom'");
    const berlin = await count("city = 'Berlin' AND country = 'Germany'");
    expect(Math.min(us, sf, london, berlin)).toBeGreaterThan(0);
    expect(sf).toBeLessThan(us);
    const total = async (locations: string[]) => {
      const res = await search(key, { person_locations: locations, per_page: 100 });
      expect(res.status, `${locations.join(" | ")}: ${await res.clone().text()}`).toBe(200);
      return ((await res.json()) as Answer).pagination.total_entries;
    };
    for (const v of ["US", "USA", "U.S.", "united states", "United States of America"]) expect(await total([v]), v).toBe(us);
    for (const v of ["San Francisco, CA", "San Francisco, California", "San Francisco, California, US", "san francisco, ca, usa"])
      expect(await total([v]), v).toBe(sf);
    expect(await total(["London, UK"])).toBe(london);
    expect(await total(["Berlin, Germany"])).toBe(berlin);
    // Alternatives, as before: the people of either.
    expect(await total(["San Francisco, CA", "London, UK"])).toBe(sf + london);
    // A city in another country than its own finds no one: the pair is kept together.
    expect(await total(["Berlin, United Kingdom"])).toBe(0);
    const people = ((await (await search(key, { person_locations: ["San Francisco, CA"], per_page: 100 })).json()) as Answer).people;
    expect(people.length).toBeGreaterThan(0);
    expect(people.every((p) => p.city === "San Francisco" && p.country === "United States")).toBe(true);
  });

  it("refuses a state alone, naming person_locations and the value: people have no state, so it found no one silently", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    for (const v of ["California", "California, US", "CA", "Austin, Nowhere, US", "a, b, c, d"]) {
      const res = await search(key, { person_locations: ["Berlin", v] });
      expect(res.status, v).toBe(422);
      const [problem] = fieldsOf(await errorOf(res));
      expect(problem!.field, v).toBe("person_locations");
      expect(problem!.message, v).toContain(`"${v}"`);
    }
  });

  it('reads a province, UK nation or region as its country ("Toronto, ON"), and a country in any case ("germany")', async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const count = async (where: string) =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM people WHERE ${where}`).first<{ n: number }>())!.n;
    const toronto = await count("city = 'Toronto' AND country = 'Canada'");
    const london = await count("city = 'London' AND country = 'United Kingdom'");
    const munich = await count("city = 'Munich' AND country = 'Germany'");
    const germany = await count("country = 'Germany'");
    expect(Math.min(toronto, london, munich, germany)).toBeGreaterThan(0);
    expect(munich).toBeLessThan(germany);
    const total = async (locations: string[]) => {
      const res = await search(key, { person_locations: locations, per_page: 100 });
      expect(res.status, `${locations.join(" | ")}: ${await res.clone().text()}`).toBe(200);
      return ((await res.json()) as Answer).pagination.total_entries;
    };
    for (const v of ["Toronto, ON", "Toronto, Ontario", "toronto, on, canada", "Toronto, Canada"])
      expect(await total([v]), v).toBe(toronto);
    for (const v of ["London, England", "London, england", "London, United Kingdom"]) expect(await total([v]), v).toBe(london);
    for (const v of ["Munich, Bavaria", "Munich, Bavaria, Germany", "Munich, germany"]) expect(await total([v]), v).toBe(munich);
    for (const v of ["germany", "GERMANY", "Germany"]) expect(await total([v]), v).toBe(germany);
    const people = ((await (await search(key, { person_locations: ["germany"], per_page: 100 })).json()) as Answer).people;
    expect(people.length).toBeGreaterThan(0);
    expect(people.every((p) => p.country === "Germany")).toBe(true);
  });

  it("refuses a country part it doesn't know and a state or region alone, naming person_locations: each found no one silently", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    for (const [v, why] of [
      ["Georgia, US", "not a state"],
      ["Berlin, Germanyy", '"Germanyy" is not a country'],
      ["Paris, Nowhere, Francee", '"Francee" is not a country'],
      ["Ontario", "not a region"],
      ["England, UK", "not a region"],
    ] as const) {
      const res = await search(key, { person_locations: ["Berlin", v] });
      expect(res.status, v).toBe(422);
      const [problem] = fieldsOf(await errorOf(res));
      expect(problem!.field, v).toBe("person_locations");
      expect(problem!.message, v).toContain(`"${v}"`);
      expect(problem!.message, v).toContain(why);
    }
  });

  it("the native search still ANDs its cities and countries filters", async () => {
    const x = await addContactsSetup();
    const { city, country } = await cityAndOtherCountry();
    const res = await as(x.s, "POST", "/api/people/search", { cities: [city], countries: [country] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { pagination: { total_entries: number } }).pagination.total_entries).toBe(0);
  });
});
