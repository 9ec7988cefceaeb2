// A sender-matched reply kept for review (the contact in two open runs from the mailbox, its subject
// answering neither) had no way to be applied: the rep could only confirm it, and no run was ever stopped.
// Now the inbox offers the open runs and POST /replies/{id}/apply-to-run applies it to the one picked,
// exactly as a matched reply: the runs stopped per their sequences' settings, the reply counted on that
// run's email, the contact's stage; once, and it is no longer held.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";
import { client, env, ok, type Session } from "../helpers";
import { enrollmentRow, freshMail, twoOpenRuns } from "./mail";

/** One contact in two sequences emailing from one mailbox, and a reply from them that answers neither subject: held. */
async function heldReply() {
  const { teamId, userId } = await makeTeam();
  // The stage a reply moves its contact to (the team's seeded stages are only Cold and Do Not Contact).
  await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Replied', 'in_progress', 2)")
    .bind(crypto.randomUUID(), teamId)
    .run();
  const runs = await twoOpenRuns({ teamId, userId });
  const r = await handleInbound(env, freshMail(runs.pricing.email.to_email, runs.mailbox, "Quick thought"), runs.mailbox);
  expect(r).toMatchObject({ kind: "reply", enrollmentId: null });
  return {
    teamId,
    userId,
    contactId: runs.contactId,
    pricing: runs.pricing,
    intro: runs.intro,
    inboundId: r.inboundId!,
  };
}

const inboundRow = (id: string) =>
  env.DB.prepare(
    "SELECT enrollment_id, message_id, sequence_id, evidence, effect, reviewed_at, reviewed_by FROM inbound_messages WHERE id = ?",
  )
    .bind(id)
    .first<{
      enrollment_id: string;
      message_id: string;
      sequence_id: string;
      evidence: string;
      effect: string;
      reviewed_at: number | null;
      reviewed_by: string | null;
    }>();
const repliedOn = async (...ids: string[]) =>
  (
    await env.DB.prepare(`SELECT id, reply_kind FROM messages WHERE id IN (${ids.map(() => "?").join(",")}) AND replied_at IS NOT NULL`)
      .bind(...ids)
      .all<{ id: string; reply_kind: string }>()
  ).results;
const runs = (s: Session, id: string) => ok(client(s).api.replies[":id"].runs.$get({ param: { id } }));
const apply = (s: Session, id: string, enrollment_id: string) =>
  client(s).api.replies[":id"]["apply-to-run"].$post({ param: { id }, json: { enrollment_id } });

