// Correcting an unsubscribe request (or hard bounce) after the address asked to unsubscribe again, through
// the same contact or a duplicate contact with the same address (allowed as in Apollo): the suppression is
// the address's, as applying the first one wrote it (one row per address, so the later one wrote none), so
// it stays with the later request; the contact's mark is its own, as mark() sets only the contact answered.
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

const classify = (session: Session, id: string, classification: "auto_reply") =>
  // Taking back an unsubscribe request lifts an opt-out: confirmed, as on the Do not email list.
  ok(client(session).api.replies[":id"].classification.$post({ param: { id }, json: { classification, confirm: true } }));
const suppressedRows = async (teamId: string, email: string) =>
  (
    await env.DB.prepare("SELECT reason FROM suppressions WHERE team_id = ? AND email = lower(?)")
      .bind(teamId, email)
      .all<{ reason: string }>()
  ).results.map((r) => r.reason);
const unsubscribedAt = async (contactId: string) =>
  (await env.DB.prepare("SELECT unsubscribed_at FROM contacts WHERE id = ?").bind(contactId).first<{ unsubscribed_at: number | null }>())!
    .unsubscribed_at;
const stampOf = async (messageId: string) =>
  (await env.DB.prepare("SELECT unsubscribed_at FROM messages WHERE id = ?").bind(messageId).first<{ unsubscribed_at: number | null }>())!
    .unsubscribed_at;
const REMOVE = "Please remove me from your list.";

describe("correcting an unsubscribe request after the address asked again", () => {
  beforeEach(() => startSimulation());

  it("asked again through a duplicate contact: the address stays suppressed, only the corrected contact's mark goes", async () => {
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
    const [mb] = (await sentMessages(t)) as unknown as Sent[];
    expect(mb).toMatchObject({ contact_id: b });
    const r1 = await handleInbound(env, replyTo(s.m, { body: REMOVE }));
    expect(r1.kind).toBe("unsubscribe");
    expect(await enrollmentRow(mb!.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    await runUntil(now() + 2 * HOUR);
    // The same person again, threaded to the duplicate's email: B is marked, the address was already suppressed.
    const r2 = await handleInbound(env, replyTo(mb!, { body: REMOVE }));
    expect(r2.kind).toBe("unsubscribe");
    expect(await unsubscribedAt(b!)).not.toBeNull();
    const calls = countTransport(s.mailboxId);

    const corrected = await classify(s.session, r1.inboundId!, "auto_reply");
    expect(await suppressedRows(s.teamId, s.m.to_email)).toEqual(["unsubscribed"]);
    expect(corrected.undone).toContain(`${s.m.to_email.toLowerCase()} stays suppressed: they asked to unsubscribe since`);
    // Each contact's mark is its own (mark() sets the contact answered): A's goes with its request, B's stays.
    expect(await unsubscribedAt(s.m.contact_id)).toBeNull();
    expect(await unsubscribedAt(b!)).not.toBeNull();
    // The reports count the address's opt-out once (one stamped email): now on the email B's request answered.
    expect(await stampOf(s.m.id)).toBeNull();
    expect(await stampOf(mb!.id)).not.toBeNull();
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    expect(await enrollmentRow(mb!.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    await runUntil(now() + 4 * DAY);
    expect(calls.length).toBe(0);
    expect((await sentMessages(s.sequenceId)).length).toBe(1);
    expect((await sentMessages(t)).length).toBe(1);

    // With B's request corrected too nothing stands: the suppression it was handed goes, and both runs carry on.
    await classify(s.session, r2.inboundId!, "auto_reply");
    expect(await suppressedRows(s.teamId, s.m.to_email)).toEqual([]);
    expect(await unsubscribedAt(b!)).toBeNull();
    expect(await stampOf(mb!.id)).toBeNull();
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
    expect(await enrollmentRow(mb!.enrollment_id)).toMatchObject({ status: "active" });
    await runUntil(now() + 2 * DAY);
    expect(calls.length).toBeGreaterThan(0);
  });

  it("asked again through the same contact: the address stays suppressed and the contact stays marked", async () => {
    const s = await sentFirst({ waits: [0, 1, 1] });
    const r1 = await handleInbound(env, replyTo(s.m, { body: REMOVE }));
    expect(r1.kind).toBe("unsubscribe");
    await runUntil(now() + 2 * HOUR);
    const r2 = await handleInbound(env, replyTo(s.m, { body: REMOVE }));
    expect(r2.kind).toBe("unsubscribe");
    const calls = countTransport(s.mailboxId);

    const corrected = await classify(s.session, r1.inboundId!, "auto_reply");
    expect(await suppressedRows(s.teamId, s.m.to_email)).toEqual(["unsubscribed"]);
    expect(await unsubscribedAt(s.m.contact_id)).not.toBeNull();
    expect(corrected.undone).toContain("The contact stays marked unsubscribed: they asked to unsubscribe since");
    expect(await stampOf(s.m.id)).not.toBeNull();
    await runUntil(now() + 4 * DAY);
    expect(calls.length).toBe(0);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });

    // The later request corrected too: everything it was handed goes.
    await classify(s.session, r2.inboundId!, "auto_reply");
    expect(await suppressedRows(s.teamId, s.m.to_email)).toEqual([]);
    expect(await unsubscribedAt(s.m.contact_id)).toBeNull();
    expect(await stampOf(s.m.id)).toBeNull();
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
  });
});
