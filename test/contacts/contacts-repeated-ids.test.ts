// The README's limits say an id repeated counts once. The contacts routes counted the list as sent: the same
// contact id 10,001 times was "at most 10,000 items" on the Do Not Contact preview and the bulk actions, and
// 1,001 times on the stage move. Repeats are dropped before the limit; different ids past it still answer 422.
import { beforeEach, describe, expect, it } from "vitest";
import { as, env, errorOf, fieldsOf } from "../helpers";
import { makeContacts, makeTeam, sessionFor, startSimulation } from "../fixtures";

describe("contact id lists count different ids", () => {
  beforeEach(() => startSimulation());

  it("one id 10,001 times is one contact; 10,001 different ids are refused naming the field", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const [id] = (await makeContacts(teamId, 1)) as [string];
    const stage = `${teamId}-dnc`;
    const repeated = Array.from({ length: 10_001 }, () => id);
    const preview = await as(s, "POST", "/api/contacts/stage/preview", { contact_ids: repeated, stage_id: stage });
    expect(preview.status).toBe(200);
    expect(await preview.json()).toMatchObject({ contacts: 1 });
    const move = await as(s, "POST", "/api/contacts/stage", { contact_ids: repeated.slice(0, 1_001), stage_id: stage });
    expect(move.status).toBe(200);
    expect((await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(id).first<{ stage_id: string }>())!.stage_id).toBe(
      stage,
    );

    const different = Array.from({ length: 10_001 }, (_, i) => `c${i}`);
    const err = await errorOf(await as(s, "POST", "/api/contacts/stage/preview", { contact_ids: different, stage_id: stage }));
    expect(err.status).toBe(422);
    expect(fieldsOf(err).map((f) => f.field)).toEqual(["contact_ids"]);
  });

  it("a list's members (add, remove): one id 10,001 times is one contact; 10,001 different ids are refused", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const [id] = (await makeContacts(teamId, 1)) as [string];
    const created = await as(s, "POST", "/api/lists", { name: "Repeats" });
    expect(created.status).toBe(201);
    const { list } = (await created.json()) as { list: { id: string } };
    const members = () =>
      env.DB.prepare("SELECT count(*) AS n FROM list_members WHERE list_id = ?")
        .bind(list.id)
        .first<{ n: number }>()
        .then((r) => r!.n);
    const repeated = Array.from({ length: 10_001 }, () => id);
    const add = await as(s, "POST", `/api/lists/${list.id}/members`, { contact_ids: repeated });
    expect(add.status).toBe(200);
    expect(await add.json()).toEqual({ added: 1, not_found: [] });
    expect(await members()).toBe(1);

    const different = [id, ...Array.from({ length: 10_000 }, (_, i) => `c${i}`)];
    for (const path of ["members", "members/remove"]) {
      const err = await errorOf(await as(s, "POST", `/api/lists/${list.id}/${path}`, { contact_ids: different }));
      expect(err.status).toBe(422);
      expect(fieldsOf(err).map((f) => f.field)).toEqual(["contact_ids"]);
    }
    expect(await members()).toBe(1);
    const remove = await as(s, "POST", `/api/lists/${list.id}/members/remove`, { contact_ids: repeated });
    expect(remove.status).toBe(200);
    expect(await remove.json()).toEqual({ removed: 1 });
    expect(await members()).toBe(0);
  });
});
