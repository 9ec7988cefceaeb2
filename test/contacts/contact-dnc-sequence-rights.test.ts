// Moving contacts to Do Not Contact ends their open runs: only in sequences the caller may edit (invariant 9),
// the rule deleting them follows. A member or a standard key whose contacts run in a sequence not shared with
// them is refused, and the run, the stage and the audit are as they were.
import { beforeEach, describe, expect, it } from "vitest";
import { as, client, env, errorOf, ok, withKey } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";

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
const runOf = async (contactId: string) =>
  (await env.DB.prepare("SELECT status FROM enrollments WHERE contact_id = ?").bind(contactId).first<{ status: string }>())!.status;
const stageOf = async (id: string) =>
  (await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(id).first<{ stage_id: string | null }>())!.stage_id;

describe("Do Not Contact and sequences the caller can't edit", () => {
  beforeEach(() => startSimulation());

  it("a member's and a standard key's bulk stage change, stage route and edit are refused (403) and change nothing; the sequence's owner ends the run", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, admin, [{ wait: 5 }], null);
    const [inSequence, loose] = await makeContacts(teamId, 2);
    await enroll(teamId, sequenceId, [inSequence!], [await makeMailbox(teamId, admin)]);
    const member = await makeUser(teamId, "member");
    const ms = await sessionFor(teamId, member);
    const key = await standardKey(teamId, member);
    const dnc = `${teamId}-dnc`;
    const before = await stageOf(inSequence!);
    const attempts = [
      () => as(ms, "POST", "/api/contacts/bulk", { action: "change_stage", contact_ids: [inSequence, loose], stage_id: dnc }),
      () => as(ms, "POST", "/api/contacts/stage", { contact_ids: [inSequence, loose], stage_id: dnc }),
      () => as(ms, "PATCH", `/api/contacts/${inSequence}`, { stage_id: dnc }),
      () => withKey(key, "POST", "/api/contacts/bulk", { action: "change_stage", contact_ids: [inSequence, loose], stage_id: dnc }),
    ];
    for (const attempt of attempts) {
      const e = await errorOf(await attempt());
      expect(e).toMatchObject({
        status: 403,
        message: expect.stringMatching(/^1 of these contacts is in a sequence you can't edit; moving them to Do Not Contact/),
      });
    }
    expect(await runOf(inSequence!)).toBe("active");
    expect(await stageOf(inSequence!)).toBe(before);
    expect(await stageOf(loose!)).toBe(before);
    expect(
      await env.DB.prepare("SELECT count(*) n FROM audit_log WHERE team_id = ? AND action = 'contact.stage'").bind(teamId).first("n"),
    ).toBe(0);

    // The sequence's owner may: the run ends, and the answer says how many contacts' runs it ended.
    const api = client(await sessionFor(teamId, admin)).api;
    const done = await ok(api.contacts.bulk.$post({ json: { action: "change_stage", contact_ids: [inSequence!, loose!], stage_id: dnc } }));
    expect(done).toMatchObject({ updated: 2, runs_ended: 1 });
    expect(await runOf(inSequence!)).toBe("finished");
    expect(await stageOf(inSequence!)).toBe(dnc);
  });

  it("when only another contact with the same address is in a sequence the caller can't edit, the refusal says so, not that the chosen one is", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, admin, [{ wait: 5 }], null);
    const [twin, chosen] = await makeContacts(teamId, 2);
    await env.DB.prepare("UPDATE contacts SET email = (SELECT upper(email) FROM contacts WHERE id = ?) WHERE id = ?")
      .bind(twin, chosen)
      .run();
    await enroll(teamId, sequenceId, [twin!], [await makeMailbox(teamId, admin)]);
    const ms = await sessionFor(teamId, await makeUser(teamId, "member"));
    const dnc = `${teamId}-dnc`;
    for (const attempt of [
      () => as(ms, "PATCH", `/api/contacts/${chosen}`, { stage_id: dnc }),
      () => as(ms, "POST", "/api/contacts/stage", { contact_ids: [chosen], stage_id: dnc }),
    ]) {
      const e = await errorOf(await attempt());
      expect(e.status).toBe(403);
      expect(e.message).toBe(
        "Another contact with the same address is in a sequence you can't edit; moving them to Do Not Contact would take it out of it too (Do Not Contact holds for the address). Ask the sequence's owner or an admin.",
      );
    }
    expect(await runOf(twin!)).toBe("active");
  });
});
