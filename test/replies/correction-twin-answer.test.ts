// Correcting an inbound email looks for the person's later answers at their address, not only their
// contact: two live contacts can share one address (a duplicate, allowed as in Apollo), and a later reply or
// unsubscribe request threaded to the duplicate's email came from the same inbox. Correcting the first
// one must not reopen runs of an address that replied or opted out since.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok, type Session } from "../helpers";
import { DAY, HOUR, enroll, makeContacts, makeSequence, runUntil, sentMessages, startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst, type Sent } from "./mail";

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
const stageOf = async (contactId: string) =>
  (await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(contactId).first<{ stage_id: string }>())!.stage_id;
const toAddress = async (email: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM messages WHERE lower(to_email) = ?").bind(email.toLowerCase()).first<{ n: number }>())!.n;

/**
 * Contact A in sequence S (sentFirst's, three steps a day apart) and its duplicate B (the same address,
 * in other case) in sequence T; step 1 went out in both. A answers S's email with an
 * auto-acknowledgement that is taken for a reply: it finishes both runs (the address answered).
 */
async function twins() {
  const s = await sentFirst({ waits: [0, 1, 1] });
  const [b] = await makeContacts(s.teamId, 1);
  await env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(s.m.to_email.toUpperCase(), b).run();
  const { sequenceId: t } = await makeSequence(
    s.teamId,
    s.userId,
    [{ wait: 0 }, { wait: 1, unit: "days" }, { wait: 1, unit: "days" }],
    null,
  );
  await enroll(s.teamId, t, [b!], [s.mailboxId]);
  await runUntil(now() + HOUR);
  const [mb] = await sentMessages(t);
  expect(mb).toMatchObject({ contact_id: b });
  const r1 = await handleInbound(env, replyTo(s.m, { body: "Thanks for reaching out, I'll have a look." }));
  expect(r1.kind).toBe("reply");
  const runB = mb!.enrollment_id;
  expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
  expect(await enrollmentRow(runB)).toMatchObject({ status: "finished", reason: "replied" });
  await runUntil(now() + 2 * HOUR);
  return { ...s, b: b!, t, mb: mb as unknown as Sent, runB, r1 };
}

describe("correcting an inbound email after the address answered again through a duplicate contact", () => {
  beforeEach(() => startSimulation());

  it("a later reply matched to the duplicate keeps both runs finished; correcting that reply too reopens them", async () => {
    const s = await twins();
    const calls = countTransport(s.mailboxId);
    const r2 = await handleInbound(env, replyTo(s.mb, { body: "Not interested right now, thanks." }));
    expect(r2.kind).toBe("reply");
    const row = await env.DB.prepare("SELECT contact_id FROM inbound_messages WHERE id = ?")
      .bind(r2.inboundId)
      .first<{ contact_id: string }>();
    expect(row!.contact_id).toBe(s.b);
    await runUntil(now() + 2 * HOUR);
    const before = await toAddress(s.m.to_email);

    const corrected = await classify(s.session, s.r1.inboundId!, "auto_reply");
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await enrollmentRow(s.runB)).toMatchObject({ status: "finished", reason: "replied" });
    expect(corrected.undone).toContain(`Enrollment ${s.m.enrollment_id} stays finished: they replied since`);
    // The stage is each contact's own: B's reply moved B, so A's goes back with the reply corrected away.
    expect(await stageOf(s.m.contact_id)).toBe(`${s.teamId}-cold`);
    expect(await stageOf(s.b)).toBe(`${s.teamId}-replied`);
    await runUntil(now() + 4 * DAY);
    expect(calls.length).toBe(0);
    expect(await toAddress(s.m.to_email)).toBe(before);
    expect((await sentMessages(s.sequenceId)).length).toBe(1);
    expect((await sentMessages(s.t)).length).toBe(1);

    // The runs were handed to B's reply: with it corrected too, nothing stands and both carry on.
    await classify(s.session, r2.inboundId!, "auto_reply");
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
    expect(await enrollmentRow(s.runB)).toMatchObject({ status: "active" });
    expect(await stageOf(s.b)).toBe(`${s.teamId}-cold`);
    await runUntil(now() + 2 * DAY);
    expect((await sentMessages(s.sequenceId)).length).toBeGreaterThan(1);
    expect((await sentMessages(s.t)).length).toBeGreaterThan(1);
  });

  it("a later unsubscribe request matched to the duplicate keeps the runs finished", async () => {
    const s = await twins();
    const calls = countTransport(s.mailboxId);
    const r2 = await handleInbound(env, replyTo(s.mb, { body: "Please remove me from your list." }));
    expect(r2.kind).toBe("unsubscribe");
    await runUntil(now() + 2 * HOUR);

    const corrected = await classify(s.session, s.r1.inboundId!, "auto_reply");
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await enrollmentRow(s.runB)).toMatchObject({ status: "finished", reason: "replied" });
    expect(corrected.undone).toContain(`Enrollment ${s.m.enrollment_id} stays finished: they asked to unsubscribe since`);
    await runUntil(now() + 4 * DAY);
    expect(calls.length).toBe(0);
    expect((await sentMessages(s.sequenceId)).length).toBe(1);
    expect((await sentMessages(s.t)).length).toBe(1);
  });
});
