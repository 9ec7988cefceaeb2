import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { sequenceStub } from "../../durable-objects/engine";
import { client, env, ok, type Session } from "../helpers";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

type ListQuery = { status?: "not_sent"; reason?: string; sort?: "name" };
const list = (s: Session, seq: string, query: ListQuery) =>
  ok(client(s).api.sequences[":id"].enrollments.$get({ param: { id: seq }, query }));

describe("contacts in a sequence: not sent, narrowed to its reason", () => {
  beforeEach(() => startSimulation());

  it("the not-sent tab narrows to mailbox disconnected, no email or sending failed, each row only under its own reason", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const cs = await makeContacts(teamId, 4);
    await enroll(teamId, sequenceId, cs, [mb]);
    await runUntil(now() + HOUR); // step 1 to all, step 2 waits
    const ids = (await list(s, sequenceId, { sort: "name" })).enrollments.map((e) => e.id);
    await sequenceStub(env, sequenceId).transition(sequenceId, teamId, [ids[0]!], "finish", "no_email");
    // A step that failed after its retries: the engine's "failed" row (seeded as the engine writes it).
    await env.DB.prepare("UPDATE enrollments SET status = 'failed', reason = 'send_failed' WHERE id = ?").bind(ids[1]).run();
    await ok(client(s).api.mailboxes[":id"].disconnect.$post({ param: { id: mb } }));

    const all = await list(s, sequenceId, { status: "not_sent", sort: "name" });
    expect(all.counts.not_sent).toBe(4);
    expect(all.enrollments.map((e) => e.id)).toEqual(ids);

    const disconnected = await list(s, sequenceId, { status: "not_sent", reason: "mailbox_disconnected", sort: "name" });
    expect(disconnected.enrollments.map((e) => [e.id, e.reason])).toEqual([
      [ids[2], "mailbox_disconnected"],
      [ids[3], "mailbox_disconnected"],
    ]);
    expect(disconnected.pagination.total_entries).toBe(2);
    expect(disconnected.counts.not_sent).toBe(2);
    const noEmail = await list(s, sequenceId, { status: "not_sent", reason: "no_email" });
    expect(noEmail.enrollments.map((e) => [e.id, e.status, e.reason])).toEqual([[ids[0], "finished", "no_email"]]);
    const failed = await list(s, sequenceId, { status: "not_sent", reason: "send_failed" });
    expect(failed.enrollments.map((e) => [e.id, e.status])).toEqual([[ids[1], "failed"]]);
    expect((await list(s, sequenceId, { status: "not_sent", reason: "mailbox_paused" })).enrollments).toEqual([]);

    // The mailbox's state is the reason, not the row's code: reconnected, nobody is "mailbox disconnected".
    await env.DB.prepare("UPDATE mailboxes SET status = 'paused' WHERE id = ?").bind(mb).run();
    const paused = await list(s, sequenceId, { status: "not_sent", reason: "mailbox_paused", sort: "name" });
    expect(paused.enrollments.map((e) => e.id)).toEqual([ids[2], ids[3]]);
    expect((await list(s, sequenceId, { status: "not_sent", reason: "mailbox_disconnected" })).enrollments).toEqual([]);
    const rows = await env.DB.prepare("SELECT id, status FROM enrollments WHERE sequence_id = ? ORDER BY id").bind(sequenceId).all();
    expect(rows.results.filter((r) => r.status === "active")).toHaveLength(2);
  });

  it("a contact on a call task with a disconnected mailbox goes on: not counted or listed as not sent", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ type: "call", wait: 0 }, { wait: 2 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mb]);
    await runUntil(now() + HOUR);
    await ok(client(s).api.mailboxes[":id"].disconnect.$post({ param: { id: mb } }));
    const all = await list(s, sequenceId, {});
    expect(all.enrollments[0]).toMatchObject({ status: "active", reason: "task_open" });
    const notSent = await list(s, sequenceId, { status: "not_sent" });
    expect(notSent.counts.not_sent).toBe(0);
    expect(notSent.enrollments).toEqual([]);
    expect((await list(s, sequenceId, { status: "not_sent", reason: "mailbox_disconnected" })).enrollments).toEqual([]);
  });

  it("an action on the not-sent tab narrowed to one reason touches only those contacts", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const cs = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, cs, [mb]);
    await runUntil(now() + HOUR);
    const ids = (await list(s, sequenceId, { sort: "name" })).enrollments.map((e) => e.id);
    await sequenceStub(env, sequenceId).transition(sequenceId, teamId, [ids[0]!], "finish", "no_email");
    await ok(client(s).api.mailboxes[":id"].disconnect.$post({ param: { id: mb } }));
    await ok(
      client(s).api.sequences[":id"].enrollments[":action"].$post({
        param: { id: sequenceId, action: "pause" },
        json: { filter: { status: "not_sent", reason: "mailbox_disconnected" } },
      }),
    );
    const rows = await env.DB.prepare("SELECT id, status FROM enrollments WHERE sequence_id = ?")
      .bind(sequenceId)
      .all<{ id: string; status: string }>();
    const status = new Map(rows.results.map((x) => [x.id, x.status]));
    expect([status.get(ids[0]!), status.get(ids[1]!), status.get(ids[2]!)]).toEqual(["finished", "paused", "paused"]);
  });
});
