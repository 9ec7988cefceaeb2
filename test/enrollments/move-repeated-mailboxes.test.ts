// A move's mailbox_ids count different mailboxes against their 50, as the README's limits say (an id repeated
// counts once): one mailbox sent 51 times was refused as too many. 51 different ones still answer 422.
import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";
import { now } from "../../worker/lib/clock";

beforeEach(() => startSimulation());

describe("a move's mailbox_ids", () => {
  it("one mailbox 51 times is one; 51 different ones are refused naming the field, and nobody moves", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const { sequenceId: target } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
    const mb = await makeMailbox(teamId, userId);
    const [c] = (await makeContacts(teamId, 1)) as [string];
    await enroll(teamId, sequenceId, [c], [mb]);
    const api = client(await sessionFor(teamId, userId)).api;
    const move = (mailbox_ids: string[]) =>
      api.sequences[":id"].enrollments[":action"].$post({
        param: { id: sequenceId, action: "move" },
        json: { filter: { status: "active" }, to_sequence_id: target, mailbox_ids },
      });
    const status = () =>
      env.DB.prepare("SELECT status FROM enrollments WHERE contact_id = ? AND sequence_id = ?")
        .bind(c, sequenceId)
        .first<{ status: string }>()
        .then((r) => r!.status);

    const different = [mb, ...Array.from({ length: 50 }, () => newId())];
    const err = await errorOf(await move(different));
    expect(err.status).toBe(422);
    expect(fieldsOf(err).map((f) => f.field)).toEqual(["mailbox_ids"]);
    expect(await status()).toBe("active");

    const res = await ok(move(Array.from({ length: 51 }, () => mb)));
    expect(res.outcomes).toEqual({ moved: 1 });
    await runUntil(now() + 60_000);
    expect(await status()).toBe("finished");
  });
});
