// Adding a step in front of others or reordering re-times contacts waiting for a step that is off: the next
// step on after theirs can be another one now. With every step on, nobody's next step changes, so nobody's
// time does: the re-time walked every run of the sequence anyway (100,000 runs held the SequenceDO for the
// whole walk) and moved each overdue timer to now, mirroring it to D1.
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import { setClock } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import {
  DAY,
  HOUR,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

describe("steps moved while every step is on", () => {
  const mailboxIds: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => mailboxIds.splice(0).forEach((m) => setTransportOverride(m, null)));

  it("an add in front and a reorder leave the waiting contacts' times alone, overdue ones too", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [{ wait: 0 }, { wait: 5, unit: "days" }, { wait: 2, unit: "days" }],
      null,
    );
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    mailboxIds.push(mailboxId);
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true, response: "counted" }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mailboxId]);
    await runUntil(SIM_START + HOUR);
    const sent = async () =>
      (await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>())!.n;
    expect(await sent()).toBe(3);
    // D1's mirror and the SequenceDO's own rows: each contact due five days after step 1 (the send's own instant).
    const times = async () => ({
      mirrored: (
        await env.DB.prepare("SELECT next_due_at AS at FROM enrollments WHERE sequence_id = ? ORDER BY id")
          .bind(sequenceId)
          .all<{ at: number }>()
      ).results.map((r) => r.at),
      kept: await runInDurableObject(sequenceStub(env, sequenceId), (_o, state) =>
        state.storage.sql
          .exec<{ at: number }>("SELECT due_at AS at FROM enrollments ORDER BY id")
          .toArray()
          .map((r) => r.at),
      ),
    });
    const before = await times();
    expect(before.kept).toHaveLength(3);
    expect(before.mirrored).toEqual(before.kept);
    for (const at of before.kept) expect((at - SIM_START) / DAY).toBeCloseTo(5, 1);

    // A day past their time, their timers not yet fired (an alarm held up): overdue.
    setClock(SIM_START + 6 * DAY);
    await ok(
      api.sequences[":id"].steps.$post({
        param: { id: sequenceId },
        json: { type: "auto_email", position: 1, wait_amount: 0, wait_unit: "days", variants: [{ subject: "Front", body: "Hi" }] },
      }),
      201,
    );
    expect(await times()).toEqual(before);
    const order = (
      await env.DB.prepare("SELECT id FROM steps WHERE sequence_id = ? ORDER BY position").bind(sequenceId).all<{ id: string }>()
    ).results.map((r) => r.id);
    expect(order.slice(1)).toEqual(stepIds);
    await ok(
      api.sequences[":id"].steps.reorder.$post({
        param: { id: sequenceId },
        json: { step_ids: [order[0]!, stepIds[0]!, stepIds[2]!, stepIds[1]!] },
      }),
    );
    expect(await times()).toEqual(before);

    // Their timers fire as set: step 2 goes out to each of them, the step added in front of theirs never.
    await runUntil(SIM_START + 6 * DAY + HOUR);
    expect(await sent()).toBe(6);
    const front = await env.DB.prepare("SELECT count(*) n FROM messages WHERE step_id = ?").bind(order[0]).first<{ n: number }>();
    expect(front!.n).toBe(0);
  });
});
