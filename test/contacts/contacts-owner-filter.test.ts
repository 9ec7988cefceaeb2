import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { as, env } from "../helpers";
import { addContactsSetup, makeContacts, makeUser, sessionFor } from "../fixtures";

beforeEach(() => resetClock());

const get = async (s: Awaited<ReturnType<typeof sessionFor>>, path: string) => {
  const res = await as(s, "GET", path);
  expect(res.status).toBe(200);
  return res;
};

describe("contacts: the owner filter", () => {
  it("owner_id=me is the caller's own contacts and owner_id=none the unowned ones, in the list, the ids and the export", async () => {
    const x = await addContactsSetup();
    const other = await makeUser(x.teamId);
    const [mine, theirs, nobodys] = await makeContacts(x.teamId, 3);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(x.userId, mine),
      env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(other, theirs),
      env.DB.prepare("UPDATE contacts SET owner_id = NULL WHERE id = ?").bind(nobodys),
    ]);
    const list = async (owner: string) =>
      ((await (await get(x.s, `/api/contacts?owner_id=${owner}`)).json()) as { contacts: { id: string }[] }).contacts.map((c) => c.id);
    expect(await list("me")).toEqual([mine]);
    expect(await list("none")).toEqual([nobodys]);
    expect(await list(other)).toEqual([theirs]);
    // The other user's "me" is theirs.
    const os = await sessionFor(x.teamId, other);
    expect(
      ((await (await get(os, "/api/contacts?owner_id=me")).json()) as { contacts: { id: string }[] }).contacts.map((c) => c.id),
    ).toEqual([theirs]);
    const ids = (await (await get(x.s, "/api/contacts/ids?owner_id=me")).json()) as { ids: string[]; total: number };
    expect(ids).toMatchObject({ ids: [mine], total: 1 });
    expect(((await (await get(x.s, "/api/contacts/ids?owner_id=none")).json()) as { ids: string[] }).ids).toEqual([nobodys]);
    const csv = await (await get(x.s, "/api/contacts/export?owner_id=me")).text();
    expect(csv.trim().split("\n")).toHaveLength(2);
    expect(csv).toContain(mine);
  });
});
