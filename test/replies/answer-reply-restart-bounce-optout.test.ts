// Answering a reply from the inbox, at its edges: a restart in the middle of the send, a soft bounce of
// the answer, an address suppressed after the Worker's check, and an old Idempotency-Key whose ledger row
// and idempotency record are both gone. Each re-reads the ledger, the messages and the run.
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mailboxStub } from "../../durable-objects/engine";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { answerReply } from "../../worker/services/reply-answer";
import { setTransportOverride } from "../../worker/transports";
import type { OutgoingEmail } from "../../worker/transports/types";
import { mailboxLedger, startSimulation } from "../fixtures";
import { client, env, ok } from "../helpers";
import { dsn, enrollmentRow, replyTo, sentFirst } from "./mail";

/** A sent first step, its reply in the inbox (the run left open), and the mailbox's transport counted from here on. */
async function answered() {
  const s = await sentFirst({ settings: { finish_on_reply: false } });
  await handleInbound(env, replyTo(s.m, { id: `their-${crypto.randomUUID()}` }));
  const api = client(s.session).api;
  const reply = (await ok(api.replies.$get({ query: {} }))).replies[0]!;
  const sent: OutgoingEmail[] = [];
  setTransportOverride(s.mailboxId, { send: async (m) => (sent.push(m), { ok: true, response: "250 accepted" }) });
  const caller = { teamId: s.teamId, userId: s.userId, role: "admin", via: "session", grants: [] } as unknown as Caller;
  return { ...s, reply, sent, caller };
}

const answerRows = (enrollmentId: string) =>
  env.DB.prepare("SELECT id, step_id, status, message_id_header FROM messages WHERE enrollment_id = ? AND step_id LIKE 'reply:%'")
    .bind(enrollmentId)
    .all<{ id: string; step_id: string; status: string; message_id_header: string }>()
    .then((r) => r.results);

describe("answering a reply: restarts, bounces, opt-outs and old keys", () => {
  let mailboxes: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const id of mailboxes) setTransportOverride(id, null);
    mailboxes = [];
  });

  it("a restart during the send leaves an alarm a minute on that settles the answer as unknown and reports it", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    let crash: (() => Promise<void>) | null = null;
    await runInDurableObject(mailboxStub(env, s.mailboxId), (_o, state) => {
      crash = async () => {
        crash = null;
        await state.storage.sync();
        state.abort("simulated crash mid-answer");
      };
    });
    setTransportOverride(s.mailboxId, {
      send: async (m) => {
        s.sent.push(m);
        if (crash) await crash();
        return { ok: true, response: "250 accepted" };
      },
    });
    const t = now();
    const err = await answerReply(env, db(env.DB), s.caller, s.reply.id, { body: "Tuesday works" }, "crash-key").catch((e: unknown) => e);
    expect(String(err)).toContain("simulated crash mid-answer");
    expect(s.sent).toHaveLength(1);

    const mid = await mailboxLedger(s.mailboxId);
    const row = mid.queue.find((q) => q.step_id.startsWith("reply:"))!;
    expect(row).toMatchObject({ state: "sending", reported: 1 });
    // An alarm within the minute (not the next step's, a day on, nor none at all).
    expect(mid.alarm).not.toBeNull();
    expect(mid.alarm!).toBeLessThanOrEqual(t + 60_000);

    await runInDurableObject(mailboxStub(env, s.mailboxId), (o) => o.alarm());
    const after = (await mailboxLedger(s.mailboxId)).queue.find((q) => q.step_id === row.step_id)!;
    expect(after).toMatchObject({ state: "unknown", reason: "delivery_unknown", reported: 1 });
    expect((await answerRows(s.m.enrollment_id)).map((m) => [m.step_id, m.status])).toEqual([[row.step_id, "unknown"]]);
    expect(s.sent).toHaveLength(1);
  });

  it("a mailbox-full bounce of an answer marks it bounced and leaves the run as it was", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    await answerReply(env, db(env.DB), s.caller, s.reply.id, { body: "Tuesday works" }, "bounce-key");
    const [answer] = await answerRows(s.m.enrollment_id);
    const before = await enrollmentRow(s.m.enrollment_id);
    expect(before).toMatchObject({ status: "active" });

    const r = await handleInbound(env, dsn({ ...s.m, message_id_header: answer!.message_id_header }, "4.2.2"));
    expect(r.kind).toBe("bounce_soft");
    expect((await answerRows(s.m.enrollment_id)).map((m) => m.status)).toEqual(["bounced"]);
    expect(await enrollmentRow(s.m.enrollment_id)).toEqual(before);
  });

  it("an address suppressed after the Worker's check is refused inside the mailbox: nothing sent, nothing recorded", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    const before = (await mailboxLedger(s.mailboxId)).queue;
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, 'manual', 'manual', 0)",
    )
      .bind(crypto.randomUUID(), s.teamId, s.m.to_email.toLowerCase())
      .run();
    const res = await mailboxStub(env, s.mailboxId).sendByHand(s.mailboxId, s.teamId, {
      enrollmentId: s.m.enrollment_id,
      stepId: "reply:0123456789abcdef01234567",
      contactId: s.m.contact_id,
      to: s.m.to_email,
      subject: "Re: hello",
      text: "Hi",
      raw: "Subject: Re: hello\r\n\r\nHi",
      messageId: "<x@example.test>",
      inReplyTo: null,
    });
    expect(res).toMatchObject({ ok: false, code: "blocked", reason: "suppressed" });
    expect(s.sent).toHaveLength(0);
    expect((await mailboxLedger(s.mailboxId)).queue).toEqual(before);
    expect(await answerRows(s.m.enrollment_id)).toHaveLength(0);
  });

  it("an old Idempotency-Key, its ledger row pruned and its record expired, finds the answer in D1 and sends nothing again", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    await answerReply(env, db(env.DB), s.caller, s.reply.id, { body: "Yes" }, "old-key");
    expect(s.sent).toHaveLength(1);
    // The ledger forgets settled rows after 2 days.
    await runInDurableObject(mailboxStub(env, s.mailboxId), (_o, state) => {
      state.storage.sql.exec("DELETE FROM queue WHERE step_id LIKE 'reply:%'");
    });
    const again = await answerReply(env, db(env.DB), s.caller, s.reply.id, { body: "Yes" }, "old-key").catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 409, message: expect.stringContaining("already sent") });
    expect(s.sent).toHaveLength(1);
    expect(await answerRows(s.m.enrollment_id)).toHaveLength(1);
  });
});
