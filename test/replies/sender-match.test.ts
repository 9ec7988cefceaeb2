import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { env } from "../helpers";
import { now } from "../../worker/lib/clock";
import { pollReplies } from "../../worker/services/reply-polling";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, runUntil, startSimulation } from "../fixtures";
import { control, teamWith } from "../mailboxes/oauth-sign-in";
import { enrollmentRow, sentFirst, type Sent } from "./mail";

/** A person's email to the rep with no In-Reply-To / References (a client that drops them, or a fresh email). */
const fresh = (from: string, to: string, body = "Yes, let's talk Tuesday.") =>
  `From: Prospect <${from}>\r\nTo: ${to}\r\nSubject: About your note\r\nMessage-ID: <f-${crypto.randomUUID()}@mail.test>\r\nContent-Type: text/plain\r\n\r\n${body}\r\n`;

const mailboxEmail = async (id: string) =>
  (await env.DB.prepare("SELECT email FROM mailboxes WHERE id = ?").bind(id).first<{ email: string }>())!.email;
const stored = async (messageId: string) =>
  (
    await env.DB.prepare("SELECT classification, evidence, from_email FROM inbound_messages WHERE message_id = ?")
      .bind(messageId)
      .all<{ classification: string; evidence: string; from_email: string }>()
  ).results;

describe("a reply without threading headers", () => {
  beforeEach(() => startSimulation());

  it("is matched by its sender to the newest email this mailbox sent them in an open run, and finishes the run", async () => {
    const s = await sentFirst();
    const to = await mailboxEmail(s.mailboxId);
    const r = await handleInbound(env, fresh(s.m.to_email.toUpperCase(), to.toUpperCase()), to.toUpperCase());
    expect(r).toMatchObject({ kind: "reply", messageId: s.m.id, enrollmentId: s.m.enrollment_id });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    const [row] = await stored(s.m.id);
    expect(row!.classification).toBe("reply");
    const evidence = JSON.parse(row!.evidence);
    expect(evidence.rule).toBe("sender_match");
    expect(evidence.header).toBe(`From: ${s.m.to_email.toLowerCase()}`);
    expect(evidence.phrase).toContain(`emailed from ${to}`);
    const m = await env.DB.prepare("SELECT reply_kind FROM messages WHERE id = ?").bind(s.m.id).first<{ reply_kind: string }>();
    expect(m!.reply_kind).toBe("reply");
  });

  it("found by a poll round is matched to the polled mailbox's email to its sender", async () => {
    const { teamId, userId, account, mailboxId } = await teamWith("google");
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 3, unit: "days" }], null);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 2), [mailboxId]);
    await runUntil(now() + HOUR);
    await pollReplies(env);
    const sent = (await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ? ORDER BY to_email").bind(sequenceId).all<Sent>())
      .results;
    await control("inbox", { account, raw: fresh(sent[1]!.to_email, account) });
    expect((await pollReplies(env)).find((o) => o.mailboxId === mailboxId)).toMatchObject({ read: 1, handled: 1 });
    expect(await enrollmentRow(sent[1]!.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await enrollmentRow(sent[0]!.enrollment_id)).toMatchObject({ status: "active" });
    const [row] = await stored(sent[1]!.id);
    expect(JSON.parse(row!.evidence).rule).toBe("sender_match");
  });

  it("a removal request written afresh suppresses the address", async () => {
    const s = await sentFirst();
    const to = await mailboxEmail(s.mailboxId);
    const r = await handleInbound(env, fresh(s.m.to_email, to, "Please remove me from your list."), to);
    expect(r.kind).toBe("unsubscribe");
    const sup = await env.DB.prepare("SELECT count(*) n FROM suppressions WHERE team_id = ? AND email = ?")
      .bind(s.teamId, s.m.to_email.toLowerCase())
      .first<{ n: number }>();
    expect(sup!.n).toBe(1);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
  });

  it("is not matched through another mailbox, another team, an unknown recipient, or from one of our own mailboxes", async () => {
    const a = await sentFirst();
    const b = await sentFirst({ emails: () => a.m.to_email });
    expect(b.m.to_email).toBe(a.m.to_email);
    const other = await makeMailbox(a.teamId, a.userId);
    // Sent to team A's other mailbox, which never emailed them: nothing.
    expect((await handleInbound(env, fresh(a.m.to_email, await mailboxEmail(other)), await mailboxEmail(other))).kind).toBe("ignored");
    // No recipient known (as before): nothing.
    expect((await handleInbound(env, fresh(a.m.to_email, "x@y.test"))).kind).toBe("ignored");
    // From a mailbox of the team (a teammate also enrolled as a contact): nothing.
    const mine = await mailboxEmail(a.mailboxId);
    await env.DB.prepare("UPDATE mailboxes SET email = ? WHERE id = ?").bind(a.m.to_email, other).run();
    expect((await handleInbound(env, fresh(a.m.to_email, mine), mine)).kind).toBe("ignored");
    for (const s of [a, b]) expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
    await env.DB.prepare("UPDATE mailboxes SET email = 'gone-' || id WHERE id = ?").bind(other).run();
    // Team B's mailbox got it: only team B's run hears it.
    const r = await handleInbound(env, fresh(a.m.to_email, await mailboxEmail(b.mailboxId)), await mailboxEmail(b.mailboxId));
    expect(r).toMatchObject({ kind: "reply", messageId: b.m.id });
    expect(await enrollmentRow(b.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await enrollmentRow(a.m.enrollment_id)).toMatchObject({ status: "active" });
    expect(await stored((a.m as Sent).id)).toEqual([]);
  });
});
