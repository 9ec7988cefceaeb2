// /api/scheduled-emails (issue 12 item 8): the list of a sequence, a contact and a mailbox; the preview
// built by the send path's composer; edit, send now, skip and reschedule with their refusals; who may;
// the audit log and the contact's timeline. Sends are counted at the transport.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { MIRROR_SOON_MS } from "../../durable-objects/sequence-do";
import { setTransportOverride } from "../../worker/transports";
import { client, detailsOf, env, errorOf, fieldsOf, ok } from "../helpers";
import {
  MONDAY_9AM_NY,
  DAY,
  HOUR,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
  type StepSpec,
} from "../fixtures";

type Api = ReturnType<typeof client>["api"];
type ListQuery = Parameters<Api["scheduled-emails"]["$get"]>[0]["query"];
type Edit = Parameters<Api["scheduled-emails"][":enrollment_id"][":step_id"]["$patch"]>[0]["json"];
const listed = (api: Api, query: ListQuery) => ok(api["scheduled-emails"].$get({ query }));
/** One scheduled email's routes, keyed by its enrollment and step. */
const email = (api: Api, enrollment_id: string, step_id: string) => {
  const r = api["scheduled-emails"][":enrollment_id"][":step_id"];
  const param = { enrollment_id, step_id };
  return {
    preview: () => r.$get({ param }),
    edit: (json: Edit) => r.$patch({ param, json }),
    sendNow: () => r["send-now"].$post({ param }),
    skip: () => r.skip.$post({ param }),
    reschedule: (at: number) => r.reschedule.$post({ param, json: { at } }),
  };
};

async function world(o: { steps?: StepSpec[]; schedule?: boolean; contacts?: number; mailbox?: Parameters<typeof makeMailbox>[2] } = {}) {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const scheduleId = o.schedule === false ? null : await makeSchedule(teamId);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    o.steps ?? [
      { wait: 0, variants: [{ subject: "Hi {{first_name}}", body: "About {{company}}" }] },
      { wait: 2, threadReply: true, variants: [{ subject: "unused", body: "Following up, {{first_name}}" }] },
    ],
    scheduleId,
  );
  const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0, ...o.mailbox });
  const calls: { messageId: string; raw: string; at: number }[] = [];
  setTransportOverride(mailboxId, { send: async (m) => (calls.push({ messageId: m.messageId, raw: m.raw, at: now() }), { ok: true }) });
  const contactIds = await makeContacts(teamId, o.contacts ?? 2);
  await enroll(teamId, sequenceId, contactIds, [mailboxId]);
  return { teamId, userId, s, api: client(s).api, sequenceId, stepIds, mailboxId, contactIds, calls };
}

async function member(teamId: string) {
  const id = newId();
  await env.DB.prepare(
    "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Member', 'member', 'x', 0)",
  )
    .bind(id, teamId, `${id}@sim.test`)
    .run();
  return { userId: id, api: client(await sessionFor(teamId, id)).api };
}

