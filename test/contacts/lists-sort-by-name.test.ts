import { describe, expect, it } from "vitest";
import { makeContacts, makeList, makeTeam, sessionFor } from "../fixtures";
import { call, client, ok } from "../helpers";
import { masterKey } from "../apollo/apollo-key";

// Lists were ordered by name in binary (lists_team_name_uq): "Zeta" before "alpha", "Équipe" and "Ìtalia"
// after everything. The lists page, a contact's lists and Apollo's labels order them as a person reads them.

const ORDERED = ["alpha", "Beta", "Équipe Données", "equity", "Ìtalia leads", "Şirket", "Zeta"];

describe("lists sorted by name", () => {
  it("order case and accents as a person does, on the lists page, a contact's lists and Apollo's labels", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const [contact] = await makeContacts(teamId, 1);
    const byName = new Map<string, string>();
    // Made in reverse, so neither the order made nor the ids happen to be the name order.
    for (const name of [...ORDERED].reverse()) byName.set(name, await makeList(teamId, userId, [contact!], name));
    const names = (ids: string[]) => ids.map((id) => [...byName].find(([, v]) => v === id)?.[0]);

    const page = await ok(api.lists.$get({ query: { per_page: "100" } }));
    expect(names(page.lists.map((l) => l.id))).toEqual(ORDERED);
    // Page by page, the same order.
    const paged: string[] = [];
    for (const p of ["1", "2", "3"])
      paged.push(...(await ok(api.lists.$get({ query: { page: p, per_page: "3" } }))).lists.map((l) => l.id));
    expect(names(paged)).toEqual(ORDERED);
    // A search keeps the order ("E" is in every name but "alpha", accented or not).
    const some = await ok(api.lists.$get({ query: { q: "E", per_page: "100" } }));
    expect(names(some.lists.map((l) => l.id))).toEqual(ORDERED.filter((n) => /e/i.test(n.normalize("NFKD"))));

    const theirs = await ok(api.contacts[":id"].lists.$get({ param: { id: contact! } }));
    expect(names(theirs.lists.map((l) => l.id))).toEqual(ORDERED);

    const key = await masterKey(teamId, userId);
    const labels = (await (await call(`/apollo/v1/labels?api_key=${key}`)).json()) as { id: string }[];
    expect(names(labels.map((l) => l.id))).toEqual(ORDERED);
  });
});
