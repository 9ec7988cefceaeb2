// Correcting one inbound email leaves what the person's other emails did standing: a reply that came
// after an auto-acknowledgement (taken for a reply, then corrected) keeps the run finished, the contact
// Replied and the email counted as replied; and a correction stamps the email's reply with when the
// answer arrived, not when someone corrected it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok, type Session } from "../helpers";
import { DAY, HOUR, runUntil, startSimulation } from "../fixtures";
import { dsn, enrollmentRow, replyTo, sentFirst } from "./mail";

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

const classify = (session: Session, id: string, classification: "auto_reply" | "reply") =>
  ok(client(session).api.replies[":id"].classification.$post({ param: { id }, json: { classification } }));
const answer = (messageId: string) =>
  env.DB.prepare("SELECT replied_at, reply_kind FROM messages WHERE id = ?")
    .bind(messageId)
    .first<{ replied_at: number | null; reply_kind: string | null }>();
const receivedAt = async (inboundId: string) =>
  (await env.DB.prepare("SELECT received_at FROM inbound_messages WHERE id = ?").bind(inboundId).first<{ received_at: number }>())!
    .received_at;
const stageOf = async (contactId: string) =>
  (await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(contactId).first<{ stage_id: string }>())!.stage_id;
const ooo = { extra: "Auto-Submitted: auto-replied\r\n", subject: "Out of office", body: "I am out of the office this week." };

describe("correcting an inbound email the person answered again after", () => {
  beforeEach(() => startSimulation());

  it("an auto-acknowledgement taken for a reply, corrected after a real reply: the run stays finished and the email replied", async () => {
    const s = await sentFirst({ waits: [0, 1, 1] });
    const calls = countTransport(s.mailboxId);
    const e = s.m.enrollment_id;
    const r1 = await handleInbound(env, replyTo(s.m, { body: "Thanks for reaching out, I'll have a look." }));
    expect(r1.kind).toBe("reply");
    await runUntil(now() + 2 * HOUR);
    const r2 = await handleInbound(env, replyTo(s.m, { body: "Not interested right now, thanks." }));
    expect(r2.kind).toBe("reply");
    await runUntil(now() + 2 * HOUR);

    await classify(s.session, r1.inboundId!, "auto_reply");
    expect(await enrollmentRow(e)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await stageOf(s.m.contact_id)).toBe(`${s.teamId}-replied`);
    // The email's reply is now the real one, as of when it came in.
    expect(await answer(s.m.id)).toEqual({ replied_at: await receivedAt(r2.inboundId!), reply_kind: "reply" });
    await runUntil(now() + 4 * DAY);
    expect(calls.length).toBe(0);

    // With the real reply corrected too, nothing stands: the run carries on and the email has no reply.
    await classify(s.session, r2.inboundId!, "auto_reply");
    expect(await enrollmentRow(e)).toMatchObject({ status: "active", current_step: 2 });
    expect(await answer(s.m.id)).toEqual({ replied_at: null, reply_kind: null });
    expect(await stageOf(s.m.contact_id)).toBe(`${s.teamId}-cold`);
  });

  it("an out-of-office corrected after a real reply leaves the reply counted on the email", async () => {
    const s = await sentFirst();
    const r1 = await handleInbound(env, replyTo(s.m, ooo));
    expect(r1.kind).toBe("out_of_office");
    await runUntil(now() + 2 * HOUR);
    const r2 = await handleInbound(env, replyTo(s.m, { body: "Back now. Tuesday works." }));
    expect(r2.kind).toBe("reply");

    await classify(s.session, r1.inboundId!, "auto_reply");
    expect(await answer(s.m.id)).toEqual({ replied_at: await receivedAt(r2.inboundId!), reply_kind: "reply" });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    const report = await ok(client(s.session).api.sequences[":id"].report.$get({ param: { id: s.sequenceId }, query: {} }));
    expect(report.report.totals).toMatchObject({ replied: 1, out_of_office: 0 });
  });

  it("a hard bounce after it keeps the run finished when a wrongly taken reply is corrected", async () => {
    const s = await sentFirst({ waits: [0, 1, 1] });
    const calls = countTransport(s.mailboxId);
    const r1 = await handleInbound(env, replyTo(s.m, { body: "Thanks for reaching out, I'll have a look." }));
    await runUntil(now() + HOUR);
    expect((await handleInbound(env, dsn(s.m, "5.1.1"))).kind).toBe("bounce_hard");

    await classify(s.session, r1.inboundId!, "auto_reply");
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    // The stage: only a reply put the contact in Replied, and none stands.
    expect(await stageOf(s.m.contact_id)).toBe(`${s.teamId}-cold`);
    expect(await answer(s.m.id)).toEqual({ replied_at: null, reply_kind: null });
    await runUntil(now() + 4 * DAY);
    expect(calls.length).toBe(0);
  });
});

describe("a correction's time", () => {
  beforeEach(() => startSimulation());

  it("an old auto-reply corrected to a reply counts as replied when it arrived, not when it was corrected", async () => {
    const s = await sentFirst({ waits: [0, 30] });
    const r = await handleInbound(
      env,
      replyTo(s.m, { extra: "Auto-Submitted: auto-replied\r\n", subject: "Automatic reply", body: "We received your message." }),
    );
    expect(r.kind).toBe("auto_reply");
    const arrived = await receivedAt(r.inboundId!);
    await runUntil(now() + 15 * DAY);
    const corrected = now();

    await classify(s.session, r.inboundId!, "reply");
    expect(await answer(s.m.id)).toEqual({ replied_at: arrived, reply_kind: "reply" });
    // The run's transition is of now: it finished when the correction said so.
    const run = await env.DB.prepare("SELECT status, finished_at FROM enrollments WHERE id = ?")
      .bind(s.m.enrollment_id)
      .first<{ status: string; finished_at: number }>();
    expect(run!.status).toBe("finished");
    expect(run!.finished_at).toBeGreaterThanOrEqual(corrected);
  });
});
