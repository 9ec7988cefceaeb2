// The Do Not Contact confirmation says what will happen before the click: POST /contacts/stage/preview counts
// the contacts and the open runs the move would end (their address's other contacts' too), through the
// action's own rights check, for a selection of 1,000 ids (D1 binds at most 100 parameters), writing nothing.
import { beforeEach, describe, expect, it } from "vitest";
import { as, client, env, errorOf, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";

const snapshot = async (teamId: string) => ({
  stages: (await env.DB.prepare("SELECT id, stage_id, updated_at FROM contacts WHERE team_id = ? ORDER BY id").bind(teamId).all()).results,
  runs: (await env.DB.prepare("SELECT id, status, reason FROM enrollments WHERE team_id = ? ORDER BY id").bind(teamId).all()).results,
  audit: await env.DB.prepare("SELECT count(*) n FROM audit_log WHERE team_id = ?").bind(teamId).first("n"),
});

describe("the Do Not Contact preview", () => {
  beforeEach(() => startSimulation());

  it("counts a selection of 1,000 ids and the runs that would end (a twin's too), writes nothing, and matches what the move then does", async () => {
    const { teamId, userId } = await makeTeam();
    const mailbox = await makeMailbox(teamId, userId);
    const one = (await makeSequence(teamId, userId, [{ wait: 5 }], null)).sequenceId;
    const two = (await makeSequence(teamId, userId, [{ wait: 5 }], null)).sequenceId;
    const chosen = await makeContacts(teamId, 999);
    const [twin] = (await makeContacts(teamId, 1)) as [string];
    // The twin shares chosen[998]'s address (another case): Do Not Contact ends its run too.
    await env.DB.prepare("UPDATE contacts SET email = (SELECT upper(email) FROM contacts WHERE id = ?) WHERE id = ?")
      .bind(chosen[998], twin)
      .run();
    await enroll(teamId, one, [chosen[0]!, chosen[1]!, chosen[500]!, twin], [mailbox]);
    await enroll(teamId, two, [chosen[0]!, chosen[998]!], [mailbox]);
    // Another team's contact and a deleted one are not found (and not counted).
    const rival = await makeTeam("Rival");
    const [foreign] = (await makeContacts(rival.teamId, 1)) as [string];
    await env.DB.prepare("UPDATE contacts SET deleted_at = 1 WHERE id = ?").bind(chosen[2]).run();
    const dnc = `${teamId}-dnc`;
    const before = await snapshot(teamId);
    const api = client(await sessionFor(teamId, userId)).api;

    const preview = await ok(api.contacts.stage.preview.$post({ json: { contact_ids: [...chosen, foreign!], stage_id: dnc } }));
    expect(preview).toEqual({
      contacts: 998,
      not_found: expect.arrayContaining([foreign, chosen[2]]),
      runs_ending: 6,
      contacts_with_runs: 5,
      other_contacts: 1,
    });
    expect(preview.not_found).toHaveLength(2);
    expect(await snapshot(teamId)).toEqual(before);

    // The move does what the preview said.
    const done = await ok(api.contacts.bulk.$post({ json: { action: "change_stage", contact_ids: [...chosen, foreign!], stage_id: dnc } }));
    expect(done).toMatchObject({ updated: 998, runs_ended: preview.contacts_with_runs });

    // Another stage ends no run.
    const open = await ok(api.contacts.stage.preview.$post({ json: { contact_ids: chosen.slice(0, 3), stage_id: `${teamId}-cold` } }));
    expect(open).toMatchObject({ contacts: 2, runs_ending: 0, contacts_with_runs: 0 });
  });

  it("refuses a member whose contact runs in a sequence they can't edit, with the action's words, writing nothing; a foreign stage is 404", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, admin, [{ wait: 5 }], null);
    const [inSequence, loose] = (await makeContacts(teamId, 2)) as [string, string];
    await enroll(teamId, sequenceId, [inSequence], [await makeMailbox(teamId, admin)]);
    const ms = await sessionFor(teamId, await makeUser(teamId, "member"));
    const before = await snapshot(teamId);
    const preview = await as(ms, "POST", "/api/contacts/stage/preview", { contact_ids: [inSequence, loose], stage_id: `${teamId}-dnc` });
    expect(await errorOf(preview)).toMatchObject({
      status: 403,
      message: expect.stringMatching(/^1 of these contacts is in a sequence you can't edit; moving them to Do Not Contact/),
    });
    const action = await as(ms, "POST", "/api/contacts/stage", { contact_ids: [inSequence, loose], stage_id: `${teamId}-dnc` });
    expect((await errorOf(action)).message).toBe(
      (await errorOf(await as(ms, "POST", "/api/contacts/stage/preview", { contact_ids: [inSequence, loose], stage_id: `${teamId}-dnc` })))
        .message,
    );
    expect(await snapshot(teamId)).toEqual(before);

    const rival = await makeTeam("Rival");
    const foreignStage = await as(ms, "POST", "/api/contacts/stage/preview", { contact_ids: [loose], stage_id: `${rival.teamId}-dnc` });
    expect(foreignStage.status).toBe(404);
  });
});
