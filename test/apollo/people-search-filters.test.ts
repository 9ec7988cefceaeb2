// Apollo's people search applies what it is asked or refuses it, as the native people search does. Before,
// q_organization_name was joined to q_keywords as free text: with many keywords the joined text passed the
// 12 words a search takes and was cut, so the company was dropped and the search answered 200 with people
// of every company. Titles weren't checked against the limit either.
import { describe, expect, it } from "vitest";
import { as, call, env, errorOf, fieldsOf } from "../helpers";
import { sha256Hex } from "../../worker/lib/crypto";
import { addContactsSetup } from "../fixtures";

const search = (key: string, body: unknown) =>
  call("/apollo/api/v1/mixed_people/api_search", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A standard API key of the team's user, stored as an admin's would be. */
async function keysFor(teamId: string, userId: string) {
  const standard = `s-${crypto.randomUUID()}`;
  await env.DB.prepare(
    "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'search', 'standard', ?, ?, 0)",
  )
    .bind(crypto.randomUUID(), teamId, userId, await sha256Hex(standard), standard.slice(0, 9))
    .run();
  return { standard };
}

type Answer = { people: { organization_name: string }[]; contacts: unknown[]; pagination: { total_entries: number } };

/** The company with the most people whose title says sales, and that count. */
async function salesCompany() {
  return (await env.DB.prepare(
    "SELECT company, count(*) AS n FROM people WHERE title LIKE '%sales%' AND company IS NOT NULL GROUP BY company ORDER BY n DESC, company LIMIT 1",
  ).first<{ company: string; n: number }>())!;
}

describe("Apollo people search filters", () => {
  it("keywords past 12 words are refused naming q_keywords, never cut to drop the company", async () => {
    const x = await addContactsSetup();
    const { standard } = await keysFor(x.teamId, x.userId);
    const { company } = await salesCompany();
    const thirteen = "sales manager director head lead senior regional account growth revenue partner channel team";
    const res = await search(standard, { q_keywords: thirteen, q_organization_name: company });
    expect(res.status).toBe(422);
    expect(fieldsOf(await errorOf(res)).map((f) => f.field)).toEqual(["q_keywords"]);
    // The native search says the same about the same words.
    expect((await as(x.s, "POST", "/api/people/search", { q: thirteen, companies: [company] })).status).toBe(422);
  });

  it("a title past 12 words is refused naming person_titles", async () => {
    const x = await addContactsSetup();
    const { standard } = await keysFor(x.teamId, x.userId);
    const res = await search(standard, {
      person_titles: ["VP", "one two three four five six seven eight nine ten eleven twelve thirteen"],
    });
    expect(res.status).toBe(422);
    expect(fieldsOf(await errorOf(res)).map((f) => f.field)).toEqual(["person_titles.1"]);
  });

  it("a company and keywords find that company's people only, as the native search does", async () => {
    const x = await addContactsSetup();
    const { standard } = await keysFor(x.teamId, x.userId);
    const { company } = await salesCompany();
    const res = await search(standard, { q_keywords: "sales", q_organization_name: company, per_page: 100 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Answer;
    const native = (await (await as(x.s, "POST", "/api/people/search", { q: "sales", companies: [company], per_page: 100 })).json()) as {
      pagination: { total_entries: number };
    };
    expect(body.pagination.total_entries).toBeGreaterThan(0);
    expect(body.pagination.total_entries).toBe(native.pagination.total_entries);
    expect(body.people.every((p) => p.organization_name === company)).toBe(true);
    // Twelve keywords and the company (before, the joined text was cut to its first 12 words: the company
    // went, and the search answered the sales people of every company).
    const twelve = await search(standard, { q_keywords: Array(12).fill("sales").join(" "), q_organization_name: company, per_page: 100 });
    expect(twelve.status).toBe(200);
    const wide = (await twelve.json()) as Answer;
    expect(wide.people.every((p) => p.organization_name === company)).toBe(true);
    expect(wide.pagination.total_entries).toBe(body.pagination.total_entries);
  });
});
