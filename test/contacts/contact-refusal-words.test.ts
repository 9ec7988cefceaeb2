import { describe, expect, it } from "vitest";
import { as, env, errorOf, withKey } from "../helpers";
import { makeContacts, makeTeam, makeUser, sessionFor } from "../fixtures";

async function standardKey(teamId: string, userId: string) {
  const { sha256Hex } = await import("../../worker/lib/crypto");
  const key = `s-${crypto.randomUUID()}`;
  await env.DB.prepare(
    "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'std', 'standard', ?, ?, 0)",
  )
    .bind(crypto.randomUUID(), teamId, userId, await sha256Hex(key), key.slice(0, 9))
    .run();
  return key;
}
const ownerOf = async (id: string) =>
  (await env.DB.prepare("SELECT owner_id FROM contacts WHERE id = ?").bind(id).first<{ owner_id: string | null }>())!.owner_id;

describe("contact refusals say why", () => {
  it("a standard key changing a contact's owner is told standard keys can't, even on its creator's own contact", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const member = await makeUser(teamId, "member");
    const key = await standardKey(teamId, admin);
    const [c] = await makeContacts(teamId, 1);
    await env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(admin, c).run();
    const patch = await errorOf(await withKey(key, "PATCH", `/api/contacts/${c}`, { owner_id: member }));
    expect(patch).toMatchObject({ status: 403 });
    expect(patch.message).toBe("A standard API key can't change a contact's owner; use a master key or sign in");
    const bulk = (await (
      await withKey(key, "POST", "/api/contacts/bulk", { action: "change_owner", contact_ids: [c], owner_id: member })
    ).json()) as { refused: { message: string }[] };
    expect(bulk.refused.map((r) => r.message)).toEqual(["A standard API key can't change a contact's owner; use a master key or sign in"]);
    expect(await ownerOf(c!)).toBe(admin);
  });

  it("another team's stage_id is a 404, as other foreign ids, and changes nothing", async () => {
    const a = await makeTeam();
    const b = await makeTeam();
    const s = await sessionFor(a.teamId, a.userId);
    const [c] = await makeContacts(a.teamId, 1);
    const stageOf = async () =>
      (await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(c).first<{ stage_id: string }>())!.stage_id;
    const was = await stageOf();
    const foreign = `${b.teamId}-dnc`;
    for (const [method, path, body] of [
      ["PATCH", `/api/contacts/${c}`, { stage_id: foreign }],
      ["POST", "/api/contacts/bulk", { action: "change_stage", contact_ids: [c], stage_id: foreign }],
      ["POST", "/api/contacts/stage", { contact_ids: [c], stage_id: foreign }],
      ["POST", "/api/contacts", { first_name: "N", email: "n@x.test", stage_id: foreign }],
    ] as const) {
      const e = await errorOf(await as(s, method, path, body));
      expect(e, `${method} ${path}`).toMatchObject({ status: 404, code: "not_found" });
    }
    expect(await stageOf()).toBe(was);
    expect(await env.DB.prepare("SELECT count(*) n FROM contacts WHERE team_id = ? AND email = 'n@x.test'").bind(a.teamId).first("n")).toBe(
      0,
    );
  });
});
