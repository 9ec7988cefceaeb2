import { afterEach, describe, expect, it } from "vitest";
import { client, env, ok } from "../helpers";
import { makeContacts, makeList, makeTeam, sessionFor } from "../fixtures";

// Adding contacts to a list reads the list and the contacts, then inserts the memberships. Something
// done in between (a contact deleted, the list deleted) must be seen by the insert: it trusted the ids
// read earlier, so a deleted contact stayed a member (the list's count one too high) and a deleted list
// answered 200, added: 0.

const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
const dbProto = Object.getPrototypeOf(env.DB) as {
  batch: (this: D1Database, s: { statement?: string }[]) => Promise<unknown>;
};
const originals = {
  all: stmtProto.all!,
  raw: stmtProto.raw!,
  run: stmtProto.run!,
  first: stmtProto.first!,
  batch: dbProto.batch,
};
const restore = () => {
  Object.assign(stmtProto, {
    all: originals.all,
    raw: originals.raw,
    run: originals.run,
    first: originals.first,
  });
  dbProto.batch = originals.batch;
};
afterEach(restore);

/** Runs `meanwhile` once, just before the first statement (alone or in a batch) inserting list members. */
function beforeMembersInsert(meanwhile: () => Promise<void>) {
  const hit = (text?: string) => /insert or ignore into list_members/i.test(text ?? "");
  const fire = async () => {
    restore();
    await meanwhile();
  };
  for (const name of ["all", "raw", "run", "first"] as const)
    stmtProto[name] = async function (this: { statement?: string }, ...a: unknown[]) {
      if (hit(this.statement)) await fire();
      return originals[name].apply(this, a);
    };
  dbProto.batch = async function (stmts) {
    if (stmts.some((x) => hit(x.statement))) await fire();
    return originals.batch.call(this, stmts);
  };
}

const deleteContact = (teamId: string, id: string) =>
  env.DB.batch([
    env.DB.prepare("UPDATE contacts SET deleted_at = 1 WHERE id = ? AND team_id = ?").bind(id, teamId),
    env.DB.prepare("DELETE FROM list_members WHERE contact_id = ? AND team_id = ?").bind(id, teamId),
  ]);
const deleteList = (listId: string) =>
  env.DB.batch([
    env.DB.prepare("DELETE FROM list_members WHERE list_id = ?").bind(listId),
    env.DB.prepare("DELETE FROM lists WHERE id = ?").bind(listId),
  ]);
const listState = async (listId: string) => ({
  members: (
    await env.DB.prepare("SELECT contact_id FROM list_members WHERE list_id = ?").bind(listId).all<{ contact_id: string }>()
  ).results
    .map((r) => r.contact_id)
    .sort(),
  count: (await env.DB.prepare("SELECT contact_count AS n FROM lists WHERE id = ?").bind(listId).first<{ n: number }>())?.n ?? null,
});

describe("adding to a list while its contacts or the list change", () => {
  it("POST /lists/:id/members leaves out a contact deleted between the read and the insert", async () => {
    const { teamId, userId } = await makeTeam();
    const ids = await makeContacts(teamId, 3);
    const listId = await makeList(teamId, userId, [], "Race");
    const api = client(await sessionFor(teamId, userId)).api;
    beforeMembersInsert(() => deleteContact(teamId, ids[1]!).then(() => undefined));
    const r = await ok(
      api.lists[":id"].members.$post({
        param: { id: listId },
        json: { contact_ids: ids },
      }),
    );
    expect(r.added).toBe(2);
    expect(await listState(listId)).toEqual({
      members: [ids[0]!, ids[2]!].sort(),
      count: 2,
    });
  });

  it("POST /lists/:id/members answers 404 for a list deleted between the read and the insert", async () => {
    const { teamId, userId } = await makeTeam();
    const ids = await makeContacts(teamId, 2);
    const listId = await makeList(teamId, userId, [], "Gone");
    const api = client(await sessionFor(teamId, userId)).api;
    beforeMembersInsert(() => deleteList(listId).then(() => undefined));
    const res = await api.lists[":id"].members.$post({
      param: { id: listId },
      json: { contact_ids: ids },
    });
    expect(res.status).toBe(404);
    expect(await listState(listId)).toEqual({ members: [], count: null });
  });

  it("the bulk add_to_list action leaves out a deleted contact and answers 404 for a deleted list", async () => {
    const { teamId, userId } = await makeTeam();
    const ids = await makeContacts(teamId, 3);
    const listId = await makeList(teamId, userId, [], "Bulk");
    const api = client(await sessionFor(teamId, userId)).api;
    beforeMembersInsert(() => deleteContact(teamId, ids[0]!).then(() => undefined));
    const r = await ok(
      api.contacts.bulk.$post({
        json: { action: "add_to_list", contact_ids: ids, list_id: listId },
      }),
    );
    expect(r).toMatchObject({ updated: 2, already_in_list: 0 });
    expect(await listState(listId)).toEqual({
      members: [ids[1]!, ids[2]!].sort(),
      count: 2,
    });

    const other = await makeList(teamId, userId, [], "Bulk gone");
    beforeMembersInsert(() => deleteList(other).then(() => undefined));
    const res = await api.contacts.bulk.$post({
      json: {
        action: "add_to_list",
        contact_ids: ids.slice(1),
        list_id: other,
      },
    });
    expect(res.status).toBe(404);
    expect(await listState(other)).toEqual({ members: [], count: null });
  });
});
