import { describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { makeList, makeTeam, sessionFor } from "../fixtures";
import { client, env, ok } from "../helpers";

// SQLite's lower() folds A–Z only, so the contacts search (and the lists' name search) found no
// "Élodie Müller, Société Générale" for "élodie" in another case, "MÜLLER", "muller" or "societe".
// The search text drops accents in SQL (foldSql), in the search index itself: a contact saved through
// the API and one written straight to the table (as an import, a saved person or a row from before the
// migration) are found alike.

describe("contacts search ignores accents", () => {
  it("finds Élodie Müller of Société Générale by her name and company typed with or without accents, in any case", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const viaApi = (
      await ok(
        api.contacts.$post({ json: { first_name: "Élodie", last_name: "Müller", email: "e.muller@sg.test", company: "Société Générale" } }),
        201,
      )
    ).contact.id;
    const id = newId();
    const t = now();
    await env.DB.prepare(
      "INSERT INTO contacts (id, team_id, first_name, last_name, email, company, created_at, updated_at) VALUES (?, ?, 'ÉLODIE', 'MÜLLER', NULL, 'SOCIÉTÉ GÉNÉRALE', ?, ?)",
    )
      .bind(id, teamId, t, t)
      .run();
    await env.DB.prepare(
      "INSERT INTO contacts (id, team_id, first_name, last_name, email, company, created_at, updated_at) VALUES (?, ?, 'Eloise', 'Miller', NULL, 'Societa', ?, ?)",
    )
      .bind(newId(), teamId, t, t)
      .run();
    const search = async (q: string) => {
      const r = await ok(api.contacts.$get({ query: { q, per_page: "100" } }));
      expect(r.pagination.total_entries, `total of "${q}"`).toBe(r.contacts.length);
      return r.contacts.map((c) => c.id).sort();
    };
    const both = [viaApi, id].sort();
    for (const q of ["élodie", "ELODIE", "Élodie", "müller", "MÜLLER", "muller", "societe", "SOCIÉTÉ génér", "elodie muller"])
      expect(await search(q), q).toEqual(both);
    // Accents are dropped, letters are not: "Eloise Miller" is not "Élodie Müller".
    expect(await search("elod")).toEqual(both);
    expect(await search("müll")).toEqual(both);

    // With every other filter as well (each adds to the expression D1 parses at most 100 deep).
    const stage = await env.DB.prepare("SELECT id FROM contact_stages WHERE team_id = ? LIMIT 1").bind(teamId).first<{ id: string }>();
    await env.DB.prepare("UPDATE contacts SET stage_id = ?, owner_id = ? WHERE team_id = ?").bind(stage!.id, userId, teamId).run();
    const listId = await makeList(teamId, userId, [viaApi, id], "Paris");
    const all = await ok(
      api.contacts.$get({ query: { q: "MULLER", owner_id: userId, stage_id: stage!.id, list_id: listId, sort: "name", per_page: "100" } }),
    );
    expect(all.contacts.map((c) => c.id).sort()).toEqual(both);
    // The field-by-field form (a search holding the fields' joining character) folds too.
    expect(await search("é\u0001")).toEqual([]);
  });

  it("finds a list by its name typed without its accents", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const equipe = await makeList(teamId, userId, [], "Équipe Données");
    await makeList(teamId, userId, [], "Equity");
    for (const q of ["equipe", "ÉQUIPE", "donnees"]) {
      const r = await ok(api.lists.$get({ query: { q } }));
      expect(
        r.lists.map((l) => l.id),
        q,
      ).toEqual([equipe]);
    }
  });
});
