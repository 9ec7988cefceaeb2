// Correcting a classification undoes its effect back to the state before it (issue 12 item 3): an
// enrollment the user had paused before the reply came in is paused again, not made active.
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

const pauseOrResume = (
  s: { session: Session; sequenceId: string },
  action: "pause" | "resume",
  json: { enrollment_ids: string[]; until?: number },
) => ok(client(s.session).api.sequences[":id"].enrollments[":action"].$post({ param: { id: s.sequenceId, action }, json }));
const classify = (session: Session, id: string) =>
  ok(client(session).api.replies[":id"].classification.$post({ param: { id }, json: { classification: "auto_reply" } }));

const nextDue = async (id: string) =>
  (await env.DB.prepare("SELECT next_due_at FROM enrollments WHERE id = ?").bind(id).first<{ next_due_at: number | null }>())!.next_due_at;

describe("correcting the classification of an inbound email to a paused contact", () => {
  beforeEach(() => startSimulation());

  it("puts an enrollment the user paused back to paused (not active) and sends nothing until someone resumes it", async () => {
    const s = await sentFirst({ waits: [0, 1, 1] });
    const calls = countTransport(s.mailboxId);
    const e = s.m.enrollment_id;
    await pauseOrResume(s, "pause", { enrollment_ids: [e] });
    expect(await enrollmentRow(e)).toMatchObject({ status: "paused", reason: "paused_by_user" });
    const r = await handleInbound(env, replyTo(s.m, { body: "Thanks, will read it later." }));
    expect(await enrollmentRow(e)).toMatchObject({ status: "finished", reason: "replied" });
    await classify(s.session, r.inboundId!);
    expect(await enrollmentRow(e)).toMatchObject({ status: "paused", reason: "paused_by_user", current_step: 2 });
    await runUntil(now() + 5 * DAY);
    expect(calls.length).toBe(0);
    expect(await enrollmentRow(e)).toMatchObject({ status: "paused" });
    // Resumed by hand, it carries on with step 2 once.
    await pauseOrResume(s, "resume", { enrollment_ids: [e] });
    await runUntil(now() + 2 * HOUR);
    expect(calls.length).toBe(1);
  });

  it("keeps a pause-until date: paused again after the correction, it resumes by itself at that date", async () => {
    const s = await sentFirst({ waits: [0, 1] });
    const calls = countTransport(s.mailboxId);
    const e = s.m.enrollment_id;
    const until = now() + 3 * DAY;
    await pauseOrResume(s, "pause", { enrollment_ids: [e], until });
    const r = await handleInbound(env, replyTo(s.m, { body: "I'm reading this later." }));
    expect(await enrollmentRow(e)).toMatchObject({ status: "finished", reason: "replied" });
    await classify(s.session, r.inboundId!);
    expect(await enrollmentRow(e)).toMatchObject({ status: "paused", reason: "paused_until" });
    expect(await nextDue(e)).toBe(until);
    await runUntil(until - HOUR);
    expect(calls.length).toBe(0);
    await runUntil(until + 6 * HOUR);
    expect(await enrollmentRow(e)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
    expect(calls.length).toBe(1);
  });

  it("a hard bounce of a paused contact, corrected, leaves it paused and no longer suppressed", async () => {
    const s = await sentFirst({ waits: [0, 1] });
    const calls = countTransport(s.mailboxId);
    const e = s.m.enrollment_id;
    await pauseOrResume(s, "pause", { enrollment_ids: [e] });
    const r = await handleInbound(env, dsn(s.m, "5.1.1"));
    expect(await enrollmentRow(e)).toMatchObject({ status: "finished", reason: "bounced" });
    await classify(s.session, r.inboundId!);
    expect(await enrollmentRow(e)).toMatchObject({ status: "paused", reason: "paused_by_user" });
    const suppressed = await env.DB.prepare("SELECT count(*) n FROM suppressions WHERE team_id = ? AND email = ?")
      .bind(s.teamId, s.m.to_email.toLowerCase())
      .first<{ n: number }>();
    expect(suppressed!.n).toBe(0);
    await runUntil(now() + 3 * DAY);
    expect(calls.length).toBe(0);
  });
});
