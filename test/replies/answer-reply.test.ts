// Answering a reply from the inbox (POST /replies/{id}/reply): sent once, now, from the mailbox the reply
// came to, threaded, counted against that mailbox's caps, recorded as an email with no sequence, and
// refused (nothing sent, nothing recorded) where the rights, the address or the mailbox say no.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { sha256Hex } from "../../worker/lib/crypto";
import { answerReply } from "../../worker/services/reply-answer";
import { setTransportOverride } from "../../worker/transports";
import type { OutgoingEmail } from "../../worker/transports/types";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { mailboxLedger, makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";
import { as, client, env, errorOf, ok, withKey } from "../helpers";
import { enrollmentRow, replyTo, sentFirst, type Sent } from "./mail";

const path = (id: string) => `/api/replies/${id}/reply`;
const decoded = (raw: string) =>
  raw.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

/** A sent first step, its reply in the inbox, and the mailbox's transport counted from here on. */
async function answered(o: Parameters<typeof sentFirst>[0] & { body?: string } = {}) {
  const s = await sentFirst(o);
  await handleInbound(env, replyTo(s.m, { id: `their-${crypto.randomUUID()}`, ...(o.body ? { body: o.body } : {}) }));
  const api = client(s.session).api;
  const reply = (await ok(api.replies.$get({ query: {} }))).replies[0]!;
  const sent: OutgoingEmail[] = [];
  setTransportOverride(s.mailboxId, { send: async (m) => (sent.push(m), { ok: true, response: "250 accepted" }) });
  return { ...s, api, reply, sent };
}

const answerRows = (enrollmentId: string) =>
  env.DB.prepare("SELECT * FROM messages WHERE enrollment_id = ? AND step_id LIKE 'reply:%'")
    .bind(enrollmentId)
    .all<Sent & { sequence_id: string; step_id: string; status: string; mailbox_id: string; in_reply_to: string; raw: string }>()
    .then((r) => r.results);

const teamSent = (teamId: string) =>
  env.DB.prepare("SELECT coalesce(sum(n), 0) AS n FROM team_message_counts WHERE team_id = ? AND status = 'sent'")
    .bind(teamId)
    .first<{ n: number }>()
    .then((r) => r!.n);
const rollupSent = (sequenceId: string) =>
  env.DB.prepare("SELECT coalesce(sum(sent), 0) AS n FROM report_rollup WHERE sequence_id = ?")
    .bind(sequenceId)
    .first<{ n: number }>()
    .then((r) => r!.n);

describe("answering a reply from the inbox", () => {
  let mailboxes: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const id of mailboxes) setTransportOverride(id, null);
    mailboxes = [];
  });

  it("sends once, threaded under their email, recorded outside the step counts, and an answer to it is matched to the run", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    const enrollmentBefore = await enrollmentRow(s.m.enrollment_id);
    const [teamBefore, rollupBefore, ledgerBefore] = [
      await teamSent(s.teamId),
      await rollupSent(s.sequenceId),
      (await mailboxLedger(s.mailboxId)).queue.length,
    ];
    const headerId = (await env.DB.prepare("SELECT header_id FROM inbound_messages WHERE id = ?")
      .bind(s.reply.id)
      .first<{ header_id: string }>())!.header_id;

    const first = await as(s.session, "POST", path(s.reply.id), { body: "Tuesday 10am works.\nTalk then" }, { "idempotency-key": "k-1" });
    expect(first.status).toBe(200);
    const { sent } = (await first.json()) as { sent: { id: string; status: string; subject: string; mailbox: { email: string } } };
    expect(sent).toMatchObject({ status: "sent", subject: `Re: ${s.m.subject}` });
    // A double click or a client retry with the same key: the stored answer, nothing sent again.
    const again = await as(s.session, "POST", path(s.reply.id), { body: "Tuesday 10am works.\nTalk then" }, { "idempotency-key": "k-1" });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");

    expect(s.sent).toHaveLength(1);
    const raw = s.sent[0]!.raw;
    expect(s.sent[0]!.to).toBe(s.m.to_email);
    expect(raw).toContain(`In-Reply-To: ${headerId}`);
    expect(raw).toMatch(
      new RegExp(
        `References: ${s.m.message_id_header.replace(/[.*+?^${}()|[\]\\<>]/g, "\\$&")}\\s+${headerId.replace(/[.*+?^${}()|[\]\\<>]/g, "\\$&")}`,
      ),
    );
    expect(raw).toContain(`Subject: Re: ${s.m.subject}`);
    const text = decoded(raw);
    expect(text).toContain("Tuesday 10am works.\r\nTalk then");
    expect(text).toMatch(/On .+ UTC, .+ wrote:\r\n> Sounds good, let's talk Tuesday\./);

    // Recorded once, as an email of the run with no sequence, from the mailbox the reply came to.
    const rows = await answerRows(s.m.enrollment_id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: sent.id,
      sequence_id: "",
      status: "sent",
      mailbox_id: s.mailboxId,
      contact_id: s.m.contact_id,
      in_reply_to: headerId,
    });
    expect(rows[0]!.raw).toBe(raw);
    // The mailbox's ledger counts it against the caps.
    const ledger = (await mailboxLedger(s.mailboxId)).queue;
    expect(ledger).toHaveLength(ledgerBefore + 1);
    expect(ledger.find((q) => q.step_id === rows[0]!.step_id)).toMatchObject({ state: "sent", sequence_id: "", reported: 1 });
    const mb = (await ok(s.api.mailboxes[":id"].$get({ param: { id: s.mailboxId } }))).mailbox;
    expect(mb.capacity.used_last_24h).toBe(ledgerBefore + 1);

    // The Outbox lists it and counts it; the sequence's report does not count it as a step's send.
    expect(await teamSent(s.teamId)).toBe(teamBefore + 1);
    expect(await rollupSent(s.sequenceId)).toBe(rollupBefore);
    const outbox = await ok(s.api.messages.$get({ query: {} }));
    expect(outbox.messages.find((m) => m.id === sent.id)).toMatchObject({ sequence: null, step_id: rows[0]!.step_id });
    expect(outbox.pagination.total_entries).toBe(teamBefore + 1);
    // The contact's timeline shows it; the dialog's thread (the reply's text) lists it.
    const timeline = await ok(s.api.contacts[":id"].timeline.$get({ param: { id: s.m.contact_id }, query: {} }));
    expect(timeline.events.some((e) => e.kind === "email" && e.data.message_id === sent.id)).toBe(true);
    const thread = await ok(s.api.replies[":id"].text.$get({ param: { id: s.reply.id } }));
    expect(thread.answers.map((a) => [a.id, a.body])).toEqual([[sent.id, "Tuesday 10am works.\nTalk then"]]);
    // The run is as the reply left it.
    expect(await enrollmentRow(s.m.enrollment_id)).toEqual(enrollmentBefore);

    // Their answer to our answer (threaded to it only) is matched to the same contact and run.
    await handleInbound(env, replyTo({ ...s.m, message_id_header: rows[0]!.message_id_header }, { body: "See you Tuesday" }));
    const matched = await env.DB.prepare("SELECT enrollment_id, contact_id, message_id FROM inbound_messages WHERE message_id = ?")
      .bind(sent.id)
      .all();
    expect(matched.results).toEqual([{ enrollment_id: s.m.enrollment_id, contact_id: s.m.contact_id, message_id: sent.id }]);
  });

  it("a retry of a request that died after the hand-over finds the answer in the ledger and sends nothing again", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    const caller = { teamId: s.teamId, userId: s.userId, role: "admin", via: "session", grants: [] } as unknown as Caller;
    await answerReply(env, db(env.DB), caller, s.reply.id, { body: "Yes" }, "same-key");
    // The idempotency record is gone (the first request died): the handler runs again with the same key.
    const again = await answerReply(env, db(env.DB), caller, s.reply.id, { body: "Yes" }, "same-key").catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 409, message: expect.stringContaining("already sent") });
    expect(s.sent).toHaveLength(1);
    expect(await answerRows(s.m.enrollment_id)).toHaveLength(1);
  });

  it("is refused for an address on the Do not email list and for a request to be removed: nothing sent, nothing recorded", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, 'manual', 'manual', 0)",
    )
      .bind(crypto.randomUUID(), s.teamId, s.m.to_email.toLowerCase())
      .run();
    const res = await as(s.session, "POST", path(s.reply.id), { body: "Hello" });
    expect(res.status).toBe(422);
    expect((await errorOf(res)).message).toContain("no answer is sent");

    const u = await answered({ body: "Please remove me from your mailing list." });
    mailboxes.push(u.mailboxId);
    expect(u.reply.classification).toBe("unsubscribe");
    expect(u.reply.answer).toMatchObject({ can: false, why: expect.stringContaining("asked to be removed") });
    const r2 = await as(u.session, "POST", path(u.reply.id), { body: "Sorry to see you go" });
    expect(r2.status).toBe(422);
    expect((await errorOf(r2)).message).toContain("asked to be removed");

    expect([...s.sent, ...u.sent]).toHaveLength(0);
    expect(await answerRows(s.m.enrollment_id)).toHaveLength(0);
    expect(await answerRows(u.m.enrollment_id)).toHaveLength(0);
  });

  it("needs the mailbox to be yours (or an admin's): a member 403, another team 404, an admin's standard key as its rights say", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    const member = await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "edit" });
    const m = await sessionFor(s.teamId, member);
    const seen = (await ok(client(m).api.replies[":id"].$get({ param: { id: s.reply.id } }))).reply;
    expect(seen.answer).toMatchObject({ can: false, why: expect.stringContaining("owner") });
    const r1 = await as(m, "POST", path(s.reply.id), { body: "Hi" });
    expect(r1.status).toBe(403);

    const other = await makeTeam("Rival");
    const r2 = await as(await sessionFor(other.teamId, other.userId), "POST", path(s.reply.id), { body: "Hi" });
    expect(r2.status).toBe(404);

    // A second admin may answer from the first admin's mailbox when signed in, but their standard key drops the
    // admin role: it sees the reply (the sequence is shared with them) and mailbox.send is then the owner's alone.
    const admin2 = await makeUser(s.teamId, "admin", { sequenceId: s.sequenceId, access: "edit" });
    const key = `s-${crypto.randomUUID()}`;
    await env.DB.prepare(
      "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'k', 'standard', ?, ?, 0)",
    )
      .bind(crypto.randomUUID(), s.teamId, admin2, await sha256Hex(key), key.slice(0, 9))
      .run();
    const r3 = await withKey(key, "POST", path(s.reply.id), { body: "Hi" });
    expect(r3.status).toBe(403);
    expect(s.sent).toHaveLength(0);
    expect(await answerRows(s.m.enrollment_id)).toHaveLength(0);
  });

  it("a member answering from their own mailbox sees the answer in the contact's timeline and the Outbox", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    const member = await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "view" });
    await env.DB.prepare("UPDATE mailboxes SET user_id = ? WHERE id = ?").bind(member, s.mailboxId).run();
    const api = client(await sessionFor(s.teamId, member)).api;
    const { sent } = await ok(api.replies[":id"].reply.$post({ param: { id: s.reply.id }, json: { body: "Happy to" } }));
    expect(s.sent).toHaveLength(1);
    const timeline = await ok(api.contacts[":id"].timeline.$get({ param: { id: s.m.contact_id }, query: {} }));
    expect(timeline.events.filter((e) => e.kind === "email").map((e) => e.data.message_id)).toContain(sent.id);
    const outbox = await ok(api.messages.$get({ query: { contact_id: s.m.contact_id } }));
    expect(outbox.messages.map((m) => m.id)).toContain(sent.id);
  });

  it("is refused while the mailbox is at its daily limit, the ledger unchanged", async () => {
    const s = await answered();
    mailboxes.push(s.mailboxId);
    // The first step already went out from it: a limit of 1 is used up.
    await env.DB.prepare("UPDATE mailboxes SET daily_limit = 1 WHERE id = ?").bind(s.mailboxId).run();
    const before = (await mailboxLedger(s.mailboxId)).queue;
    const res = await as(s.session, "POST", path(s.reply.id), { body: "Hi" });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toContain("daily limit of 1");
    expect((await mailboxLedger(s.mailboxId)).queue).toEqual(before);
    expect(s.sent).toHaveLength(0);
    expect(await answerRows(s.m.enrollment_id)).toHaveLength(0);
  });
});
