import { beforeEach, describe, expect, it } from "vitest";
import { engine, mailboxStub } from "../../durable-objects/engine";
import { setTransportOverride } from "../../worker/transports";
import { env } from "../helpers";
import { oneLine, statementsDuring, watchStatements, type Counted } from "./statements";
import {
  MIN,
  enroll,
  everyDay,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  setMailboxStatus,
  SIM_START,
  startSimulation,
} from "../fixtures";

async function setup(o: { hourly: number; contacts: number }) {
  const { teamId, userId } = await makeTeam();
  const scheduleId = await makeSchedule(teamId, { timeZone: "UTC", windows: everyDay("00:00", "23:59") });
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
  const mailboxId = await makeMailbox(teamId, userId, { daily: 500, hourly: o.hourly, gapSeconds: 0 });
  const contacts = await makeContacts(teamId, o.contacts);
  return { teamId, sequenceId, mailboxId, contacts };
}

const sentRows = async (mailboxId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE mailbox_id = ? AND status = 'sent'")
    .bind(mailboxId)
    .first<{ n: number }>())!.n;

/**
 * A batch through a local transport (the outbox, a test's counter) is claimed at once and nothing else
 * reaches the MailboxDO until its sends are settled (durable-objects/mailbox-do.ts, sendLocalBatch):
 * its rows are re-read once after the claim, and each send is written once (reserved and settled together).
 */
describe("a MailboxDO's batch through a local transport", () => {
  beforeEach(() => startSimulation());

  it("re-reads its rows once and writes each send once, reserved and settled together, each email sent once", async () => {
    const { teamId, sequenceId, mailboxId, contacts } = await setup({ hourly: 40, contacts: 30 });
    const sent = new Map<string, number>();
    setTransportOverride(mailboxId, {
      local: true,
      async send(e) {
        sent.set(e.messageId, (sent.get(e.messageId) ?? 0) + 1);
        return { ok: true };
      },
    });
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    const seen = await statementsDuring(() => runUntil(SIM_START + 5 * MIN).then(() => undefined));
    setTransportOverride(mailboxId, null);
    expect(sent.size).toBe(30);
    expect([...sent.values()].every((n) => n === 1)).toBe(true);
    expect(await sentRows(mailboxId)).toBe(30);
    // The 30 sends went in one batch, written by one statement (each row reserved and sent together), none re-read alone.
    const rowWrites = seen.filter((q) => q.startsWith("UPDATE queue SET") && !q.startsWith("UPDATE queue SET reported = 1"));
    expect(rowWrites).toHaveLength(1);
    expect(rowWrites[0]).toMatch(/^UPDATE queue SET state = 'sent', reserved_at = u\.t/);
    expect(seen.filter((q) => q.startsWith("SELECT state, gen FROM queue WHERE enrollment_id = ? AND step_id = ?"))).toHaveLength(0);
    const { queue } = await mailboxLedger(mailboxId);
    expect(queue.filter((r) => r.state === "sent" && r.reported)).toHaveLength(30);
  });

  it("a send writes its row and the indexes that track sent rows, none that only picking reads", async () => {
    const { teamId, sequenceId, mailboxId, contacts } = await setup({ hourly: 40, contacts: 30 });
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true }) });
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    const sends: Counted[] = [];
    const restore = await watchStatements((q, _b, cursor) => {
      if (oneLine(q).startsWith("UPDATE queue SET state = 'sent'")) sends.push(cursor);
    });
    try {
      await runUntil(SIM_START + 5 * MIN);
    } finally {
      restore();
      setTransportOverride(mailboxId, null);
    }
    // One statement for the batch of 30. SQLite's count for each row and its index entries: 3. Before,
    // queue_pick and queue_gpick held every row and moved it within each on the send: 5.
    expect(sends).toHaveLength(1);
    expect(sends[0]!.rowsWritten).toBe(30 * 3);
  });

  it("a sender refusal mid-batch releases the reservations not yet handed over; on reconnect they go, once each", async () => {
    const { teamId, sequenceId, mailboxId, contacts } = await setup({ hourly: 20, contacts: 6 });
    const sent = new Map<string, number>();
    let calls = 0;
    setTransportOverride(mailboxId, {
      local: true,
      async send(e) {
        // The second email of the batch meets a sender error (a revoked login): nothing of it went out.
        if (++calls === 2) return { ok: false, kind: "sender", message: "535 authentication failed" };
        sent.set(e.messageId, (sent.get(e.messageId) ?? 0) + 1);
        return { ok: true };
      },
    });
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    await runUntil(SIM_START + 5 * MIN);
    expect(calls).toBe(2);
    expect(sent.size).toBe(1);
    const mb = await env.DB.prepare("SELECT status FROM mailboxes WHERE id = ?").bind(mailboxId).first<{ status: string }>();
    expect(mb!.status).toBe("paused");
    const { queue } = await mailboxLedger(mailboxId);
    // One sent; the refused one and the four never handed over are queued again, holding no capacity.
    expect(queue.filter((r) => r.state === "sent")).toHaveLength(1);
    expect(queue.filter((r) => r.state === "queued" && r.reserved_at === null && r.msg === null)).toHaveLength(5);
    expect((await engine.mailbox(env, mailboxId).usage()).usedLastHour).toBe(1);
    await setMailboxStatus(mailboxId, "connected");
    await runUntil(SIM_START + 15 * MIN);
    setTransportOverride(mailboxId, null);
    expect(sent.size).toBe(6);
    expect([...sent.values()].every((n) => n === 1)).toBe(true);
    expect(await sentRows(mailboxId)).toBe(6);
  });

  it("answers a probe of many emails in one statement, in the order asked, a key it never had as missing", async () => {
    const { teamId, sequenceId, mailboxId, contacts } = await setup({ hourly: 3, contacts: 8 });
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true }) });
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    await runUntil(SIM_START + 5 * MIN);
    setTransportOverride(mailboxId, null);
    const { queue } = await mailboxLedger(mailboxId);
    const keys = [
      ...queue.map((r) => ({ enrollmentId: r.enrollment_id, stepId: r.step_id })),
      { enrollmentId: "nope", stepId: "nope" },
    ].reverse();
    let states: Awaited<ReturnType<ReturnType<typeof mailboxStub>["probe"]>> = [];
    const seen = await statementsDuring(async () => {
      states = await mailboxStub(env, mailboxId).probe(mailboxId, keys);
    });
    expect(
      seen.filter((q) => /\bFROM json_each\(\?\) j JOIN queue q\b/.test(q) || /^SELECT \* FROM queue WHERE enrollment_id = \?/.test(q)),
    ).toHaveLength(1);
    expect(states.map((s) => `${s.enrollmentId}:${s.stepId}`)).toEqual(keys.map((k) => `${k.enrollmentId}:${k.stepId}`));
    expect(states[0]!.state).toBe("missing");
    const byKey = new Map(queue.map((r) => [`${r.enrollment_id}:${r.step_id}`, r]));
    for (const s of states.slice(1)) {
      const r = byKey.get(`${s.enrollmentId}:${s.stepId}`)!;
      expect(s.state).toBe(r.state);
      expect(s.reported).toBe(!!r.reported);
      expect(s.messageId).toBe(r.message_id);
      expect(s.subject).toBe(r.subject);
    }
    // Three went out in the hour (the cap), with their message ids; five wait.
    expect(states.filter((s) => s.state === "sent" && s.messageId)).toHaveLength(3);
    expect(states.filter((s) => s.state === "queued")).toHaveLength(5);
  });
});
