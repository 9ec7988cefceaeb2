// A restart and the mailbox of the run it restarts: the new run copied the old run's mailbox, so a run
// that had finished on a mailbox removed since was "restarted" and its email handed to a mailbox that will
// never send (it waited there unseen). Such a run is now refused with the reason, or sent from the mailbox
// the restart names (mailbox_id), which must be connected and one the caller may send from.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { client, env, errorOf, ok } from "../helpers";
import { HOUR, makeMailbox, runUntil, setMailboxStatus, startSimulation } from "../fixtures";
import { sentFirst } from "../replies/mail";

type Api = ReturnType<typeof client>["api"];
type ActionArgs = Parameters<Api["sequences"][":id"]["enrollments"][":action"]["$post"]>[0];
const restartCall = (api: Api, seq: string, json: ActionArgs["json"]) =>
  api.sequences[":id"].enrollments[":action"].$post({ param: { id: seq, action: "restart" }, json });

const messagesOf = async (sequenceId: string) =>
  (
    await env.DB.prepare("SELECT enrollment_id, mailbox_id, status FROM messages WHERE sequence_id = ? ORDER BY created_at")
      .bind(sequenceId)
      .all<{ enrollment_id: string; mailbox_id: string; status: string }>()
  ).results;

describe("restart of a run whose mailbox is gone", () => {
  beforeEach(() => startSimulation());

  it("the run's mailbox was removed: blocked as mailbox_not_connected, no new run; with mailbox_id the new run sends from that one", async () => {
    // One step: the run finishes on M, and M, with no open run left, may be removed.
    const s = await sentFirst({ waits: [0] });
    const api = client(s.session).api;
    await ok(api.mailboxes[":id"].$delete({ param: { id: s.mailboxId }, query: {} }));

    const r = await ok(restartCall(api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id] }));
    expect(r.results[0]).toMatchObject({ changed: false, outcome: "blocked", reason_code: "mailbox_not_connected", new_id: null });
    expect(r.results[0]!.reason).toMatch(/mailbox is removed or not connected: not restarted \(restart with another mailbox/i);
    expect(await env.DB.prepare("SELECT count(*) n FROM enrollments WHERE sequence_id = ?").bind(s.sequenceId).first("n")).toBe(1);

    const other = await makeMailbox(s.teamId, s.userId, { gapSeconds: 0 });
    const again = await ok(restartCall(api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id], mailbox_id: other }));
    expect(again.outcomes).toEqual({ restarted: 1 });
    await runUntil(now() + HOUR);
    const sent = (await messagesOf(s.sequenceId)).filter((m) => m.enrollment_id === again.results[0]!.new_id);
    expect(sent).toEqual([{ enrollment_id: again.results[0]!.new_id, mailbox_id: other, status: "sent" }]);
  });

  it("mailbox_id must be a connected mailbox of the team: a disconnected one is 422, another team's 404, and nothing restarts", async () => {
    const s = await sentFirst({ waits: [0] });
    const api = client(s.session).api;
    const off = await makeMailbox(s.teamId, s.userId);
    await setMailboxStatus(off, "disconnected");
    const refused = await restartCall(api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id], mailbox_id: off });
    expect(refused.status).toBe(422);
    expect((await errorOf(refused)).code).toBe("mailbox_not_connected");

    const rival = await sentFirst({ waits: [0] });
    const foreign = await restartCall(api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id], mailbox_id: rival.mailboxId });
    expect(foreign.status).toBe(404);
    expect(await env.DB.prepare("SELECT count(*) n FROM enrollments WHERE sequence_id = ?").bind(s.sequenceId).first("n")).toBe(1);
  });

  it("a run whose mailbox is connected restarts on it as before", async () => {
    const s = await sentFirst({ waits: [0] });
    const r = await ok(restartCall(client(s.session).api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id] }));
    expect(r.outcomes).toEqual({ restarted: 1 });
    await runUntil(now() + HOUR);
    expect((await messagesOf(s.sequenceId)).map((m) => m.mailbox_id)).toEqual([s.mailboxId, s.mailboxId]);
  });
});
