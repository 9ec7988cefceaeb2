import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { ftsQuery } from "../../worker/services/people-search";
import { client, env, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

/** A company token no seeded person has, so each search sees only the people made here. */
const company = `Qzx${newId().slice(0, 8)}`;
const TITLES = [
  "VP of Sales",
  "Vice President, Sales",
  "Senior Vice President of Sales",
  "Sales Director",
  "Sr. Software Engineer",
  "Senior Software Engineer",
  "Software Engineer",
  "Head of Marketing",
  "Chief Technology Officer",
  "CTO",
  "Director of Engineering",
];
const ids: Record<string, string> = {};

beforeAll(async () => {
  const stmts = TITLES.map((title, i) => {
    const id = `ppl-${company}-${i}`;
    ids[title] = id;
    return env.DB.prepare(
      "INSERT INTO people (id, first_name, last_name, title, seniority, department, company, domain, industry, employees, city, country, time_zone, email, email_status, score) VALUES (?, 'Pat', ?, ?, 'vp', 'sales', ?, 'qzx.test', 'Software', 50, 'Austin', 'United States', 'America/Chicago', ?, 'verified', 50)",
    ).bind(id, `Person${i}`, title, company, `p${i}@qzx.test`);
  });
  await env.DB.batch(stmts);
});

async function search(body: { titles?: string[]; q?: string }) {
  const x = await addContactsSetup();
  const b = await ok(client(x.s).api.people.search.$post({ json: { companies: [company], per_page: 100, ...body } }));
  return b.people.map((p) => p.title).sort();
}

describe("people search: titles and keywords find what people type", () => {
  it("'VP Sales' finds 'VP of Sales', 'Vice President, Sales' and 'Senior Vice President of Sales' (stop words ignored, VP = Vice President)", async () => {
    const want = ["Senior Vice President of Sales", "VP of Sales", "Vice President, Sales"].sort();
    expect(await search({ titles: ["VP Sales"] })).toEqual(want);
    expect(await search({ q: "VP Sales" })).toEqual(want);
    expect(await search({ q: "Vice President of Sales" })).toEqual(want);
  });

  it("matches words in any order", async () => {
    expect(await search({ titles: ["Sales VP"] })).toContain("VP of Sales");
    expect(await search({ q: "sales director" })).toEqual(["Sales Director"]);
    expect(await search({ q: "director sales" })).toEqual(["Sales Director"]);
  });

  it("knows Sr = Senior, CTO = Chief Technology Officer and 'Head of'", async () => {
    expect(await search({ titles: ["Sr Software Engineer"] })).toEqual(["Senior Software Engineer", "Sr. Software Engineer"]);
    expect(await search({ titles: ["Senior Software Engineer"] })).toEqual(["Senior Software Engineer", "Sr. Software Engineer"]);
    expect(await search({ titles: ["CTO"] })).toEqual(["CTO", "Chief Technology Officer"]);
    expect(await search({ q: "chief technology officer" })).toEqual(["CTO", "Chief Technology Officer"]);
    expect(await search({ titles: ["Head Marketing"] })).toEqual(["Head of Marketing"]);
    expect(await search({ titles: ["Head of Marketing"] })).toEqual(["Head of Marketing"]);
  });

  it("several titles are OR'ed; a title made only of stop words or punctuation matches nothing rather than everything", async () => {
    expect(await search({ titles: ["CTO", "Sales Director"] })).toEqual(["CTO", "Chief Technology Officer", "Sales Director"]);
    expect(await search({ titles: ["of the"] })).toEqual([]);
    expect(await search({ titles: ['"*)(OR'] })).toEqual([]);
  });

  it("keywords made only of stop words or punctuation match nothing rather than everyone", async () => {
    for (const q of ["of the", "&", "—"]) expect(await search({ q }), q).toEqual([]);
  });

  it("builds quoted FTS5 terms only: user input can't inject query syntax", () => {
    const q = ftsQuery('vp" OR title:* NEAR(')!;
    expect(q).not.toMatch(/title:/);
    expect(q.replace(/"[^"]*"\*?/g, "").replace(/\b(OR|AND)\b|[()\s]/g, "")).toBe("");
  });
});
