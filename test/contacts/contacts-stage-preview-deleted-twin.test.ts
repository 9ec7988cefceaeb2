// The Do Not Contact preview counted the runs of a deleted contact's address: chosen alone, a deleted contact whose
// live twin (same address) has an open run was said to end that run, while the move changes only live contacts and
// so ends none. The preview counts from the live contacts, as the move does.
import { beforeEach, describe, expect, it } from "vitest";
import { client, env, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, startSimulation } from "../fixtures";

describe("the Do Not Contact preview of a deleted contact with a live twin in a sequence", () => {
  beforeEach(() => startSimulation());

  it("says what the move then does: no run ends", async () => {
    const { teamId, userId } = await makeTeam();
    const mailbox = await makeMailbox(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 5 }], null);
    const [gone, twin, other] = (await makeContacts(teamId, 3)) as [string, string, string];
    await env.DB.prepare("UPDATE contacts SET email = (SELECT email FROM contacts WHERE id = ?) WHERE id = ?").bind(gone, twin).run();
    await enroll(teamId, sequenceId, [twin], [mailbox]);
    await env.DB.prepare("UPDATE contacts SET deleted_at = 1 WHERE id = ?").bind(gone).run();
    const api = client(await sessionFor(teamId, userId)).api;
    const dnc = `${teamId}-dnc`;

    const preview = await ok(api.contacts.stage.preview.$post({ json: { contact_ids: [gone, other], stage_id: dnc } }));
    expect(preview).toEqual({ contacts: 1, not_found: [gone], runs_ending: 0, contacts_with_runs: 0, other_contacts: 0 });

    const done = await ok(api.contacts.bulk.$post({ json: { action: "change_stage", contact_ids: [gone, other], stage_id: dnc } }));
    expect(done).toMatchObject({ updated: 1, not_found: [gone], runs_ended: preview.contacts_with_runs });
    const run = await env.DB.prepare("SELECT status FROM enrollments WHERE contact_id = ?").bind(twin).first<{ status: string }>();
    expect(run?.status).toBe("active");
  });
});