describe("scheduled emails API", () => {
  const mailboxes: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const m of mailboxes.splice(0)) setTransportOverride(m, null);
  });
  const track = <T extends { mailboxId: string }>(w: T) => (mailboxes.push(w.mailboxId), w);

  it("lists a sequence's, a contact's and a mailbox's scheduled emails with when each goes and why", async () => {
    const w = track(await world());
    await runUntil(SIM_START + HOUR); // Sunday evening in New York: queued, waiting for Monday 9:00
    const bySeq = await listed(w.api, { sequence_id: w.sequenceId });
    expect(bySeq.scheduled).toHaveLength(2);
    for (const x of bySeq.scheduled) {
      expect(x).toMatchObject({ state: "queued", step: { id: w.stepIds[0], position: 1 }, reason: "outside_window", edited: false });
      // The window opens at 9:00; the second goes right after the first (no gap: one millisecond apart).
      expect(x.send_at! - MONDAY_9AM_NY).toBeGreaterThanOrEqual(0);
      expect(x.send_at! - MONDAY_9AM_NY).toBeLessThan(1000);
      expect(x.reason_text).toMatch(/window/);
      expect(x.mailbox!.id).toBe(w.mailboxId);
    }
    const byContact = await listed(w.api, { contact_id: w.contactIds[0]! });
    expect(byContact.scheduled.map((x) => x.contact.id)).toEqual([w.contactIds[0]]);
    const byMailbox = await listed(w.api, { mailbox_id: w.mailboxId, limit: 1 });
    expect(byMailbox.scheduled).toHaveLength(1);
    const next = await listed(w.api, { mailbox_id: w.mailboxId, limit: 1, cursor: byMailbox.next_cursor! });
    expect(next.scheduled).toHaveLength(1);
    expect(next.next_cursor).toBeNull();
    expect(next.scheduled[0]!.enrollment_id).not.toBe(byMailbox.scheduled[0]!.enrollment_id);
    // A paused contact is listed with the reason it won't go.
    const paused = bySeq.scheduled[0]!;
    await ok(
      w.api.sequences[":id"].enrollments[":action"].$post({
        param: { id: w.sequenceId, action: "pause" },
        json: { enrollment_ids: [paused.enrollment_id] },
      }),
    );
    const after = await listed(w.api, { sequence_id: w.sequenceId });
    expect(after.scheduled.find((x) => x.enrollment_id === paused.enrollment_id)).toMatchObject({
      status: "paused",
      state: "held",
      send_at: null,
      reason: "paused_by_user",
    });
  });

  it("an email that went out is not listed, even before its enrollment's step is mirrored", async () => {
    const w = track(await world({ contacts: 1 }));
    await runUntil(SIM_START + HOUR);
    const [queued] = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled;
    expect(queued).toMatchObject({ state: "queued", step: { id: w.stepIds[0] } });
    // Sent when the window opens; D1's enrollment moves to step 2 with the sequence's next mirror write.
    await runUntil(queued!.send_at!);
    expect(w.calls).toHaveLength(1);
    const d1Step = () =>
      env.DB.prepare("SELECT current_step AS n FROM enrollments WHERE id = ?").bind(queued!.enrollment_id).first<{ n: number }>();
    expect(await d1Step()).toEqual({ n: 1 });
    expect((await listed(w.api, { sequence_id: w.sequenceId })).scheduled).toEqual([]);
    await runUntil(now() + MIRROR_SOON_MS);
    expect(await d1Step()).toEqual({ n: 2 });
    expect((await listed(w.api, { sequence_id: w.sequenceId })).scheduled.map((x) => x.step.id)).toEqual([w.stepIds[1]]);
  });

  it("says when each step falls due (the list's order) beside when it goes out", async () => {
    // One send an hour: the three emails fall due together and go out an hour apart once the window opens.
    const w = track(await world({ contacts: 3, mailbox: { daily: 100, hourly: 1, gapSeconds: 0 } }));
    await runUntil(SIM_START + HOUR);
    const { scheduled } = await listed(w.api, { sequence_id: w.sequenceId });
    expect(scheduled).toHaveLength(3);
    const dueInD1 = new Map(
      (
        await env.DB.prepare("SELECT id, next_due_at FROM enrollments WHERE sequence_id = ?")
          .bind(w.sequenceId)
          .all<{ id: string; next_due_at: number }>()
      ).results.map((r) => [r.id, r.next_due_at]),
    );
    for (const x of scheduled) {
      expect(x.due_at, "due_at is the enrollment's next step's due time").toBe(dueInD1.get(x.enrollment_id));
      expect(x.send_at!).toBeGreaterThanOrEqual(x.due_at!);
    }
    const dues = scheduled.map((x) => x.due_at!);
    expect(dues).toEqual([...dues].sort((a, b) => a - b));
    // Due together, out an hour apart: the mailbox's limit, which is what due_at beside send_at shows.
    const sends = scheduled.map((x) => x.send_at!).sort((a, b) => a - b);
    expect(sends[2]! - sends[0]!).toBeGreaterThanOrEqual(2 * HOUR - 1000);
    // A paused contact has no due step: it is listed by when it resumes.
    const until = now() + 3 * DAY;
    await ok(
      w.api.sequences[":id"].enrollments[":action"].$post({
        param: { id: w.sequenceId, action: "pause" },
        json: { enrollment_ids: [scheduled[0]!.enrollment_id], until },
      }),
    );
    const paused = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled.find(
      (x) => x.enrollment_id === scheduled[0]!.enrollment_id,
    );
    expect(paused).toMatchObject({ status: "paused", due_at: null, paused_until: until });
  });

  it("previews, edits, sends now and skips: what the transport gets is what the preview showed", async () => {
    const w = track(await world({ contacts: 1 }));
    await runUntil(SIM_START + HOUR);
    const row = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0]!;
    const one = email(w.api, row.enrollment_id, w.stepIds[0]!);
    const preview = await ok(one.preview());
    expect(preview).toMatchObject({
      subject: "Hi First0",
      template: { subject: "Hi {{first_name}}", body: "About {{company}}" },
      edited: null,
    });
    expect(preview.body).toContain("About Acme");
    expect(preview.body).toContain("Unsubscribe: ");
    expect(preview.body).toContain("1 Test St, Testville");

    const edit = await one.edit({ subject: "For {{first_name}} only", body: "Hello {{first_name}}, a note just for you" });
    expect(edit.status).toBe(200);
    const edited = await ok(one.preview());
    expect(edited).toMatchObject({ subject: "For First0 only", edited: { subject: "For {{first_name}} only" } });
    expect(edited.body).toContain("Hello First0, a note just for you");
    expect((await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0]!.edited).toBe(true);

    const sent = await ok(one.sendNow());
    expect(sent).toMatchObject({ action: "send-now", send_at: now() });
    await runUntil(now() + 1);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.raw).toContain("Subject: For First0 only");
    expect(w.calls[0]!.raw).toContain("Hello First0, a note just for you");
    // Sent: editing it now is a clear 409.
    const late = await one.edit({ body: "too late" });
    expect(late.status).toBe(409);
    expect((await errorOf(late)).message).toMatch(/already sent/);

    // Step 2 replies in the thread: its subject can't be edited, its body can; then it is skipped.
    const row2 = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0]!;
    expect(row2.step.id).toBe(w.stepIds[1]);
    const two = email(w.api, row2.enrollment_id, w.stepIds[1]!);
    const p2 = await ok(two.preview());
    expect(p2.subject).toBe("Re: For First0 only");
    expect(p2.in_reply_to).toBeTruthy();
    const subj = await two.edit({ subject: "New subject" });
    expect(subj.status).toBe(422);
    expect(fieldsOf(await errorOf(subj))[0]!.field).toBe("subject");
    const skip = await ok(two.skip());
    expect(skip.action).toBe("skip");
    await runUntil(now() + 5 * DAY);
    expect(w.calls).toHaveLength(1);
    const e = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?").bind(row.enrollment_id).first();
    expect(e).toEqual({ status: "finished", reason: "completed_all_steps" });

    // The audit log and the contact's timeline say who did what.
    const audit = await env.DB.prepare("SELECT action FROM audit_log WHERE target_id = ? ORDER BY created_at, rowid")
      .bind(w.contactIds[0])
      .all<{ action: string }>();
    expect(audit.results.map((a) => a.action)).toEqual(["scheduled_email.edit", "scheduled_email.send_now", "scheduled_email.skip"]);
    const tl = await ok(w.api.contacts[":id"].timeline.$get({ param: { id: w.contactIds[0]! }, query: {} }));
    const titles = tl.events.map((x) => x.title);
    expect(titles).toContain("Scheduled email skipped");
    expect(titles).toContain("Scheduled email edited for this contact");
  });

  it("an edit is checked as a step's text is, and a field left out keeps its earlier edit", async () => {
    const w = track(await world({ contacts: 1 }));
    await runUntil(SIM_START + HOUR);
    const row = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0]!;
    const one = email(w.api, row.enrollment_id, w.stepIds[0]!);
    // Before, these went to the contact: the unknown variable as nothing, the broken braces as typed.
    const bad = await one.edit({ subject: "Hi {{first_nme}}", body: "Hello {{bogus" });
    expect(bad.status).toBe(422);
    expect(fieldsOf(await errorOf(bad)).map(({ field, message }) => ({ field, message }))).toEqual([
      { field: "subject", message: "Unknown variable {{first_nme}}: did you mean {{first_name}}?" },
      { field: "body", message: '"{{" at position 7 is not closed' },
    ]);
    expect((await ok(one.preview())).edited).toBeNull();
    // One field at a time: the body edited, then the subject; the body's edit stays.
    await ok(one.edit({ body: "Custom body for {{first_name}}" }));
    await ok(one.edit({ subject: "Custom subject" }));
    const both = await ok(one.preview());
    expect(both.edited).toEqual({ subject: "Custom subject", body: "Custom body for {{first_name}}" });
    // null gives back the step's own text for that field only.
    await ok(one.edit({ subject: null }));
    expect((await ok(one.preview())).edited).toEqual({ subject: null, body: "Custom body for {{first_name}}" });
    await ok(one.edit({ subject: null, body: null }));
    expect((await ok(one.preview())).edited).toBeNull();
    await ok(one.edit({ body: "Last {{first_name}}" }));
    await ok(one.sendNow());
    await runUntil(now() + 1);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.raw).toContain("Subject: Hi First0");
    expect(w.calls[0]!.raw).toContain("Last First0");
  });

  it("reschedule: a past instant or one outside the window is a 422 naming the field; inside it, the email goes then", async () => {
    const w = track(await world({ contacts: 1 }));
    const row = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0]!;
    const one = email(w.api, row.enrollment_id, w.stepIds[0]!);
    const past = await one.reschedule(now() - HOUR);
    expect(past.status).toBe(422);
    expect(fieldsOf(await errorOf(past))[0]).toMatchObject({ field: "at" });
    const night = await one.reschedule(MONDAY_9AM_NY + 12 * HOUR); // Monday 21:00 in New York
    expect(night.status).toBe(422);
    const nb = await errorOf(night);
    expect(nb.message).toMatch(/outside the sequence's sending window/);
    expect(detailsOf(nb).next_window_opens_at).toBe(MONDAY_9AM_NY + DAY);
    const at = MONDAY_9AM_NY + DAY + 2 * HOUR;
    expect(await ok(one.reschedule(at))).toMatchObject({ action: "reschedule", send_at: at });
    const shown = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0];
    expect(shown).toMatchObject({ send_at: at, rescheduled_to: at, reason: "rescheduled" });
    await runUntil(SIM_START + 3 * DAY);
    expect(w.calls.map((c) => c.at)).toEqual([at]);
  });

  it("send now when the mailbox's daily limit is used up says when it will go", async () => {
    const w = track(await world({ schedule: false, contacts: 2, mailbox: { daily: 1 }, steps: [{ wait: 0 }] }));
    await runUntil(SIM_START + HOUR);
    expect(w.calls).toHaveLength(1);
    const row = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0]!;
    expect(row).toMatchObject({ reason: "mailbox_capacity" });
    const r = await ok(email(w.api, row.enrollment_id, w.stepIds[0]!).sendNow());
    expect(r.send_at).toBeGreaterThan(w.calls[0]!.at + DAY - 1);
  });

  it("send now or reschedule on a disconnected mailbox is a 409 saying so, not 'it goes out within a minute'", async () => {
    const w = track(await world({ contacts: 1 }));
    const row = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0]!;
    await ok(w.api.mailboxes[":id"].disconnect.$post({ param: { id: w.mailboxId } }));
    const one = email(w.api, row.enrollment_id, w.stepIds[0]!);
    for (const res of [await one.sendNow(), await one.reschedule(now() + 2 * DAY)])
      expect(await errorOf(res)).toMatchObject({
        status: 409,
        message: expect.stringMatching(/is disconnected: reconnect or resume it first/),
      });
    const after = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0]!;
    expect(after).toMatchObject({ send_now: false, rescheduled_to: null });
  });

  it("a member who can only view the sequence can preview but not act; another team's ids are 404", async () => {
    const w = track(await world({ contacts: 1 }));
    const row = (await listed(w.api, { sequence_id: w.sequenceId })).scheduled[0]!;
    const m = await member(w.teamId);
    const asMember = email(m.api, row.enrollment_id, w.stepIds[0]!);
    // Not shared with the member: invisible.
    expect((await asMember.preview()).status).toBe(404);
    expect((await listed(m.api, {})).scheduled).toEqual([]);
    await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'view')")
      .bind(w.sequenceId, m.userId, w.teamId)
      .run();
    expect((await asMember.preview()).status).toBe(200);
    expect((await asMember.skip()).status).toBe(403);
    expect((await asMember.edit({ body: "x" })).status).toBe(403);
    const other = await makeTeam("Other");
    const o = client(await sessionFor(other.teamId, other.userId)).api;
    const asOther = email(o, row.enrollment_id, w.stepIds[0]!);
    expect((await asOther.preview()).status).toBe(404);
    expect((await asOther.sendNow()).status).toBe(404);
    expect((await o["scheduled-emails"].$get({ query: { sequence_id: w.sequenceId } })).status).toBe(404);
    await runUntil(SIM_START + 2 * DAY);
    expect(w.calls).toHaveLength(1);
  });
});
