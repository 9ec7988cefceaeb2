// A member's correction leaves alone the runs the email ended in sequences they can't edit (undoEffect):
// those runs must stay recorded in the email's effect, or no later correction (an admin's) could restart them.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { client, env, ok, type Session } from "../helpers";
import { HOUR, enroll, makeSequence, makeUser, runUntil, sessionFor, startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

type To = "auto_reply" | "reply" | "bounce_soft";
const correct = (session: Session, id: string, classification: To) =>
  ok(client(session).api.replies[":id"].classification.$post({ param: { id }, json: { classification } }));
const effectOf = async (id: string) =>
  JSON.parse((await env.DB.prepare("SELECT effect FROM inbound_messages WHERE id = ?").bind(id).first<{ effect: string }>())!.effect) as {
    enrollments?: { id: string; action: string; reason: string }[];
  };

describe("runs a member's correction leaves alone stay recorded for a later correction", () => {
  beforeEach(() => startSimulation());

  it("member reply→auto_reply→reply→auto_reply leaves S2's run finished but recorded; the admin's correction restarts it", async () => {
    const s = await sentFirst();
    // S2: the admin's own sequence, not shared with the member, with the same contact in it.
    const { sequenceId: s2 } = await makeSequence(s.teamId, s.userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await enroll(s.teamId, s2, [s.m.contact_id], [s.mailboxId]);
    await runUntil(now() + HOUR);
    const runS2 = (await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ?").bind(s2).first<{ id: string }>())!.id;
    const member = await sessionFor(s.teamId, await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "edit" }));

    const r = await handleInbound(env, replyTo(s.m));
    expect(r.kind).toBe("reply");
    expect(await enrollmentRow(runS2)).toMatchObject({ status: "finished", reason: "replied" });

    const first = await correct(member, r.inboundId!, "auto_reply");
    expect(first.left_alone).toEqual([{ sequence_id: null, sequence_name: null, action: "finish", enrollments: 1 }]);
    // What this correction did is nothing (an auto-reply): the kept run is not said as applied.
    expect(first.applied).toEqual([]);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
    expect(await enrollmentRow(runS2)).toMatchObject({ status: "finished", reason: "replied" });
    expect((await effectOf(r.inboundId!)).enrollments).toEqual([
      expect.objectContaining({ id: runS2, action: "finish", reason: "replied" }),
    ]);

    // Back and forth: the reply finishes the member's run again; S2's stays finished and recorded throughout.
    await correct(member, r.inboundId!, "reply");
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    await correct(member, r.inboundId!, "auto_reply");
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
    expect(await enrollmentRow(runS2)).toMatchObject({ status: "finished", reason: "replied" });
    expect((await effectOf(r.inboundId!)).enrollments?.map((e) => e.id)).toEqual([runS2]);

    // The admin may edit S2: their correction undoes what the email still stands for there.
    const admin = await correct(s.session, r.inboundId!, "bounce_soft");
    expect(admin.left_alone).toEqual([]);
    expect(admin.undone).toContain(`Enrollment ${runS2} is active again at the same step`);
    expect(await enrollmentRow(runS2)).toMatchObject({ status: "active" });
    expect((await effectOf(r.inboundId!)).enrollments ?? []).toEqual([]);
  });
});
