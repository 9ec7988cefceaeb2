// Apollo's person_locations are alternatives: a person in any of the places is found. Before, a city and a
// country sent together became a city filter ANDed with a country filter, so `London` and `United States`
// found nobody (no one lives in London and in the United States). The native search keeps its cities and
// countries apart, each ANDed with the rest, as before.
import { describe, expect, it } from "vitest";
import { as, call, env } from "../helpers";
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

  it("the native search still ANDs its cities and countries filters", async () => {
    const x = await addContactsSetup();
    const { city, country } = await cityAndOtherCountry();
    const res = await as(x.s, "POST", "/api/people/search", { cities: [city], countries: [country] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { pagination: { total_entries: number } }).pagination.total_entries).toBe(0);
  });
});
