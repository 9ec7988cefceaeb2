// "Change mailbox" to a mailbox that can't send. Before: accepted and reported "changed" (only the right
// to send from it was checked), and the contacts' emails then waited in a mailbox that sends nothing.
import { beforeEach, describe, expect, it } from "vitest";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import {
  enroll,
  enrollmentsOf,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  sessionFor,
  setMailboxStatus,
  startSimulation,
} from "../fixtures";

describe("change mailbox", () => {
  beforeEach(() => startSimulation());

  it("refuses a disconnected mailbox or one that needs reconnecting (422 naming mailbox_id) and changes nothing; a connected one is taken", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 3 }], null);
    const from = await makeMailbox(teamId, userId);
    const to = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 2), [from]);
    const ids = (await enrollmentsOf(sequenceId)).map((e) => e.id);
    const change = () =>
      api.sequences[":id"].enrollments[":action"].$post({
        param: { id: sequenceId, action: "change-mailbox" },
        json: { enrollment_ids: ids, mailbox_id: to },
      });

    await setMailboxStatus(to, "disconnected", "Token revoked");
    const res = await change();
    expect(res.status).toBe(422);
    const err = await errorOf(res);
    expect(err.code).toBe("mailbox_not_connected");
    expect(err.message).toMatch(/is not connected/);
    expect(fieldsOf(err).map((f) => f.field)).toEqual(["mailbox_id"]);
    expect((await enrollmentsOf(sequenceId)).map((e) => e.mailbox_id)).toEqual([from, from]);

    await env.DB.prepare("UPDATE mailboxes SET status = 'needs_reconnect' WHERE id = ?").bind(to).run();
    expect((await change()).status).toBe(422);
    expect((await enrollmentsOf(sequenceId)).map((e) => e.mailbox_id)).toEqual([from, from]);

    await setMailboxStatus(to, "connected");
    expect((await ok(change())).outcomes).toEqual({ changed: 2 });
    expect((await enrollmentsOf(sequenceId)).map((e) => e.mailbox_id)).toEqual([to, to]);
  });
});
