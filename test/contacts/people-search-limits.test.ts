// The people search's limits are said, never applied silently: keywords past the words it searches
// are refused, not dropped.
import { describe, expect, it } from "vitest";
import { client, errorOf, fieldsOf, login, ok } from "../helpers";

const api = async () => client(await login("admin@demo.test")).api;

describe("people search limits", () => {
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
