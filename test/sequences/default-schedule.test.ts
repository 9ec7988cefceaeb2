import { describe, expect, it } from "vitest";
import { makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";

// A sequence without a schedule of its own sends by the team's default (sequence-config.ts); with no
// default it would send at any hour, in UTC. So the default is handed on, never taken away.

async function teamWithDefault() {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const make = async (name: string, is_default: boolean) =>
    (await ok(api.schedules.$post({ json: { name, time_zone: "Europe/Berlin", windows: { "1": [["09:00", "17:00"]] }, is_default } }), 201))
      .schedule;
  const def = await make("Office hours", true);
  const other = await make("Evenings", false);
  // Two sequences follow the default (no schedule of their own), one names "Evenings".
  await makeSequence(teamId, userId, [{}], null);
  await makeSequence(teamId, userId, [{}], null);
  await makeSequence(teamId, userId, [{}], other.id);
  const row = (id: string) =>
    env.DB.prepare("SELECT id, is_default FROM schedules WHERE id = ?").bind(id).first<{ id: string; is_default: number }>();
  const listed = async (id: string) => (await ok(api.schedules.$get())).schedules.find((s) => s.id === id);
  return { api, def, other, row, listed };
}

describe("the team's default schedule", () => {
  it("counts the sequences that follow it as using it", async () => {
    const { def, other, listed } = await teamWithDefault();
    expect((await listed(def.id))!.sequences).toBe(2);
    expect((await listed(other.id))!.sequences).toBe(1);
  });

  it("can't be deleted: 409 saying to make another the default, and it stays the default", async () => {
    const { api, def, row } = await teamWithDefault();
    const err = await errorOf(await api.schedules[":id"].$delete({ param: { id: def.id } }));
    expect(err).toMatchObject({ status: 409, code: "conflict" });
    expect(err.message).toMatch(/default.*Make another schedule the default/);
    expect(await row(def.id)).toEqual({ id: def.id, is_default: 1 });
  });

  it("can't be un-defaulted: 422 on is_default, and it stays the default", async () => {
    const { api, def, row } = await teamWithDefault();
    const err = await errorOf(await api.schedules[":id"].$patch({ param: { id: def.id }, json: { is_default: false } }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("is_default");
    expect(await row(def.id)).toEqual({ id: def.id, is_default: 1 });
  });

  it("is handed on by making another schedule the default; the former one, used by nobody then, can go", async () => {
    const { api, def, other, row, listed } = await teamWithDefault();
    await ok(api.schedules[":id"].$patch({ param: { id: other.id }, json: { is_default: true } }));
    expect(await row(def.id)).toEqual({ id: def.id, is_default: 0 });
    expect((await listed(other.id))!.sequences).toBe(3);
    expect((await listed(def.id))!.sequences).toBe(0);
    await ok(api.schedules[":id"].$delete({ param: { id: def.id } }));
    expect(await row(def.id)).toBeNull();
  });

  it("a schedule a sequence names still can't be deleted (409), and stays", async () => {
    const { api, other, row } = await teamWithDefault();
    const err = await errorOf(await api.schedules[":id"].$delete({ param: { id: other.id } }));
    expect(err).toMatchObject({ status: 409, code: "conflict" });
    expect(err.message).toMatch(/1 sequence/);
    expect(await row(other.id)).toEqual({ id: other.id, is_default: 0 });
  });
});