describe("a sender-matched reply held for review, applied to the run the rep picks", () => {
  beforeEach(() => startSimulation());

  it("offers the open runs with their sequences, and applies it to the one picked as a matched reply, once", async () => {
    const h = await heldReply();
    // The pricing sequence keeps emailing after a reply (its own setting): only intro's run stops.
    await env.DB.prepare("UPDATE sequences SET settings = json_set(settings, '$.finish_on_reply', json('false')) WHERE id = ?")
      .bind(h.pricing.id)
      .run();
    const s = await sessionFor(h.teamId, h.userId);
    const offered = await runs(s, h.inboundId);
    expect(offered.held).toBe(true);
    expect(offered.runs.map((r) => [r.enrollment_id, r.sequence_id, r.email.id, r.can_apply]).sort()).toEqual(
      [
        [h.pricing.email.enrollment_id, h.pricing.id, h.pricing.email.id, true],
        [h.intro.email.enrollment_id, h.intro.id, h.intro.email.id, true],
      ].sort(),
    );
    const names = (
      await env.DB.prepare("SELECT id, name FROM sequences WHERE id IN (?, ?)")
        .bind(h.pricing.id, h.intro.id)
        .all<{ id: string; name: string }>()
    ).results;
    for (const r of offered.runs) expect(r.sequence_name).toBe(names.find((n) => n.id === r.sequence_id)!.name);

    const answer = await ok(apply(s, h.inboundId, h.intro.email.enrollment_id));
    expect(answer.reply).toMatchObject({ id: h.inboundId, enrollment_id: h.intro.email.enrollment_id, message_id: h.intro.email.id });
    // The intro run stopped as replied; the pricing run goes on (its sequence says so).
    expect(await enrollmentRow(h.intro.email.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    expect((await enrollmentRow(h.pricing.email.enrollment_id))!.status).toBe("active");
    // Counted on intro's email, not pricing's.
    expect(await repliedOn(h.pricing.email.id, h.intro.email.id)).toEqual([{ id: h.intro.email.id, reply_kind: "reply" }]);
    const contact = await env.DB.prepare("SELECT s.name FROM contacts c JOIN contact_stages s ON s.id = c.stage_id WHERE c.id = ?")
      .bind(h.contactId)
      .first<{ name: string }>();
    expect(contact?.name).toBe("Replied");
    const row = (await inboundRow(h.inboundId))!;
    expect(row).toMatchObject({
      enrollment_id: h.intro.email.enrollment_id,
      message_id: h.intro.email.id,
      sequence_id: h.intro.id,
      reviewed_by: h.userId,
    });
    expect(row.reviewed_at).not.toBeNull();
    expect(JSON.parse(row.evidence).held).toBeUndefined();
    expect(JSON.parse(row.effect).enrollments).toEqual([
      expect.objectContaining({ id: h.intro.email.enrollment_id, sequenceId: h.intro.id, action: "finish", reason: "replied" }),
    ]);
    const audited = await env.DB.prepare("SELECT count(*) n FROM audit_log WHERE action = 'reply.apply_to_run' AND target_id = ?")
      .bind(h.inboundId)
      .first<{ n: number }>();
    expect(audited!.n).toBe(1);

    // No longer held: nothing offered, and a second click changes nothing.
    expect(await runs(s, h.inboundId)).toEqual({ held: false, runs: [] });
    const again = await apply(s, h.inboundId, h.pricing.email.enrollment_id);
    expect(again.status).toBe(409);
    expect(await repliedOn(h.pricing.email.id, h.intro.email.id)).toHaveLength(1);
    expect((await inboundRow(h.inboundId))!.enrollment_id).toBe(h.intro.email.enrollment_id);
  });

  it("needs edit rights on the run's sequence; another team's reply or run is a 404; a run no longer open a 422", async () => {
    const h = await heldReply();
    const unchanged = async () => {
      expect((await inboundRow(h.inboundId))!.reviewed_at).toBeNull();
      expect(await repliedOn(h.pricing.email.id, h.intro.email.id)).toEqual([]);
      expect((await enrollmentRow(h.intro.email.enrollment_id))!.status).toBe("active");
    };
    // A member who may edit intro but only view pricing.
    const member = await makeUser(h.teamId, "member", { sequenceId: h.intro.id, access: "edit" });
    await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'view')")
      .bind(h.pricing.id, member, h.teamId)
      .run();
    const m = await sessionFor(h.teamId, member);
    const offered = await runs(m, h.inboundId);
    expect(Object.fromEntries(offered.runs.map((r) => [r.sequence_id, r.can_apply]))).toEqual({
      [h.pricing.id]: false,
      [h.intro.id]: true,
    });
    expect((await apply(m, h.inboundId, h.pricing.email.enrollment_id)).status).toBe(403);
    await unchanged();

    // A member who sees only the sequence the reply is stored under: the other run is not offered, and is a 404.
    const shownIn = (await inboundRow(h.inboundId))!.sequence_id;
    const hidden = shownIn === h.intro.id ? h.pricing : h.intro;
    const narrow = await sessionFor(h.teamId, await makeUser(h.teamId, "member", { sequenceId: shownIn, access: "edit" }));
    expect((await runs(narrow, h.inboundId)).runs.map((r) => r.sequence_id)).toEqual([shownIn]);
    expect((await apply(narrow, h.inboundId, hidden.email.enrollment_id)).status).toBe(404);
    await unchanged();

    // Another team: neither its reply nor its run is seen.
    const other = await makeTeam();
    const o = await sessionFor(other.teamId, other.userId);
    expect((await apply(o, h.inboundId, h.intro.email.enrollment_id)).status).toBe(404);
    expect((await client(o).api.replies[":id"].runs.$get({ param: { id: h.inboundId } })).status).toBe(404);
    const theirs = await heldReply();
    const s = await sessionFor(h.teamId, h.userId);
    expect((await apply(s, h.inboundId, theirs.intro.email.enrollment_id)).status).toBe(404);
    await unchanged();

    // The intro run finished meanwhile (removed by hand): not offered, and refused naming enrollment_id.
    await env.DB.prepare("UPDATE enrollments SET status = 'finished', reason = 'manual' WHERE id = ?")
      .bind(h.intro.email.enrollment_id)
      .run();
    expect((await runs(s, h.inboundId)).runs.map((r) => r.enrollment_id)).toEqual([h.pricing.email.enrollment_id]);
    const closed = await apply(s, h.inboundId, h.intro.email.enrollment_id);
    expect(closed.status).toBe(422);
    expect(JSON.stringify(await closed.json())).toContain("enrollment_id");
    expect((await inboundRow(h.inboundId))!.reviewed_at).toBeNull();
  });
});
