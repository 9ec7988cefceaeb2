import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import { HOUR, MIN, runUntil, startSimulation } from "../fixtures";
import { dsn, enrollmentRow, replyTo, sentFirst } from "./mail";

const overridden: string[] = [];
afterEach(() => {
  for (const id of overridden.splice(0)) setTransportOverride(id, null);
});

/** Every message id the mailbox's transport is handed. */
function countTransport(mailboxId: string) {
  const calls: string[] = [];
  setTransportOverride(mailboxId, {
    async send(m) {
      calls.push(m.messageId);
      return { ok: true };
    },
  });
  overridden.push(mailboxId);
  return calls;
}

const suppressed = async (teamId: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM suppressions WHERE team_id = ?").bind(teamId).first<{ n: number }>())!.n;

describe("soft bounces", () => {
  beforeEach(() => startSimulation());

  it("are sent again after 1 h, 4 h and 24 h (counted at the transport), and the fourth counts as a hard bounce", async () => {
    // One long wait before step 2, so only step 1's tries reach the transport.
    const s = await sentFirst({ waits: [0, 30] });
    const calls = countTransport(s.mailboxId);
    for (const [attempt, delay] of [
      [1, HOUR],
      [2, 4 * HOUR],
      [3, 24 * HOUR],
    ] as const) {
      const r = await handleInbound(env, dsn(s.m, "4.2.2"));
      expect(r.kind).toBe("bounce_soft");
      const row = await env.DB.prepare("SELECT retry_attempt, retry_at FROM inbound_messages WHERE id = ?")
        .bind(r.inboundId)
        .first<{ retry_attempt: number; retry_at: number }>();
      expect(row!.retry_attempt).toBe(attempt);
      expect(row!.retry_at).toBe(now() + delay);
      expect(await suppressed(s.teamId)).toBe(0);
      await runUntil(now() + delay - MIN);
      expect(calls.length).toBe(attempt - 1);
      await runUntil(now() + 2 * MIN);
      expect(calls.length).toBe(attempt);
      // The same email (same Message-ID) went out again.
      expect(s.m.message_id_header).toContain(calls[attempt - 1]!.replace(/[<>]/g, ""));
    }
    const last = await handleInbound(env, dsn(s.m, "4.2.2"));
    expect(last.kind).toBe("bounce_hard");
    expect(await suppressed(s.teamId)).toBe(1);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "bounced" });
    await runUntil(now() + 2 * 24 * HOUR);
    expect(calls.length).toBe(3);
    const inbox = await ok(client(s.session).api.replies.$get({ query: { classification: "bounce_soft" } }));
    expect(inbox.replies.map((r) => r.retry?.attempt).sort()).toEqual([1, 2, 3]);
  });

  it("a hard bounce suppresses at once, with no retry", async () => {
    const s = await sentFirst();
    const calls = countTransport(s.mailboxId);
    await handleInbound(env, dsn(s.m, "5.1.1"));
    expect(await suppressed(s.teamId)).toBe(1);
    await runUntil(now() + 48 * HOUR);
    expect(calls.length).toBe(0);
  });

  it("a soft bounce corrected to a reply takes back its retry", async () => {
    const s = await sentFirst({ waits: [0, 30] });
    const calls = countTransport(s.mailboxId);
    const r = await handleInbound(env, dsn(s.m, "4.2.2"));
    await ok(
      client(s.session).api.replies[":id"].classification.$post({ param: { id: r.inboundId! }, json: { classification: "auto_reply" } }),
    );
    await runUntil(now() + 3 * HOUR);
    expect(calls.length).toBe(0);
  });

  it("a retry of the last step is not sent to a contact who replied meanwhile", async () => {
    // One email: once it went out, the run is complete and a reply has no run left to finish.
    const s = await sentFirst({ waits: [0] });
    const calls = countTransport(s.mailboxId);
    expect((await handleInbound(env, dsn(s.m, "4.2.2"))).kind).toBe("bounce_soft");
    expect((await handleInbound(env, replyTo(s.m))).kind).toBe("reply");
    await runUntil(now() + 3 * HOUR);
    expect(calls).toEqual([]);
  });
});
