// An add's owner_id names a user of the team, never nobody. Before, an empty owner_id passed the schema
// (a plain string), skipped the owner check (an empty string is falsy) and reached the job, whose
// `owner_id ?? user` kept it: net-new people were saved as contacts owned by ''.
import { beforeEach, describe, expect, it } from "vitest";
import { as, env, errorOf, fieldsOf } from "../helpers";
import { addContactsSetup, startSimulation } from "../fixtures";

const jobsOf = async (teamId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE team_id = ?").bind(teamId).first<{ n: number }>())!.n;

describe("add contacts: owner_id", () => {
  beforeEach(() => startSimulation());

  it("an empty or blank owner_id is a 422 naming owner_id, in the preview and the commit; nothing is written", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const { results } = await env.DB.prepare("SELECT id FROM people WHERE email_status = 'verified' ORDER BY id LIMIT 1").all<{
      id: string;
    }>();
    for (const owner of ["", "   "])
      for (const path of ["add-contacts/preview", "add-contacts"]) {
        const res = await as(x.s, "POST", `/api/sequences/${x.sequenceId}/${path}`, {
          source: { people_ids: results.map((r) => r.id) },
          owner_id: owner,
        });
        expect(res.status).toBe(422);
        expect(fieldsOf(await errorOf(res)).map((f) => f.field)).toEqual(["owner_id"]);
      }
    expect(await jobsOf(x.teamId)).toBe(0);
    expect(
      (await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE team_id = ? AND owner_id = ''")
        .bind(x.teamId)
        .first<{ n: number }>())!.n,
    ).toBe(0);
  });
});
