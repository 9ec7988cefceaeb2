// An Apollo search offers only the pages it answers: pages past 500 are a 422, so total_pages stops at 500
// (total_entries still says how many match). Before, 2,000 matches at 1 a page said 2,000 pages, and a
// client walking them met a 422 at page 501.
import { describe, expect, it } from "vitest";
import { call, env, errorOf, fieldsOf } from "../helpers";
import { addContactsSetup } from "../fixtures";
import { masterKey } from "./apollo-key";

type Answer = { pagination: { page: number; per_page: number; total_entries: number; total_pages: number } };

const search = (key: string, body: unknown) =>
  call("/apollo/api/v1/mixed_people/search", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("Apollo search pages", () => {
  it("total_pages stops at the last page the search answers", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const everyone = (await env.DB.prepare("SELECT count(*) AS n FROM people").first<{ n: number }>())!.n;
    expect(everyone).toBeGreaterThan(500);
    const res = await search(key, { per_page: 1 });
    expect(res.status).toBe(200);
    const { pagination } = (await res.json()) as Answer;
    expect(pagination).toEqual({ page: 1, per_page: 1, total_entries: everyone, total_pages: 500 });
    // The last page offered is answered; the one after is refused, naming page.
    const last = await search(key, { per_page: 1, page: pagination.total_pages });
    expect(last.status).toBe(200);
    expect(((await last.json()) as Answer).pagination.page).toBe(500);
    const past = await search(key, { per_page: 1, page: pagination.total_pages + 1 });
    expect(past.status).toBe(422);
    expect(fieldsOf(await errorOf(past)).map((f) => f.field)).toEqual(["page"]);
  });

  it("a search with fewer matches than 500 pages says its own count", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const everyone = (await env.DB.prepare("SELECT count(*) AS n FROM people").first<{ n: number }>())!.n;
    const { pagination } = (await (await search(key, { per_page: 100 })).json()) as Answer;
    expect(pagination.total_pages).toBe(Math.ceil(everyone / 100));
  });
});
