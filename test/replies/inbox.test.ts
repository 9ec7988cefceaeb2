import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { setTransportOverride } from "../../worker/transports";
import { signUnsubscribeToken } from "../../worker/services/mime";
import { as, call, client, env, errorOf, ok, type Session } from "../helpers";
import { DAY, HOUR, runUntil, sessionFor, startSimulation } from "../fixtures";
import { countSent, dsn, enrollmentRow, replyTo, sentFirst } from "./mail";

type Api = ReturnType<typeof client>["api"];
type Classification = Parameters<Api["replies"][":id"]["classification"]["$post"]>[0]["json"]["classification"];
const repliesOf = (s: Session, query: Parameters<Api["replies"]["$get"]>[0]["query"] = {}) => ok(client(s).api.replies.$get({ query }));
const reply = (s: Session, id: string) => client(s).api.replies[":id"].$get({ param: { id } });
/** `confirm`: taking back an unsubscribe request lifts an opt-out, which needs it (as on the Do not email list). */
const classify = (s: Session, id: string, classification: Classification, confirm?: boolean) =>
  client(s).api.replies[":id"].classification.$post({ param: { id }, json: confirm ? { classification, confirm } : { classification } });

async function addUser(teamId: string, role: "admin" | "member" = "member") {
  const id = newId();
  await env.DB.prepare("INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Rep', ?, 'x', 0)")
    .bind(id, teamId, `${id}@sim.test`, role)
    .run();
  return sessionFor(teamId, id);
}

const overridden: string[] = [];
afterEach(() => {
  for (const id of overridden.splice(0)) setTransportOverride(id, null);
});

/** Counts what reaches the mailbox's transport (the emails that actually leave). */
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

