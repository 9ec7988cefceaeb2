// A reply or an out-of-office is about the person, not one sequence: it reaches their runs in every
// sequence of the team (a reply: those whose "finish on reply" is on).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import { DAY, HOUR, enroll, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

const overridden: string[] = [];
afterEach(() => {
  for (const id of overridden.splice(0)) setTransportOverride(id, null);
});

/** What reaches the mailbox's transport, by the sequence of the run emailed. */
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

/** Sequence A (sentFirst's) and B and C (C keeps going on replies), one contact in all three, step 1 sent in each. */
async function inThree() {
  const s = await sentFirst();
  const more = async (settings: Record<string, unknown>) => {
    const { sequenceId } = await makeSequence(s.teamId, s.userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await env.DB.prepare("UPDATE sequences SET settings = ? WHERE id = ?").bind(JSON.stringify(settings), sequenceId).run();
    await enroll(s.teamId, sequenceId, [s.m.contact_id], [s.mailboxId]);
    return sequenceId;
  };
  const b = await more({});
  const c = await more({ finish_on_reply: false });
  await runUntil(now() + HOUR);
  const run = async (sequenceId: string) =>
    (await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first<{ id: string }>())!.id;
  return { s, b: { sequenceId: b, enrollmentId: await run(b) }, c: { sequenceId: c, enrollmentId: await run(c) } };
}

const sentIn = async (sequenceId: string, calls: string[]) => {
  const ids = (await env.DB.prepare("SELECT message_id_header h FROM messages WHERE sequence_id = ?").bind(sequenceId).all<{ h: string }>())
    .results;
  return ids.filter((r) => calls.includes(r.h)).length;
};

describe("a reply or out-of-office reaches every sequence the contact is in", () => {
  beforeEach(() => startSimulation());

  it("a reply to A stops the contact in B too (B's next email is never sent), but not in C, which keeps going on replies", async () => {
    const { s, b, c } = await inThree();
    const calls = countTransport(s.mailboxId);
    const r = await handleInbound(env, replyTo(s.m));
    expect(r.kind).toBe("reply");
    expect(await enrollmentRow(b.enrollmentId)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await enrollmentRow(c.enrollmentId)).toMatchObject({ status: "active" });
    await runUntil(now() + 3 * DAY);
    // Step 2 reaches the transport only for C.
    expect(await sentIn(s.sequenceId, calls)).toBe(0);
    expect(await sentIn(b.sequenceId, calls)).toBe(0);
    expect(await sentIn(c.sequenceId, calls)).toBe(1);
    // The reply says where it applied.
    const { reply } = await ok(client(s.session).api.replies[":id"].$get({ param: { id: r.inboundId! } }));
    expect(reply.applied_to).toEqual(
      expect.arrayContaining([
        { sequence_id: s.sequenceId, sequence_name: expect.any(String), action: "finish", enrollments: 1 },
        { sequence_id: b.sequenceId, sequence_name: expect.any(String), action: "finish", enrollments: 1 },
      ]),
    );
    expect(reply.applied_to).toHaveLength(2);
  });

  it("correcting that reply to an auto-reply gives the contact back to every sequence it stopped them in", async () => {
    const { s, b } = await inThree();
    const r = await handleInbound(env, replyTo(s.m));
    const fixed = await ok(
      client(s.session).api.replies[":id"].classification.$post({ param: { id: r.inboundId! }, json: { classification: "auto_reply" } }),
    );
    expect(fixed.undone).toContain(`Enrollment ${b.enrollmentId} is active again at the same step`);
    expect(await enrollmentRow(b.enrollmentId)).toMatchObject({ status: "active" });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
  });

  it("an out-of-office to A pauses the contact in every sequence until the return date, then each carries on", async () => {
    const { s, b, c } = await inThree();
    const calls = countTransport(s.mailboxId);
    const date = new Date(now() + 5 * DAY).toISOString().slice(0, 10);
    const r = await handleInbound(
      env,
      replyTo(s.m, { extra: "Auto-Submitted: auto-replied\r\n", subject: "Out of office", body: `I'm away, back on ${date}.` }),
    );
    expect(r.kind).toBe("out_of_office");
    for (const id of [s.m.enrollment_id, b.enrollmentId, c.enrollmentId])
      expect(await enrollmentRow(id)).toMatchObject({ status: "paused", reason: "out_of_office" });
    await runUntil(now() + 4 * DAY);
    expect(calls).toHaveLength(0);
    await runUntil(now() + 3 * DAY);
    for (const seq of [s.sequenceId, b.sequenceId, c.sequenceId]) expect(await sentIn(seq, calls)).toBe(1);
  });
  it("a reply reaches the runs of another contact with the same address (a duplicate: the same inbox), and no one else's", async () => {
    const s = await sentFirst();
    const [twin, other] = await makeContacts(s.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(s.m.to_email.toUpperCase(), twin).run();
    const { sequenceId: b } = await makeSequence(s.teamId, s.userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await enroll(s.teamId, b, [twin!, other!], [s.mailboxId]);
    await runUntil(now() + HOUR);
    const runOf = async (contactId: string) =>
      (await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ? AND contact_id = ?")
        .bind(b, contactId)
        .first<{ id: string }>())!.id;
    const toAddress = async () =>
      (await env.DB.prepare("SELECT count(*) n FROM messages WHERE lower(to_email) = ?")
        .bind(s.m.to_email.toLowerCase())
        .first<{ n: number }>())!.n;
    const before = await toAddress();
    expect(before).toBe(2); // A's step 1 to the contact, B's to the twin
    const calls = countTransport(s.mailboxId);
    expect((await handleInbound(env, replyTo(s.m))).kind).toBe("reply");
    expect(await enrollmentRow(await runOf(twin!))).toMatchObject({ status: "finished", reason: "replied" });
    expect(await enrollmentRow(await runOf(other!))).toMatchObject({ status: "active" });
    await runUntil(now() + 3 * DAY);
    // B's step 2 goes to the other contact only: nothing more reaches the address that answered.
    expect(await toAddress()).toBe(before);
    expect(await sentIn(b, calls)).toBe(1);
  });
});
