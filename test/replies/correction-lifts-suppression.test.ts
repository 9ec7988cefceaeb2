// Correcting a classification may not do more than its corrector may do by hand: taking back an unsubscribe
// request or a hard bounce lifts the address's suppression (team admins, and for an opt-out a confirmation,
// as on the Do not email list), and runs the email ended in sequences the corrector can't edit stay ended.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { client, env, ok, type Session } from "../helpers";
import { HOUR, enroll, makeSequence, makeUser, runUntil, sessionFor, startSimulation } from "../fixtures";
import { dsn, enrollmentRow, replyTo, sentFirst } from "./mail";

const REMOVE = "Please remove me from your list.";

const correct = (session: Session, id: string, classification: "auto_reply" | "reply", confirm?: boolean) =>
  client(session).api.replies[":id"].classification.$post({
    param: { id },
    json: confirm === undefined ? { classification } : { classification, confirm },
  });
const suppressed = async (teamId: string, email: string) =>
  (
    await env.DB.prepare("SELECT reason FROM suppressions WHERE team_id = ? AND email = lower(?)")
      .bind(teamId, email)
      .all<{ reason: string }>()
  ).results.map((r) => r.reason);
const classificationOf = async (id: string) =>
  (await env.DB.prepare("SELECT classification FROM inbound_messages WHERE id = ?").bind(id).first<{ classification: string }>())!
    .classification;

describe("correcting an unsubscribe request or a hard bounce lifts a suppression: only as lifting one by hand", () => {
  beforeEach(() => startSimulation());

  it("a member who edits the sequence can't take back an unsubscribe request: 403, the suppression and the finished run stay", async () => {
    const s = await sentFirst();
    const member = await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "edit" });
    const r = await handleInbound(env, replyTo(s.m, { body: REMOVE }));
    expect(r.kind).toBe("unsubscribe");
    expect(await suppressed(s.teamId, s.m.to_email)).toEqual(["unsubscribed"]);

    const res = await correct(await sessionFor(s.teamId, member), r.inboundId!, "auto_reply", true);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Only team admins/);
    expect(await suppressed(s.teamId, s.m.to_email)).toEqual(["unsubscribed"]);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    expect(await classificationOf(r.inboundId!)).toBe("unsubscribe");
  });

  it("a member can't take back a hard bounce either (it lifts the bounce's suppression)", async () => {
    const s = await sentFirst();
    const member = await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "edit" });
    const r = await handleInbound(env, dsn(s.m, "5.1.1"));
    expect(r.kind).toBe("bounce_hard");
    const res = await correct(await sessionFor(s.teamId, member), r.inboundId!, "auto_reply");
    expect(res.status).toBe(403);
    expect(await suppressed(s.teamId, s.m.to_email)).toEqual(["bounced"]);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished" });
  });

  it("an admin without confirm gets 422 naming confirm and nothing changes; with confirm the opt-out is lifted and the run goes on", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, replyTo(s.m, { body: REMOVE }));

    const refused = await correct(s.session, r.inboundId!, "auto_reply");
    expect(refused.status).toBe(422);
    const body = (await refused.json()) as unknown as { error: { details: { fields: { field: string; message: string }[] } } };
    expect(body.error.details.fields[0]).toMatchObject({ field: "confirm" });
    expect(body.error.details.fields[0]!.message).toMatch(/unsubscribe/);
    expect(await suppressed(s.teamId, s.m.to_email)).toEqual(["unsubscribed"]);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished" });
    expect(await classificationOf(r.inboundId!)).toBe("unsubscribe");

    const fixed = await ok(correct(s.session, r.inboundId!, "auto_reply", true));
    expect(fixed.left_alone).toEqual([]);
    expect(await suppressed(s.teamId, s.m.to_email)).toEqual([]);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
    expect(await classificationOf(r.inboundId!)).toBe("auto_reply");
  });
});

describe("a correction restarts runs only in the sequences its corrector may edit", () => {
  beforeEach(() => startSimulation());

  it("a member who edits A corrects a reply that also finished the run in B (not theirs): A reopens, B stays finished, the answer says so", async () => {
    const s = await sentFirst();
    // B: the admin's own sequence, not shared with the member, with the same contact in it.
    const { sequenceId: b } = await makeSequence(s.teamId, s.userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await enroll(s.teamId, b, [s.m.contact_id], [s.mailboxId]);
    await runUntil(now() + HOUR);
    const runB = (await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ?").bind(b).first<{ id: string }>())!.id;
    const member = await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "edit" });

    const r = await handleInbound(env, replyTo(s.m));
    expect(r.kind).toBe("reply");
    expect(await enrollmentRow(runB)).toMatchObject({ status: "finished", reason: "replied" });

    const fixed = await ok(correct(await sessionFor(s.teamId, member), r.inboundId!, "auto_reply"));
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
    expect(await enrollmentRow(runB)).toMatchObject({ status: "finished", reason: "replied" });
    // B is one the member can't see: counted, never named.
    expect(fixed.left_alone).toEqual([{ sequence_id: null, sequence_name: null, action: "finish", enrollments: 1 }]);
    expect(fixed.undone).toContain("1 run in a sequence you can't see stays finished");
    expect(fixed.undone.join(" ")).not.toContain(runB);
  });

  it("a sequence the member may see but not edit is named in left_alone", async () => {
    const s = await sentFirst();
    const { sequenceId: b } = await makeSequence(s.teamId, s.userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await enroll(s.teamId, b, [s.m.contact_id], [s.mailboxId]);
    await runUntil(now() + HOUR);
    const runB = (await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ?").bind(b).first<{ id: string }>())!.id;
    const member = await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "edit" });
    await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'view')")
      .bind(b, member, s.teamId)
      .run();
    const name = (await env.DB.prepare("SELECT name FROM sequences WHERE id = ?").bind(b).first<{ name: string }>())!.name;

    const r = await handleInbound(env, replyTo(s.m));
    const fixed = await ok(correct(await sessionFor(s.teamId, member), r.inboundId!, "auto_reply"));
    expect(fixed.left_alone).toEqual([{ sequence_id: b, sequence_name: name, action: "finish", enrollments: 1 }]);
    expect(fixed.undone).toContain(`1 run in "${name}" stays finished: you can't edit that sequence`);
    expect(await enrollmentRow(runB)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
  });
});
