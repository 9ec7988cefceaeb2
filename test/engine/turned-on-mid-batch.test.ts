// Turning a sequence on releases the contacts held while it was off. Before, a batch of due contacts
// that had read the sequence as off, then awaited D1 while it was turned on, held its contacts after
// the release: held with no timer, they stayed "Sequence is inactive" on a sequence that was on. And
// when the release itself failed after D1 said "on", turning it on again did nothing (it was on already).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { sequenceStub } from "../../durable-objects/engine";
import { setTransportOverride } from "../../worker/transports";
import { client, env, errorOf, ok } from "../helpers";
import {
  DAY,
  HOUR,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

describe("a sequence turned on", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  async function offWithOneDue() {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 1 }, { wait: 1 }], null);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const sent: string[] = [];
    setTransportOverride(mailboxId, { local: true, send: async (e) => (sent.push(e.to), { ok: true, response: "counted" }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mailboxId]);
    const seq = api.sequences[":id"];
    await ok(seq.$patch({ param: { id: sequenceId }, json: { active: false } }));
    const turnOn = () => seq.$patch({ param: { id: sequenceId }, json: { active: true } });
    const row = () => env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first();
    return { sequenceId, sent, turnOn, row };
  }

  it("while a batch of its due contacts reads D1: they go on, not held", async () => {
    const w = await offWithOneDue();
    // The batch has read the sequence (off); while it reads the contact, the sequence is turned on.
    const statement = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as { all: (this: D1PreparedStatement) => Promise<unknown> };
    const all = statement.all;
    let turned = false;
    statement.all = async function (this: D1PreparedStatement & { statement?: string }) {
      if (!turned && /unsubscribed_at AS unsubscribedAt/.test(this.statement ?? "")) {
        turned = true;
        await ok(w.turnOn());
      }
      return all.call(this);
    };
    try {
      await runUntil(SIM_START + DAY + HOUR);
    } finally {
      statement.all = all;
    }
    expect(turned).toBe(true);
    expect(await w.row()).toMatchObject({ status: "active" });
    expect(w.sent).toHaveLength(1);
  });

  it("between a mailbox withdrawing its email (the sequence was off) and the sequence hearing of it: due again, not held", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    // 09:00–17:00 New York: the step falls due in the evening and waits in the mailbox for the morning.
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 1 }, { wait: 1 }], await makeSchedule(teamId));
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const sent: string[] = [];
    setTransportOverride(mailboxId, { local: true, send: async (e) => (sent.push(e.to), { ok: true, response: "counted" }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mailboxId]);
    await runUntil(SIM_START + DAY + HOUR);
    const seq = api.sequences[":id"];
    await ok(seq.$patch({ param: { id: sequenceId }, json: { active: false } }));
    // The mailbox's report (it withdrew the email: off) is written; before the sequence applies it, it is turned on.
    const d1 = Object.getPrototypeOf(env.DB) as {
      batch: (this: D1Database, s: (D1PreparedStatement & { statement?: string })[]) => Promise<unknown>;
    };
    const batch = d1.batch;
    let turned = false;
    d1.batch = async function (this: D1Database, stmts) {
      const out = await batch.call(this, stmts);
      if (!turned && stmts.some((x) => /config_rev AS rev/.test(x.statement ?? ""))) {
        turned = true;
        await ok(seq.$patch({ param: { id: sequenceId }, json: { active: true } }));
      }
      return out;
    };
    try {
      await runUntil(SIM_START + 2 * DAY + 6 * HOUR);
    } finally {
      d1.batch = batch;
    }
    expect(turned).toBe(true);
    expect(await env.DB.prepare("SELECT status FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first()).toEqual({
      status: "active",
    });
    expect(sent).toHaveLength(1);
  });

  it("when the release failed after the sequence was saved as on, turning it on again releases them", async () => {
    const w = await offWithOneDue();
    await runUntil(SIM_START + DAY + HOUR);
    expect(await w.row()).toEqual({ status: "held", reason: "sequence_inactive" });
    const proto = await runInDurableObject(sequenceStub(env, w.sequenceId), (o) => Object.getPrototypeOf(o) as { activate: () => unknown });
    const activate = proto.activate;
    proto.activate = () => {
      proto.activate = activate;
      throw new Error("sequence engine unreachable");
    };
    try {
      expect((await errorOf(await w.turnOn())).status).toBe(500);
    } finally {
      proto.activate = activate;
    }
    expect(await w.row()).toEqual({ status: "held", reason: "sequence_inactive" });
    await ok(w.turnOn());
    await runUntil(SIM_START + DAY + 2 * HOUR);
    expect(await w.row()).toMatchObject({ status: "active" });
    expect(w.sent).toHaveLength(1);
  });
});
