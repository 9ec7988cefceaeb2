import { describe, expect, it } from "vitest";
import { classifyInbound, newText } from "../../worker/services/reply-classify";
import { dsn, replyTo, type Sent } from "./mail";

const m: Sent = {
  id: "m1",
  enrollment_id: "e1",
  contact_id: "c1",
  to_email: "ana@acme.test",
  subject: "Quick question",
  message_id_header: `<sf.${"a".repeat(24)}.${"b".repeat(24)}@sender.test>`,
};
const t = Date.UTC(2027, 2, 1);

describe("inbound classification and its evidence", () => {
  it("a 5.1.1 report is a hard bounce, with the delivery status as evidence", async () => {
    const c = await classifyInbound(dsn(m, "5.1.1"), t);
    expect(c).toMatchObject({
      kind: "bounce_hard",
      ids: [m.message_id_header],
      bounceStatus: "5.1.1",
      evidence: { rule: "dsn_status", status: "5.1.1" },
    });
    expect(c.evidence.header).toContain("Status: 5.1.1");
  });

  it("a 4.x.x reported as failed and a full mailbox (5.2.2) are soft bounces; a delay notice is ignored", async () => {
    expect((await classifyInbound(dsn(m, "4.2.2"), t)).kind).toBe("bounce_soft");
    expect((await classifyInbound(dsn(m, "5.2.2"), t)).kind).toBe("bounce_soft");
    const delayed = await classifyInbound(dsn(m, "4.4.7", "delayed"), t);
    expect(delayed).toMatchObject({ kind: "ignored", evidence: { rule: "dsn_delayed" } });
  });

  it("an auto-submitted acknowledgement is an auto-reply, an auto-submitted 'out of office' with a date is out-of-office", async () => {
    const ack = await classifyInbound(
      replyTo(m, {
        extra: "Auto-Submitted: auto-replied\r\n",
        subject: "We received your message",
        body: "Thanks, a member of our team will answer soon.",
      }),
      t,
    );
    expect(ack).toMatchObject({ kind: "auto_reply", evidence: { rule: "auto_submitted", header: "Auto-Submitted: auto-replied" } });
    const ooo = await classifyInbound(
      replyTo(m, { extra: "Auto-Submitted: auto-replied\r\n", subject: "Out of office", body: "I'm away, back on 2027-03-09." }),
      t,
    );
    expect(ooo).toMatchObject({
      kind: "out_of_office",
      returnAt: Date.UTC(2027, 2, 9, 9),
      evidence: { rule: "auto_reply_with_return_date", phrase: "Out of office" },
    });
  });

  it("a reply asking to be removed is an unsubscribe request naming the phrase; the quoted footer doesn't count", async () => {
    const quoted = `Thanks, sounds interesting.\r\n\r\nOn Mon, Mar 1, 2027 at 10:00 AM Sim <s@x.test> wrote:\r\n> Hello\r\n> Unsubscribe: https://x.test/unsubscribe/abc\r\n`;
    expect((await classifyInbound(replyTo(m, { body: quoted }), t)).kind).toBe("reply");
    const stop = await classifyInbound(replyTo(m, { body: "Please remove me from your list.\r\n\r\n> Hello" }), t);
    expect(stop).toMatchObject({ kind: "unsubscribe", evidence: { rule: "asks_to_be_removed", phrase: "remove me" } });
  });

  it("a reply names the threading header that matched it; mail that answers none of ours is left to a sender match", async () => {
    const c = await classifyInbound(replyTo(m), t);
    expect(c).toMatchObject({ kind: "reply", evidence: { rule: "threaded_reply", header: `In-Reply-To: ${m.message_id_header}` } });
    expect(c.headerId).toMatch(/^<r-.+@mail\.test>$/);
    // No id of ours: a person's words go on with no ids, for recordInbound to match by sender or drop
    // (test/replies/sender-match.test.ts); an automatic answer is ignored at once.
    expect(await classifyInbound("From: a@b.test\r\nSubject: hello\r\n\r\nhi", t)).toMatchObject({
      kind: "reply",
      ids: [],
      evidence: { rule: "sender_match" },
    });
    const auto = await classifyInbound("From: a@b.test\r\nSubject: hello\r\nAuto-Submitted: auto-replied\r\n\r\nI am out of office", t);
    expect(auto).toMatchObject({ kind: "ignored", evidence: { rule: "not_a_reply_to_our_email" } });
  });

  it("one of our own follow-ups, read back from an inbox we poll, is ignored: its footer is no unsubscribe request", async () => {
    const ours = `<sf.${"c".repeat(24)}.${"d".repeat(24)}@sender.test>`;
    const followUp = replyTo(m, { body: "Just bumping this up.\r\n\r\n-- \r\nSam\r\nUnsubscribe: https://x.test/unsubscribe/abc" }).replace(
      /^Message-ID: .*$/m,
      `Message-ID: ${ours}`,
    );
    expect(await classifyInbound(followUp, t)).toMatchObject({ kind: "ignored", ids: [], evidence: { rule: "our_own_email" } });
  });

  it("a reply over a quote written without '>' (Outlook, in other languages) is a reply: the quoted footer doesn't count", async () => {
    const quoted = (intro: string) =>
      `Ja, gerne – Dienstag passt.\r\n\r\n${intro}\r\nBetreff: Quick question\r\n\r\nHello\r\n\r\n-- \r\nSam\r\nUnsubscribe: https://x.test/unsubscribe/abc\r\n`;
    for (const intro of [
      "Von: Sam <s@x.test>\r\nGesendet: Montag, 1. März 2027 10:00",
      "-----Ursprüngliche Nachricht-----",
      "De : Sam <s@x.test>",
      "________________________________\r\nFrom: Sam",
      "Am Mo., 1. März 2027 um 10:00 Uhr schrieb Sam <s@x.test>:",
    ])
      expect((await classifyInbound(replyTo(m, { body: quoted(intro) }), t)).kind, intro).toBe("reply");
    // A signature separator with our footer after it, and nothing quoted: the footer is still not new text.
    expect(newText("Thanks!\n-- \nUnsubscribe: https://x.test/unsubscribe/abc")).toBe("Thanks!");
  });

  it("a human reply is a reply even when our subject, which it repeats, reads like an auto-reply", async () => {
    for (const subject of [
      "Re: Planning annual leave across 40 offices",
      "RE: Out of office coverage for your support team",
      "AW: Your auto-reply templates",
      "SV: Automatic reply rules, done right",
      "Fwd: Re: Currently away from the office? Still reachable",
    ])
      expect(await classifyInbound(replyTo(m, { subject, body: "Sounds great, send me the details." }), t), subject).toMatchObject({
        kind: "reply",
        evidence: { rule: "threaded_reply" },
      });
    // Sent automatically (its header says so) under our subject: its words are no out-of-office.
    const ack = await classifyInbound(
      replyTo(m, {
        extra: "Auto-Submitted: auto-replied\r\n",
        subject: "Re: Planning annual leave across 40 offices",
        body: "Thanks, we received your message.",
      }),
      t,
    );
    expect(ack).toMatchObject({ kind: "auto_reply", evidence: { rule: "auto_submitted", header: "Auto-Submitted: auto-replied" } });
  });

  it("an out-of-office is still one by its subject's own lead or its header, with our subject after it", async () => {
    const lead = await classifyInbound(
      replyTo(m, { subject: "Automatic reply: Quick question", body: "I am out of the office, back on 2027-03-09." }),
      t,
    );
    expect(lead).toMatchObject({ kind: "out_of_office", returnAt: Date.UTC(2027, 2, 9, 9), evidence: { phrase: "out of the office" } });
    const outlook = await classifyInbound(
      replyTo(m, { subject: "Out of Office: Re: Quick question", body: "On leave, limited access." }),
      t,
    );
    expect(outlook).toMatchObject({ kind: "out_of_office", evidence: { rule: "auto_reply_out_of_office", phrase: "Out of Office" } });
    const vacation = await classifyInbound(
      replyTo(m, { extra: "Auto-Submitted: auto-replied\r\n", subject: "Re: Quick question", body: "I'm on vacation until March 8." }),
      t,
    );
    expect(vacation).toMatchObject({ kind: "out_of_office", returnAt: Date.UTC(2027, 2, 8, 9) });
  });

  it("reads only the new part of a reply", () => {
    expect(newText("Yes please\n\nOn Tue, X wrote:\n> old")).toBe("Yes please");
    expect(newText("Call me\n-----Original Message-----\nFrom: y")).toBe("Call me");
  });
});
