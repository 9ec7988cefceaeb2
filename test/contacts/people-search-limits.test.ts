// The people search's limits are said, never applied silently: pages stop where the API stops
// answering, and keywords past the words it searches are refused, not dropped.
import { describe, expect, it } from "vitest";
import { client, env, errorOf, fieldsOf, login, ok } from "../helpers";

const api = async () => client(await login("admin@demo.test")).api;

describe("people search limits", () => {
  it("offers no page past the 500th: total_pages stops at 500 while total_entries counts every match", async () => {
    const a = await api();
    const people = (await env.DB.prepare("SELECT count(*) n FROM people").first<{ n: number }>())!.n;
    expect(people).toBeGreaterThan(500);
    const first = await ok(a.people.search.$post({ json: { per_page: 1 } }));
    expect(first.pagination).toMatchObject({ page: 1, per_page: 1, total_entries: people, total_pages: 500 });
    const last = await ok(a.people.search.$post({ json: { per_page: 1, page: first.pagination.total_pages } }));
    expect(last.people).toHaveLength(1);
    const past = await errorOf(await a.people.search.$post({ json: { per_page: 1, page: 501 } }));
    expect(past.status).toBe(422);
    // Fewer matches than 500 pages: every page is offered.
    const few = await ok(a.people.search.$post({ json: { per_page: 100, page: 1 } }));
    expect(few.pagination.total_pages).toBe(Math.min(500, Math.ceil(people / 100)));
  });

  it("refuses keywords or a title of more than 12 words, naming the field, and takes 12 (small words aside)", async () => {
    const a = await api();
    const twelve = "one two three four five six seven eight nine ten eleven twelve";
    await ok(a.people.search.$post({ json: { q: twelve } }));
    await ok(a.people.search.$post({ json: { q: `the ${twelve} of` } }));
    const q = await errorOf(await a.people.search.$post({ json: { q: `${twelve} thirteen` } }));
    expect(q).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(q)).toEqual([expect.objectContaining({ field: "q", message: expect.stringMatching(/at most 12 words/) })]);
    const t = await errorOf(await a.people.search.$post({ json: { titles: ["Sales", `${twelve} thirteen`] } }));
    expect(t.status).toBe(422);
    expect(fieldsOf(t)).toEqual([expect.objectContaining({ field: "titles.1", message: expect.stringMatching(/at most 12 words/) })]);
  });
});
