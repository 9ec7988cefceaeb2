import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { env } from "../helpers";
import { HOUR, MIN, runUntil, startSimulation } from "../fixtures";
import { dsn, enrollmentRow, sentFirst } from "./mail";

const overridden: string[] = [];
afterEach(() => {
  for (const id of overridden.splice(0)) setTransportOverride(id, null);
});

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

describe("a server block (5.7.x) past the last try", () => {
  beforeEach(() => startSimulation());

  it("ends the run with the email bounced, but neither suppresses the address nor marks the contact bounced", async () => {
    const s = await sentFirst({ waits: [0, 30] });
    const calls = countTransport(s.mailboxId);
    // Blocklisted for longer than the three tries (1 h + 4 h + 24 h): every try is refused by policy.
    for (const delay of [HOUR, 4 * HOUR, 24 * HOUR]) {
      const r = await handleInbound(env, dsn(s.m, "5.7.1"));
      expect(r.kind).toBe("bounce_soft");
      await runUntil(now() + delay + 2 * MIN);
    }
    expect(calls.length).toBe(3);
    const last = await handleInbound(env, dsn(s.m, "5.7.1"));
    expect(last.kind).toBe("bounce_soft");
    expect(await suppressed(s.teamId)).toBe(0);
    const contact = await env.DB.prepare("SELECT bounced_at FROM contacts WHERE id = ?")
      .bind(s.m.contact_id)
      .first<{ bounced_at: number | null }>();
    expect(contact!.bounced_at).toBeNull();
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "bounced" });
    const row = await env.DB.prepare("SELECT classification, retry_at, evidence FROM inbound_messages WHERE id = ?")
      .bind(last.inboundId)
      .first<{ classification: string; retry_at: number | null; evidence: string }>();
    expect(row!.classification).toBe("bounce_soft");
    expect(row!.retry_at).toBeNull();
    expect(JSON.parse(row!.evidence)).toMatchObject({ rule: "dsn_blocked", status: "5.7.1" });
    const msg = await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(s.m.id).first<{ status: string }>();
    expect(msg!.status).toBe("bounced");
    // No fourth try, and step 2 never goes out to a finished run.
    await runUntil(now() + 31 * 24 * HOUR);
    expect(calls.length).toBe(3);
  });

  it("a block among mailbox-full bounces also keeps the address: only the address's own failures make a hard bounce", async () => {
    const s = await sentFirst({ waits: [0, 30] });
    countTransport(s.mailboxId);
    for (const [status, delay] of [
      ["4.2.2", HOUR],
      ["5.7.1", 4 * HOUR],
      ["4.2.2", 24 * HOUR],
    ] as const) {
      expect((await handleInbound(env, dsn(s.m, status))).kind).toBe("bounce_soft");
      await runUntil(now() + delay + 2 * MIN);
    }
    const last = await handleInbound(env, dsn(s.m, "4.2.2"));
    expect(last.kind).toBe("bounce_soft");
    expect(await suppressed(s.teamId)).toBe(0);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "bounced" });
  });
});
