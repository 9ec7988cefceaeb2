// Apollo's nested form `name[sub]=v` wrote `out[name] = {sub: v}` on a plain object: with name `__proto__`
// that set the object's prototype instead of a field, so `?__proto__[q_organization_domains]=acme.com` hid an
// unsupported filter from the strict check (the search then answered for more than was asked) and smuggled
// `page` past the empty-value cleanup. And `x=abc&x[]=d` spread the string into ["a","b","c","d"].
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup } from "../fixtures";
import { call, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const get = (key: string, path: string) => call(`${BASE}${path}`, { headers: { "x-api-key": key } });

beforeEach(() => resetClock());

describe("Apollo parameters named __proto__", () => {
  it("are fields like any other: an unsupported filter under that name is refused, not silently dropped", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const err = await errorOf(await get(key, "/mixed_people/api_search?__proto__[q_organization_domains]=acme.com&per_page=5"));
    expect(err.status).toBe(422);
    expect(fieldsOf(err).map((f) => f.field)).toEqual(["__proto__"]);
  });

  it("a scalar then the same name as an array keeps the scalar whole", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const res = await get(key, "/mixed_people/api_search?person_titles=VP%20of%20Sales&person_titles[]=CEO");
    expect(res.status).toBe(200);
    const both = (await res.json()) as { pagination: { total_entries: number } };
    const one = (await (await get(key, "/mixed_people/api_search?person_titles[]=VP%20of%20Sales&person_titles[]=CEO")).json()) as {
      pagination: { total_entries: number };
    };
    expect(both.pagination.total_entries).toBe(one.pagination.total_entries);
  });
});
