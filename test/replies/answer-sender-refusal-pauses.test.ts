// A transport's "sender" refusal of an answer written by hand (the mailbox's credentials or account said no)
// pauses the mailbox with the reason, as a queued send's refusal does (MailboxDO outcome "sender"): the
// Mailboxes screen says why, and the queue sends nothing more into it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { DAY, mailboxLedger, runUntil, startSimulation } from "../fixtures";
import { as, client, env, ok } from "../helpers";
import { countSent, replyTo, sentFirst } from "./mail";

describe("an answer refused by the transport for its sender", () => {
  let overridden: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const id of overridden) setTransportOverride(id, null);
    overridden = [];
  });

  it("pauses the mailbox with the sending error, and the other runs' next steps aren't handed to the transport", async () => {
    // Two contacts: one replies (and is answered), the other's second step is due a day later from the same mailbox.
    const s = await sentFirst({ n: 2 });
    overridden.push(s.mailboxId);
    expect(await countSent(s.sequenceId)).toBe(2);
    await handleInbound(env, replyTo(s.m));
    const api = client(s.session).api;
    const reply = (await ok(api.replies.$get({ query: {} }))).replies[0]!;
    let calls = 0;
    setTransportOverride(s.mailboxId, {
      send: async () => (calls++, { ok: false, kind: "sender", code: "535", message: "5.7.8 Authentication credentials invalid" }),
    });

    const res = await as(
      s.session,
      "POST",
      `/api/replies/${reply.id}/reply`,
      { body: "Tuesday works" },
      { "idempotency-key": "k-refused" },
    );
    expect(res.status).toBe(409);
    expect(calls).toBe(1);
    // The refusal says what it did to the mailbox: the rep learns it here, not when the queue goes quiet.
    const err = ((await res.json()) as { error: { message: string; details: unknown } }).error;
    expect(err.message).toMatch(/is paused until it is reconnected or resumed/);
    expect(err.details).toEqual({ mailbox_status: "paused", until: null });

    // The mailbox as the Mailboxes screen reads it: paused, saying why.
    const row = await env.DB.prepare("SELECT status, status_reason FROM mailboxes WHERE id = ?")
      .bind(s.mailboxId)
      .first<{ status: string; status_reason: string }>();
    expect(row).toEqual({ status: "paused", status_reason: "Sending error: 535 5.7.8 Authentication credentials invalid" });
    const shown = (await ok(api.mailboxes[":id"].$get({ param: { id: s.mailboxId } }))).mailbox;
    expect(shown).toMatchObject({ status: "paused", status_reason: "Sending error: 535 5.7.8 Authentication credentials invalid" });
    // Nothing of the answer was recorded: no ledger row, no message.
    const ledger = (await mailboxLedger(s.mailboxId)).queue;
    expect(ledger.filter((q) => q.step_id.startsWith("reply:"))).toEqual([]);

    // Past the second step's time: the queue sends nothing into the refusing mailbox.
    await runUntil(now() + 2 * DAY);
    expect(calls).toBe(1);
    expect(await countSent(s.sequenceId)).toBe(2);
    const after = (await mailboxLedger(s.mailboxId)).queue;
    expect(after.filter((q) => q.state === "sending" || (q.state === "sent" && q.step_id === s.stepIds[1]))).toEqual([]);
  });

  it("says nothing of a pause that didn't take: a mailbox disconnected during the send stays disconnected", async () => {
    const s = await sentFirst({ n: 1 });
    overridden.push(s.mailboxId);
    await handleInbound(env, replyTo(s.m));
    const api = client(s.session).api;
    const reply = (await ok(api.replies.$get({ query: {} }))).replies[0]!;
    setTransportOverride(s.mailboxId, {
      send: async () => {
        // Its owner disconnects it while the server is answering.
        await env.DB.prepare("UPDATE mailboxes SET status = 'disconnected' WHERE id = ?").bind(s.mailboxId).run();
        return { ok: false, kind: "sender", code: "535", message: "5.7.8 Authentication credentials invalid" };
      },
    });
    const res = await as(s.session, "POST", `/api/replies/${reply.id}/reply`, { body: "Tuesday works" });
    expect(res.status).toBe(409);
    const err = ((await res.json()) as { error: { message: string; details: unknown } }).error;
    expect(err.message).not.toMatch(/paused/);
    expect(err.details).toEqual({ mailbox_status: null, until: null });
    const row = await env.DB.prepare("SELECT status FROM mailboxes WHERE id = ?").bind(s.mailboxId).first<{ status: string }>();
    expect(row).toEqual({ status: "disconnected" });
  });

  it("a rate limit holds the mailbox, and the refusal says until when", async () => {
    const s = await sentFirst({ n: 1 });
    overridden.push(s.mailboxId);
    await handleInbound(env, replyTo(s.m));
    const api = client(s.session).api;
    const reply = (await ok(api.replies.$get({ query: {} }))).replies[0]!;
    setTransportOverride(s.mailboxId, {
      send: async () => ({ ok: false, kind: "rate_limited", code: "429", message: "Too many requests", retryAfterMs: 3_600_000 }),
    });
    const t = now();
    const res = await as(s.session, "POST", `/api/replies/${reply.id}/reply`, { body: "Tuesday works" });
    expect(res.status).toBe(409);
    const err = ((await res.json()) as { error: { message: string; details: { mailbox_status: string; until: number } } }).error;
    expect(err.details.mailbox_status).toBe("held");
    expect(err.details.until).toBeGreaterThanOrEqual(t + 3_600_000);
    expect(err.message).toContain(`is held until ${new Date(err.details.until).toISOString().replace(/\.\d+Z$/, "Z")}`);
    // The hold is the mailbox's own: a second answer now is refused without calling the transport.
    const again = await as(s.session, "POST", `/api/replies/${reply.id}/reply`, { body: "Or Wednesday" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/is held until/);
  });
});