describe("replies inbox", () => {
  beforeEach(() => startSimulation());

  it("lists every inbound email with its classification and evidence; the same email read twice is stored once", async () => {
    const s = await sentFirst({ n: 2 });
    const raw = replyTo(s.sent[0]!);
    await handleInbound(env, raw);
    expect((await handleInbound(env, raw)).duplicate).toBe(true);
    await handleInbound(env, dsn(s.sent[1]!, "5.1.1"));
    const b = await repliesOf(s.session);
    expect(b.pagination.total_entries).toBe(2);
    expect(b.counts).toEqual({ reply: 1, bounce_hard: 1 });
    const reply = b.replies.find((r) => r.classification === "reply")!;
    expect(reply).toMatchObject({
      detected: "reply",
      contact: { id: s.sent[0]!.contact_id },
      // The reason in words, as the contacts tab says it: the inbox shows it instead of the code.
      enrollment: { status: "finished", reason: "replied", reason_text: "Contact replied" },
      answered: { step: 1 },
    });
    expect(reply.evidence).toEqual({ rule: "threaded_reply", header: `In-Reply-To: ${s.sent[0]!.message_id_header}` });
    const bounces = await repliesOf(s.session, { classification: "bounce_hard" });
    expect(bounces.replies.map((r) => r.evidence.rule)).toEqual(["dsn_status"]);
  });

  it("another team and a member who can't see the sequence get 404 on its replies, and none in their list", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, replyTo(s.m));
    const member = await addUser(s.teamId);
    const other = await sentFirst();
    for (const who of [member, other.session]) {
      expect((await errorOf(await reply(who, r.inboundId!))).status).toBe(404);
      expect((await errorOf(await classify(who, r.inboundId!, "auto_reply"))).status).toBe(404);
      expect((await repliesOf(who)).replies).toEqual([]);
    }
    // Shared for viewing: visible, but correcting it needs edit access.
    await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'view')")
      .bind(s.sequenceId, member.userId, s.teamId)
      .run();
    expect((await reply(member, r.inboundId!)).status).toBe(200);
    expect((await errorOf(await classify(member, r.inboundId!, "auto_reply"))).status).toBe(403);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    // And the inbox doesn't offer the viewer a correction it would refuse; the owner it offers.
    expect((await repliesOf(member)).replies.map((x) => x.can_correct)).toEqual([false]);
    expect((await repliesOf(s.session)).replies.map((x) => x.can_correct)).toEqual([true]);
  });

  it("a reply wrongly classified and corrected resumes at the right step and sends the next step once (counted at the transport)", async () => {
    const s = await sentFirst({ waits: [0, 1, 1] });
    const calls = countTransport(s.mailboxId);
    const r = await handleInbound(env, replyTo(s.m, { body: "Thanks for reaching out, I'll have a look." }));
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    await runUntil(now() + 2 * HOUR);
    const body = await ok(classify(s.session, r.inboundId!, "auto_reply"));
    expect(body.reply).toMatchObject({ classification: "auto_reply", detected: "reply", corrected: true });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active", current_step: 2 });
    // The reply no longer counts as one in the reports; the contact's stage is back.
    expect(await env.DB.prepare("SELECT replied_at, reply_kind FROM messages WHERE id = ?").bind(s.m.id).first()).toEqual({
      replied_at: null,
      reply_kind: null,
    });
    expect(
      (await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(s.m.contact_id).first<{ stage_id: string }>())!.stage_id,
    ).toBe(`${s.teamId}-cold`);
    // Step 2 waits its day from step 1, then goes out once; step 3 a day later; nothing twice.
    await runUntil(now() + 12 * HOUR);
    expect(calls.length).toBe(0);
    await runUntil(now() + 3 * DAY);
    expect(calls.length).toBe(2);
    expect(new Set(calls).size).toBe(2);
    expect(await countSent(s.sequenceId)).toBe(3);
    const steps = (
      await env.DB.prepare(
        "SELECT s.position FROM messages m JOIN steps s ON s.id = m.step_id WHERE m.enrollment_id = ? ORDER BY s.position",
      )
        .bind(s.m.enrollment_id)
        .all<{ position: number }>()
    ).results;
    expect(steps.map((x) => x.position)).toEqual([1, 2, 3]);
    const log = await env.DB.prepare("SELECT user_id, details FROM audit_log WHERE team_id = ? AND action = 'reply.reclassified'")
      .bind(s.teamId)
      .first<{ user_id: string; details: string }>();
    expect(log!.user_id).toBe(s.userId);
    expect(JSON.parse(log!.details)).toMatchObject({ from: "reply", to: "auto_reply" });
  });

  it("a bounce corrected is unsuppressed: the contact is no longer bounced and gets its next step", async () => {
    const s = await sentFirst();
    const calls = countTransport(s.mailboxId);
    const r = await handleInbound(env, dsn(s.m, "5.1.1"));
    expect(r.kind).toBe("bounce_hard");
    expect(await env.DB.prepare("SELECT count(*) n FROM suppressions WHERE team_id = ?").bind(s.teamId).first()).toEqual({ n: 1 });
    expect((await classify(s.session, r.inboundId!, "auto_reply")).status).toBe(200);
    expect(await env.DB.prepare("SELECT count(*) n FROM suppressions WHERE team_id = ?").bind(s.teamId).first()).toEqual({ n: 0 });
    expect(await env.DB.prepare("SELECT bounced_at FROM contacts WHERE id = ?").bind(s.m.contact_id).first()).toEqual({ bounced_at: null });
    expect(await env.DB.prepare("SELECT status FROM messages WHERE id = ?").bind(s.m.id).first()).toEqual({ status: "sent" });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
    await runUntil(now() + 3 * DAY);
    expect(calls.length).toBe(1);
  });

  it("an out-of-office reclassified as a reply is finished (and counted as a reply)", async () => {
    const s = await sentFirst();
    const r = await handleInbound(
      env,
      replyTo(s.m, { extra: "Auto-Submitted: auto-replied\r\n", subject: "Out of office", body: "Away until next week." }),
    );
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "paused", reason: "out_of_office" });
    expect((await classify(s.session, r.inboundId!, "reply")).status).toBe(200);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await env.DB.prepare("SELECT reply_kind FROM messages WHERE id = ?").bind(s.m.id).first()).toEqual({ reply_kind: "reply" });
    // Confirming it again changes nothing but marks it reviewed; the unreviewed filter no longer lists it.
    expect((await classify(s.session, r.inboundId!, "reply")).status).toBe(200);
    expect((await repliesOf(s.session, { unhandled: "true" })).replies).toEqual([]);
  });

  it("a reply after an out-of-office to the same email counts as its reply in the report; correcting it gives the out-of-office back", async () => {
    const s = await sentFirst();
    await handleInbound(
      env,
      replyTo(s.m, { extra: "Auto-Submitted: auto-replied\r\n", subject: "Out of office", body: "Away until next week." }),
    );
    const r = await handleInbound(env, replyTo(s.m, { body: "Back now. Tuesday works." }));
    expect(r.kind).toBe("reply");
    const report = () => ok(client(s.session).api.sequences[":id"].report.$get({ param: { id: s.sequenceId }, query: {} }));
    expect((await report()).report.totals).toMatchObject({ replied: 1, out_of_office: 0 });
    await classify(s.session, r.inboundId!, "auto_reply");
    expect((await report()).report.totals).toMatchObject({ replied: 0, out_of_office: 1 });
    expect(await env.DB.prepare("SELECT reply_kind FROM messages WHERE id = ?").bind(s.m.id).first()).toEqual({
      reply_kind: "out_of_office",
    });
  });

  it("the inbox says of a run what its contacts tab says: a disconnected mailbox, not 'Queued'", async () => {
    const s = await sentFirst({ settings: { finish_on_reply: false } });
    await handleInbound(env, replyTo(s.m));
    await ok(client(s.session).api.mailboxes[":id"].disconnect.$post({ param: { id: s.mailboxId } }));
    const [row] = (await repliesOf(s.session)).replies;
    expect(row!.enrollment).toMatchObject({
      status: "active",
      reason: "mailbox_disconnected",
      reason_text: expect.stringMatching(/^Mailbox is disconnected/),
    });
  });

  it("correcting an unsubscribe reply keeps an opt-out the person made since with the email's link", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, replyTo(s.m, { body: "Please remove me from your list." }));
    expect(r.kind).toBe("unsubscribe");
    const token = await signUnsubscribeToken(env.APP_SECRET!, { teamId: s.teamId, email: s.m.to_email });
    const click = await call(`/unsubscribe/${token}`, {
      method: "POST",
      body: "List-Unsubscribe=One-Click",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(click.status).toBe(200);
    await ok(classify(s.session, r.inboundId!, "reply", true));
    expect(await env.DB.prepare("SELECT reason, source FROM suppressions WHERE team_id = ?").bind(s.teamId).first()).toEqual({
      reason: "unsubscribed",
      source: "one_click",
    });
    expect(
      await env.DB.prepare("SELECT unsubscribed_at IS NOT NULL AS marked FROM contacts WHERE id = ?").bind(s.m.contact_id).first(),
    ).toEqual({
      marked: 1,
    });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    await runUntil(now() + 3 * DAY);
    expect(await countSent(s.sequenceId)).toBe(1);
  });

  it("a reply corrected to an unsubscribe request suppresses the address; corrected back, it is unsuppressed", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, replyTo(s.m));
    await classify(s.session, r.inboundId!, "unsubscribe");
    expect(await env.DB.prepare("SELECT reason FROM suppressions WHERE team_id = ?").bind(s.teamId).first()).toEqual({
      reason: "unsubscribed",
    });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    await ok(classify(s.session, r.inboundId!, "reply", true));
    expect(await env.DB.prepare("SELECT count(*) n FROM suppressions WHERE team_id = ?").bind(s.teamId).first()).toEqual({ n: 0 });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    // A raw body on purpose: "spam" is no classification, so the typed client can't send it.
    expect(
      (await errorOf(await as(s.session, "POST", `/api/replies/${r.inboundId}/classification`, { classification: "spam" }))).status,
    ).toBe(422);
  });
});
