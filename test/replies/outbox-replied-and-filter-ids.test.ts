// The Outbox and the Replies inbox filtered by an id the caller can't see answer 404 (as the scheduled
// emails' filters do), not an empty page; the inbox filters by the answered email's mailbox (the sequence
// report's mailbox filter, carried over by its Replies link); and each Outbox row says when the contact
// replied to it or after it in the same run, read in the page's own statement.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { countedGet, env } from "../helpers";
import { makeContacts, makeMailbox, makeSequence, makeTeam, makeUser, runUntil, sessionFor, startSimulation } from "../fixtures";
import { now } from "../../worker/lib/clock";
import { replyTo, sentFirst } from "./mail";

type Outbox = {
  messages: { id: string; enrollment_id: string; step_id: string; sent_at: number | null; replied_at: number | null }[];
  pagination: { total_entries: number };
};
type Inbox = { replies: { id: string }[]; pagination: { total_entries: number } };
type Err = { error: { code: string; message: string } };

const DAY = 86_400_000;

describe("the Outbox and the Replies inbox", () => {
  beforeEach(() => startSimulation());

  it("answer 404 for a sequence, mailbox or contact filter of another team, unknown, or not shared with the caller", async () => {
    const s = await sentFirst({ n: 2 });
    const inbound = (await handleInbound(env, replyTo(s.m))).inboundId!;
    const other = await makeTeam();
    const foreignSeq = (await makeSequence(other.teamId, other.userId, [{ wait: 0 }], null, false)).sequenceId;
    const foreignMailbox = await makeMailbox(other.teamId, other.userId);
    const [foreignContact] = await makeContacts(other.teamId, 1);

    // The filters that name what the caller sees still answer its rows.
    const mine = await countedGet<Outbox>(s.session.cookie, `/api/messages?sequence_id=${s.sequenceId}&mailbox_id=${s.mailboxId}`);
    expect(mine.status).toBe(200);
    expect(mine.body.messages.map((m) => m.id).sort()).toEqual(s.sent.map((m) => m.id).sort());
    const inbox = await countedGet<Inbox>(s.session.cookie, `/api/replies?sequence_id=${s.sequenceId}&contact_id=${s.m.contact_id}`);
    expect(inbox.body.replies.map((r) => r.id)).toEqual([inbound]);

    for (const [q, what] of [
      [`sequence_id=${foreignSeq}`, "Sequence"],
      ["sequence_id=nope", "Sequence"],
      [`mailbox_id=${foreignMailbox}`, "Mailbox"],
      [`contact_id=${foreignContact}`, "Contact"],
    ] as const) {
      for (const path of [`/api/messages?${q}`, `/api/replies?${q}`]) {
        const r = await countedGet<Err>(s.session.cookie, path);
        expect([path, r.status, r.body.error?.message]).toEqual([path, 404, `${what} not found`]);
      }
    }

    // A member the admin's sequence isn't shared with: 404 for it, as its own page answers; shared, its emails and replies.
    const member = await sessionFor(s.teamId, await makeUser(s.teamId, "member"));
    for (const path of [`/api/messages?sequence_id=${s.sequenceId}`, `/api/replies?sequence_id=${s.sequenceId}`]) {
      const r = await countedGet<Err>(member.cookie, path);
      expect([path, r.status, r.body.error?.message]).toEqual([path, 404, "Sequence not found"]);
    }
    const viewer = await sessionFor(s.teamId, await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "view" }));
    expect((await countedGet<Outbox>(viewer.cookie, `/api/messages?sequence_id=${s.sequenceId}`)).body.pagination.total_entries).toBe(2);
    expect((await countedGet<Inbox>(viewer.cookie, `/api/replies?sequence_id=${s.sequenceId}`)).body.replies.map((r) => r.id)).toEqual([
      inbound,
    ]);
  });

  it("filters the inbox by the mailbox the answered email went from", async () => {
    const s = await sentFirst({ n: 1 });
    const inbound = (await handleInbound(env, replyTo(s.m))).inboundId!;
    const otherMailbox = await makeMailbox(s.teamId, s.userId);
    const from = await countedGet<Inbox>(s.session.cookie, `/api/replies?mailbox_id=${s.mailboxId}`);
    expect(from.body.replies.map((r) => r.id)).toEqual([inbound]);
    const none = await countedGet<Inbox>(s.session.cookie, `/api/replies?mailbox_id=${otherMailbox}`);
    expect(none.status).toBe(200);
    expect(none.body.pagination.total_entries).toBe(0);
  });

  it("says on each email when the contact replied to it, or later in the same run, in the page's one statement", async () => {
    // Three contacts, two emails a day apart, runs that go on after a reply (finish_on_reply off).
    const s = await sentFirst({ n: 3, settings: { finish_on_reply: false } });
    const [a, b, c] = s.sent;
    // a answers the first email before the second goes out; b answers the first after the second went out.
    await handleInbound(env, replyTo(a!));
    await runUntil(now() + 2 * DAY);
    const firstOf = (e: string) => s.sent.find((m) => m.enrollment_id === e)!.id;
    await handleInbound(env, replyTo(b!));
    // c sends an out-of-office: not a reply.
    await handleInbound(
      env,
      replyTo(c!, { extra: "Auto-Submitted: auto-replied\r\n", subject: "Out of office", body: "I'm away, back on 2027-03-09." }),
    );

    const r = await countedGet<Outbox>(s.session.cookie, `/api/messages?sequence_id=${s.sequenceId}`);
    expect(r.body.messages).toHaveLength(6);
    const badge = (m: Outbox["messages"][number]) =>
      `${m.enrollment_id === a!.enrollment_id ? "a" : m.enrollment_id === b!.enrollment_id ? "b" : "c"}${m.id === firstOf(m.enrollment_id) ? 1 : 2}:${m.replied_at !== null}`;
    expect(r.body.messages.map(badge).sort()).toEqual(["a1:true", "a2:false", "b1:true", "b2:true", "c1:false", "c2:false"]);
    const stamped = await env.DB.prepare("SELECT id, replied_at FROM messages WHERE sequence_id = ? AND reply_kind = 'reply'")
      .bind(s.sequenceId)
      .all<{ id: string; replied_at: number }>();
    const b1 = r.body.messages.find((m) => m.id === b!.id)!;
    expect(b1.replied_at).toBe(stamped.results.find((x) => x.id === b!.id)!.replied_at);
    // b's second email carries the reply that came after it (to the first).
    expect(r.body.messages.find((m) => m.enrollment_id === b!.enrollment_id && m.id !== b!.id)!.replied_at).toBe(b1.replied_at);
    // The session, the sequence filter's check, the page and its total: no read per row.
    expect(r.count.roundTrips, r.count.statements.join("\n")).toBe(4);
  });
});
