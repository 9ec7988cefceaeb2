import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { sequenceStub } from "../../durable-objects/engine";
import { as, client, env, errorOf, fieldsOf, ok } from "../helpers";
import {
  DAY,
  HOUR,
  addContactsSetup,
  enroll,
  enrollmentsOf,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
  waitForJob,
} from "../fixtures";

type Api = ReturnType<typeof client>["api"];
type Enrollments = Api["sequences"][":id"]["enrollments"];
type ListQuery = Parameters<Enrollments["$get"]>[0]["query"];
type ActionArgs = Parameters<Enrollments[":action"]["$post"]>[0];
const list = (api: Api, seq: string, query: ListQuery = {}) => ok(api.sequences[":id"].enrollments.$get({ param: { id: seq }, query }));
const act = (api: Api, seq: string, action: ActionArgs["param"]["action"], json: ActionArgs["json"]) =>
  api.sequences[":id"].enrollments[":action"].$post({ param: { id: seq, action }, json });
const sentTo = async (enrollmentIds: string[]) =>
  (
    await env.DB.prepare(
      "SELECT m.enrollment_id, s.position FROM messages m JOIN steps s ON s.id = m.step_id WHERE m.enrollment_id IN (SELECT value FROM json_each(?)) ORDER BY m.sent_at",
    )
      .bind(JSON.stringify(enrollmentIds))
      .all<{ enrollment_id: string; position: number }>()
  ).results;

/** Puts a contact's address on the team's suppression list. */
const suppress = (teamId: string, contactId: string) =>
  env.DB.prepare(
    "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) SELECT 'sup-' || id, team_id, lower(email), 'manual', 'manual', ? FROM contacts WHERE id = ?",
  )
    .bind(now(), contactId)
    .run();

describe("contacts in a sequence: the statuses users look for", () => {
  beforeEach(() => startSimulation());

  it("filters by status (bounced and blocked are finished with that reason), counts each, searches name/email/company and sorts", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const cs = await makeContacts(teamId, 5);
    await env.DB.prepare(
      "UPDATE contacts SET company = 'Globex Corporation International Holdings Limited Partnership Worldwide' WHERE id = ?",
    )
      .bind(cs[4])
      .run();
    await enroll(teamId, sequenceId, cs, [mb]);
    const ids = (await list(api, sequenceId, { sort: "name" })).enrollments.map((e) => e.id) as [string, string, string, ...string[]];
    const stub = sequenceStub(env, sequenceId);
    await stub.transition(sequenceId, teamId, [ids[0]], "finish", "bounced");
    await stub.transition(sequenceId, teamId, [ids[1]], "finish", "unsubscribed");
    await stub.transition(sequenceId, teamId, [ids[2]], "finish", "replied");

    const all = await list(api, sequenceId);
    expect(all.counts).toMatchObject({ all: 5, active: 2, finished: 3, bounced: 1, blocked: 1, paused: 0, not_sent: 0, failed: 0 });
    expect((await list(api, sequenceId, { status: "bounced" })).enrollments.map((e) => [e.id, e.reason])).toEqual([[ids[0], "bounced"]]);
    expect((await list(api, sequenceId, { status: "blocked" })).enrollments.map((e) => e.reason_text)).toEqual(["Contact unsubscribed"]);
    expect((await list(api, sequenceId, { status: "finished", reason: "replied" })).enrollments.map((e) => e.id)).toEqual([ids[2]]);

    // Search: a name, a part of an email, a company longer than D1's 50-byte LIKE limit
    expect((await list(api, sequenceId, { q: "first3" })).enrollments.map((e) => e.contact.name)).toEqual(["First3 Last3"]);
    const email = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(cs[1]).first<{ email: string }>())!.email;
    expect((await list(api, sequenceId, { q: email })).enrollments.map((e) => e.contact.id)).toEqual([cs[1]]);
    const long = await list(api, sequenceId, { q: "Globex Corporation International Holdings Limited Partnership" });
    expect(long.enrollments.map((e) => e.contact.id)).toEqual([cs[4]]);
    expect(long.counts.all).toBe(1);

    const desc = await list(api, sequenceId, { sort: "name", order: "desc" });
    expect(desc.enrollments.map((e) => e.contact.name)).toEqual([
      "First4 Last4",
      "First3 Last3",
      "First2 Last2",
      "First1 Last1",
      "First0 Last0",
    ]);
    // A contact whose mailbox is disconnected is "not sent", with the reason and no next action
    await runUntil(now() + HOUR);
    await ok(api.mailboxes[":id"].disconnect.$post({ param: { id: mb } }));
    const ns = await list(api, sequenceId, { status: "not_sent" });
    expect(ns.counts.not_sent).toBe(2);
    for (const e of ns.enrollments) {
      expect(e.next_action_at).toBeNull();
      expect(e.reason_text).toMatch(/disconnected/i);
    }
  });

  it("refuses an unknown status or sort with the field named", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    // A raw path on purpose: the typed client can't send a status outside the schema.
    const r = await as(s, "GET", `/api/sequences/${sequenceId}/enrollments?status=nope`);
    expect(r.status).toBe(422);
    expect(fieldsOf(await errorOf(r)).map((f) => f.field)).toContain("status");
  });
});

describe("actions on contacts in a sequence", () => {
  beforeEach(() => startSimulation());

  it("pause until a date: shows the date, sends nothing meanwhile, resumes by itself at the date", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const cs = await makeContacts(teamId, 2);
    await enroll(teamId, sequenceId, cs, [mb]);
    await runUntil(now() + HOUR); // step 1 to both
    const [a, b] = (await list(api, sequenceId, { sort: "name" })).enrollments.map((e) => e.id) as [string, string];
    const until = now() + 5 * DAY;
    const res = await ok(act(api, sequenceId, "pause", { enrollment_ids: [a], until }));
    expect(res).toMatchObject({ changed: [a], outcomes: { paused: 1 } });
    const shown = (await list(api, sequenceId, { status: "paused" })).enrollments;
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatchObject({ id: a, paused_until: until, reason: "paused_until" });
    await runUntil(until - HOUR);
    expect((await sentTo([a])).map((m) => m.position)).toEqual([1]);
    expect((await sentTo([b])).map((m) => m.position)).toEqual([1, 2]);
    await runUntil(until + HOUR);
    expect((await sentTo([a])).map((m) => m.position)).toEqual([1, 2]);
    expect((await env.DB.prepare("SELECT status FROM enrollments WHERE id = ?").bind(a).first<{ status: string }>())!.status).toBe(
      "finished",
    );
    // until in the past is refused, naming the field
    const bad = await act(api, sequenceId, "pause", { enrollment_ids: [b], until: now() - 1 });
    expect(bad.status).toBe(422);
    expect(fieldsOf(await errorOf(bad)).map((f) => f.field)).toContain("until");
  });

  it("resuming a finished contact says so and offers restart; restart after finish sends step 1 again, never a step twice in one run, history kept", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const [c1] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [c1!], [mb]);
    await runUntil(now() + 3 * DAY);
    const old = (await list(api, sequenceId)).enrollments[0]!;
    expect(old.status).toBe("finished");
    const resumed = await ok(act(api, sequenceId, "resume", { enrollment_ids: [old.id] }));
    expect(resumed.changed).toEqual([]);
    expect(resumed.results[0]).toMatchObject({ id: old.id, changed: false, outcome: "finished" });
    expect(resumed.results[0]!.reason).toMatch(/restart/i);

    const r = await ok(act(api, sequenceId, "restart", { enrollment_ids: [old.id] }));
    expect(r.outcomes).toEqual({ restarted: 1 });
    const newId = r.results[0]!.new_id!;
    // Repeating the same restart changes nothing
    expect((await ok(act(api, sequenceId, "restart", { enrollment_ids: [old.id] }))).outcomes).toEqual({ already: 1 });
    await runUntil(now() + 5 * DAY);
    expect((await sentTo([old.id])).map((m) => m.position)).toEqual([1, 2]);
    expect((await sentTo([newId])).map((m) => m.position)).toEqual([1, 2]);
    const rows = await enrollmentsOf(sequenceId);
    expect(rows.map((e) => [e.id, e.status])).toEqual([
      [old.id, "finished"],
      [newId, "finished"],
    ]);

    // Restart an active contact from step 2: the old run closes ("restarted"), the new one sends step 2 only
    const [c2] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [c2!], [mb]);
    await runUntil(now() + HOUR);
    const active = (await enrollmentsOf(sequenceId)).find((e) => e.contact_id === c2 && e.status === "active")!;
    const r2 = await ok(act(api, sequenceId, "restart", { enrollment_ids: [active.id], step: 2 }));
    expect(r2.outcomes).toEqual({ restarted: 1 });
    await runUntil(now() + 3 * DAY);
    expect((await sentTo([r2.results[0]!.new_id!])).map((m) => m.position)).toEqual([2]);
    expect(await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?").bind(active.id).first()).toEqual({
      status: "finished",
      reason: "restarted",
    });
    // a step that does not exist is refused per enrollment
    const r3 = await ok(act(api, sequenceId, "restart", { enrollment_ids: [active.id], step: 9 }));
    expect(r3.results[0]).toMatchObject({ outcome: "no_such_step", changed: false });
  });

  it("restart refuses a contact who may not be emailed (unsubscribed, suppressed): no new run, the old one untouched, the reason in words", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const [gone, quiet, fine] = (await makeContacts(teamId, 3)) as [string, string, string];
    await enroll(teamId, sequenceId, [gone, quiet, fine], [mb]);
    await runUntil(now() + HOUR);
    // One unsubscribes after the first email; the other's address goes on the suppression list.
    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE id = ?").bind(now(), gone).run();
    await suppress(teamId, quiet);
    await runUntil(now() + 2 * DAY);
    const before = await enrollmentsOf(sequenceId);
    const idOf = (c: string) => before.find((e) => e.contact_id === c)!;
    expect([idOf(gone).status, idOf(gone).reason]).toEqual(["finished", "unsubscribed"]);
    expect([idOf(quiet).status, idOf(quiet).reason]).toEqual(["finished", "suppressed"]);

    const r = await ok(act(api, sequenceId, "restart", { enrollment_ids: [idOf(gone).id, idOf(quiet).id, idOf(fine).id] }));
    expect(r.outcomes).toEqual({ blocked: 2, restarted: 1 });
    expect(r.changed).toEqual([idOf(fine).id]);
    expect(r.results.find((x) => x.id === idOf(gone).id)).toMatchObject({
      changed: false,
      outcome: "blocked",
      new_id: null,
      reason: "Contact unsubscribed: not restarted",
    });
    expect(r.results.find((x) => x.id === idOf(quiet).id)!.reason).toBe("Address is on the team's suppression list: not restarted");
    // No new run for either, in D1 or in the object; the one allowed starts again.
    const after = await enrollmentsOf(sequenceId);
    expect(
      after
        .filter((e) => e.contact_id === gone || e.contact_id === quiet)
        .map((e) => e.id)
        .sort(),
    ).toEqual([idOf(gone).id, idOf(quiet).id].sort());
    expect(after.filter((e) => e.contact_id === fine)).toHaveLength(2);
    const inside = await sequenceStub(env, sequenceId).inspect();
    expect(inside.enrollments.filter((e) => e.contact_id === gone || e.contact_id === quiet)).toHaveLength(2);
  });

  it("change mailbox moves queued emails out of the old MailboxDO to the new one, audit-logged; a mailbox the caller may not send from is refused", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const oldMb = await makeMailbox(teamId, userId, { daily: 1, hourly: 1, gapSeconds: 0 });
    const newMb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const cs = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, cs, [oldMb]);
    await runUntil(now() + 10 * 60_000); // one sent, two queued behind the cap
    const queuedBefore = (await mailboxLedger(oldMb)).queue.filter((q) => q.state === "queued");
    expect(queuedBefore).toHaveLength(2);
    const res = await ok(act(api, sequenceId, "change-mailbox", { filter: { status: "active" }, mailbox_id: newMb }));
    expect(res.outcomes).toEqual({ changed: 2 });
    expect((await mailboxLedger(oldMb)).queue.filter((q) => q.state === "queued")).toHaveLength(0);
    await runUntil(now() + HOUR);
    const msgs = (
      await env.DB.prepare("SELECT mailbox_id, count(*) n FROM messages WHERE sequence_id = ? GROUP BY mailbox_id")
        .bind(sequenceId)
        .all<{ mailbox_id: string; n: number }>()
    ).results;
    expect(Object.fromEntries(msgs.map((m) => [m.mailbox_id, m.n]))).toEqual({ [oldMb]: 1, [newMb]: 2 });
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_log WHERE team_id = ? AND action = 'enrollment.change-mailbox' AND target_type = 'sequence'",
    )
      .bind(teamId)
      .all<{ details: string }>();
    expect(audit.results).toHaveLength(1);
    expect(JSON.parse(audit.results[0]!.details)).toMatchObject({ mailbox_id: newMb, from: [oldMb], count: 2 });

    const other = await makeTeam();
    const foreign = await makeMailbox(other.teamId, other.userId);
    expect((await act(api, sequenceId, "change-mailbox", { filter: { status: "all" }, mailbox_id: foreign })).status).toBe(404);
    const missing = await act(api, sequenceId, "change-mailbox", { filter: { status: "all" } });
    expect(missing.status).toBe(422);
    expect(fieldsOf(await errorOf(missing)).map((f) => f.field)).toContain("mailbox_id");
  });

  it("move to another sequence goes through add-contacts and keeps nothing behind in the old sequence", async () => {
    const { teamId, userId, s, sequenceId, mailboxIds } = await addContactsSetup({ mailboxes: [{ daily: 1, hourly: 1, gapSeconds: 0 }] });
    const api = client(s).api;
    const { sequenceId: target } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const cs = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, cs, mailboxIds);
    await runUntil(now() + 10 * 60_000);
    const res = await ok(act(api, sequenceId, "move", { filter: { status: "active" }, to_sequence_id: target, mailbox_ids: mailboxIds }));
    expect(res.outcomes).toEqual({ moved: 3 });
    expect(res.jobs).toHaveLength(1);
    const job = await waitForJob(res.jobs[0]!);
    expect(job.status, JSON.stringify(job)).toBe("completed");
    const old = await enrollmentsOf(sequenceId);
    expect(old.every((e) => e.status === "finished" && e.reason === "moved")).toBe(true);
    expect((await mailboxLedger(mailboxIds[0]!)).queue.filter((q) => q.state === "queued" && q.sequence_id === sequenceId)).toHaveLength(0);
    const outcomes = (
      await env.DB.prepare("SELECT outcome, reasons FROM job_outcomes WHERE job_id = ?")
        .bind(res.jobs[0])
        .all<{ outcome: string; reasons: string | null }>()
    ).results;
    expect(
      outcomes.map((o) => o.outcome),
      JSON.stringify(outcomes),
    ).toEqual(["enrolled", "enrolled", "enrolled"]);
    const moved = await enrollmentsOf(target);
    expect(moved.map((e) => e.contact_id).sort()).toEqual([...cs].sort());
    // An archived target is refused and nothing changes
    await env.DB.prepare("UPDATE sequences SET archived_at = ? WHERE id = ?").bind(now(), sequenceId).run();
    const back = await act(api, target, "move", { filter: { status: "all" }, to_sequence_id: sequenceId });
    expect(back.status).toBe(422);
    expect((await enrollmentsOf(target)).every((e) => e.status === "active")).toBe(true);
  });

  it("a move leaves a contact where it is when the target skips it or holds it back, and says why", async () => {
    const { teamId, userId, s, sequenceId, mailboxIds } = await addContactsSetup({ mailboxes: [{ daily: 1, hourly: 1, gapSeconds: 0 }] });
    const api = client(s).api;
    const { sequenceId: target } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    await env.DB.prepare("UPDATE sequences SET name = 'Webinar follow-up' WHERE id = ?").bind(target).run();
    const [fine, guessed, suppressed] = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, [fine!, guessed!, suppressed!], mailboxIds);
    await runUntil(now() + 10 * 60_000);
    await env.DB.prepare("UPDATE contacts SET email_status = 'guessed' WHERE id = ?").bind(guessed).run();
    await suppress(teamId, suppressed!);
    const before = await enrollmentsOf(sequenceId);
    const idOf = (c: string) => before.find((e) => e.contact_id === c)!.id;

    // "all": the suppressed contact's run is counted and listed under "Won't be sent", not "Active".
    const res = await ok(act(api, sequenceId, "move", { filter: { status: "all" }, to_sequence_id: target, mailbox_ids: mailboxIds }));
    expect(res.outcomes).toEqual({ moved: 1, not_moved: 2 });
    const byId = new Map(res.results.map((r) => [r.id, r]));
    expect(byId.get(idOf(fine!))).toMatchObject({ changed: true, outcome: "moved" });
    expect(byId.get(idOf(guessed!))).toMatchObject({ changed: false, outcome: "not_moved", held_back_by: ["unverified_email"] });
    // A skip can't be overridden: nothing to pass to move it anyway.
    expect(byId.get(idOf(suppressed!))!.held_back_by).toBeUndefined();
    expect(byId.get(idOf(guessed!))!.reason).toBe(
      "“Webinar follow-up” held them back (unverified or guessed email): still in this sequence",
    );
    expect(byId.get(idOf(suppressed!))!.reason).toBe(
      "“Webinar follow-up” can't take them (on the suppression list): still in this sequence",
    );
    // The target's job has only the contact it takes.
    expect((await waitForJob(res.jobs[0]!)).total).toBe(1);

    // Re-read both sequences: the two refused are still active here; only the one taken is there.
    const after = new Map((await enrollmentsOf(sequenceId)).map((e) => [e.contact_id, e]));
    expect(after.get(fine!)).toMatchObject({ status: "finished", reason: "moved" });
    expect(after.get(guessed!)!.status).toBe("active");
    expect(after.get(suppressed!)!.status).toBe("active");
    expect((await enrollmentsOf(target)).map((e) => e.contact_id)).toEqual([fine]);
  });

  it("a move with overrides moves contacts the target would hold back (replied there before, unverified); skips still apply; an unknown override is refused", async () => {
    const { teamId, userId, s, sequenceId, mailboxIds } = await addContactsSetup({ mailboxes: [{ daily: 1, hourly: 1, gapSeconds: 0 }] });
    const api = client(s).api;
    const { sequenceId: target } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const [repliedThere, guessed, suppressed] = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, [repliedThere!, guessed!, suppressed!], mailboxIds);
    await runUntil(now() + 10 * 60_000);
    // An earlier run of the target that the contact answered.
    await env.DB.prepare(
      "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, reason, created_at, updated_at) VALUES ('old-run', ?, ?, ?, 'finished', 'replied', 0, 0)",
    )
      .bind(teamId, target, repliedThere)
      .run();
    await env.DB.prepare("UPDATE contacts SET email_status = 'guessed' WHERE id = ?").bind(guessed).run();
    await suppress(teamId, suppressed!);
    const before = await enrollmentsOf(sequenceId);
    const idOf = (c: string) => before.find((e) => e.contact_id === c)!.id;

    const misspelt = await act(api, sequenceId, "move", {
      enrollment_ids: [idOf(repliedThere!)],
      to_sequence_id: target,
      overrides: { replied_in_sequnce: true } as never,
    });
    expect(misspelt.status).toBe(422);
    expect(JSON.stringify(await misspelt.json())).toContain("replied_in_sequnce");
    // A misplaced option is refused too, not ignored (the move would run without it).
    const misplaced = await act(api, sequenceId, "move", {
      enrollment_ids: [idOf(repliedThere!)],
      to_sequence_id: target,
      override: { replied_in_sequence: true },
    } as never);
    expect(misplaced.status).toBe(422);
    expect(JSON.stringify(await misplaced.json())).toContain("override");
    // Overriding one warning of two: the other still holds the contact back, and is the one named.
    await env.DB.prepare("UPDATE contacts SET email_status = 'guessed' WHERE id = ?").bind(repliedThere).run();
    const partly = await ok(
      act(api, sequenceId, "move", {
        enrollment_ids: [idOf(repliedThere!)],
        to_sequence_id: target,
        overrides: { replied_in_sequence: true },
      }),
    );
    expect(partly.results[0]).toMatchObject({ outcome: "not_moved", held_back_by: ["unverified_email"] });
    await env.DB.prepare("UPDATE contacts SET email_status = 'verified' WHERE id = ?").bind(repliedThere).run();
    expect((await enrollmentsOf(sequenceId)).every((e) => e.status === "active")).toBe(true);

    // "all": the suppressed contact's run is under "Won't be sent", not "Active".
    const res = await ok(
      act(api, sequenceId, "move", {
        filter: { status: "all" },
        to_sequence_id: target,
        mailbox_ids: mailboxIds,
        overrides: { replied_in_sequence: true, unverified_email: true },
      }),
    );
    expect(res.outcomes).toEqual({ moved: 2, not_moved: 1 });
    expect(res.results.find((r) => r.id === idOf(suppressed!))!.reason).toMatch(/can't take them \(on the suppression list\)/);
    expect((await waitForJob(res.jobs[0]!)).enrolled).toBe(2);
    const there = (await enrollmentsOf(target)).filter((e) => e.id !== "old-run");
    expect(there.map((e) => e.contact_id).sort()).toEqual([repliedThere, guessed].sort());
    const here = new Map((await enrollmentsOf(sequenceId)).map((e) => [e.contact_id, e]));
    expect(here.get(repliedThere!)).toMatchObject({ status: "finished", reason: "moved" });
    expect(here.get(guessed!)).toMatchObject({ status: "finished", reason: "moved" });
    expect(here.get(suppressed!)!.status).toBe("active");
    // The audit entry says which warnings the move waived on the caller's word.
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_log WHERE team_id = ? AND action = 'enrollment.move' ORDER BY created_at DESC, id DESC LIMIT 1",
    )
      .bind(teamId)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details).overrides).toEqual({ replied_in_sequence: true, unverified_email: true });
  });

  it("a contact a move holds back is not in the target's job: verified meanwhile, it is still in its own sequence only", async () => {
    const { teamId, userId, s, sequenceId, mailboxIds } = await addContactsSetup({ mailboxes: [{ daily: 1, hourly: 1, gapSeconds: 0 }] });
    const api = client(s).api;
    const { sequenceId: target } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const [guessed] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [guessed!], mailboxIds);
    await runUntil(now() + 10 * 60_000);
    await env.DB.prepare("UPDATE contacts SET email_status = 'guessed' WHERE id = ?").bind(guessed).run();
    const res = await ok(act(api, sequenceId, "move", { filter: { status: "active" }, to_sequence_id: target, mailbox_ids: mailboxIds }));
    expect(res.outcomes).toEqual({ not_moved: 1 });
    await env.DB.prepare("UPDATE contacts SET email_status = 'verified' WHERE id = ?").bind(guessed).run();
    expect((await waitForJob(res.jobs[0]!)).total).toBe(0);
    expect((await enrollmentsOf(sequenceId)).map((e) => e.status)).toEqual(["active"]);
    expect(await enrollmentsOf(target)).toEqual([]);
  });

  it("pauses and resumes every one of 1,000 enrollments matching a filter in the request, and a selection", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 3 }], null);
    const mb = await makeMailbox(teamId, userId);
    const cs = await makeContacts(teamId, 1000);
    await enroll(teamId, sequenceId, cs, [mb]);
    const paused = await ok(act(api, sequenceId, "pause", { filter: { status: "active" } }));
    expect(paused.outcomes).toEqual({ paused: 1000 });
    const counts = (
      await env.DB.prepare("SELECT status, count(*) n FROM enrollments WHERE sequence_id = ? GROUP BY status").bind(sequenceId).all()
    ).results;
    expect(counts).toEqual([{ status: "paused", n: 1000 }]);
    const some = (await list(api, sequenceId, { per_page: "100" })).enrollments.map((e) => e.id);
    expect((await ok(act(api, sequenceId, "resume", { enrollment_ids: some }))).outcomes).toEqual({ resumed: 100 });
    expect((await ok(act(api, sequenceId, "finish", { filter: { status: "paused" }, reason: "meeting_booked" }))).outcomes).toEqual({
      finished: 900,
    });
    const after = (
      await env.DB.prepare("SELECT status, reason, count(*) n FROM enrollments WHERE sequence_id = ? GROUP BY status, reason ORDER BY n")
        .bind(sequenceId)
        .all()
    ).results;
    expect(after).toEqual([
      { status: "active", reason: "waiting_for_step", n: 100 },
      { status: "finished", reason: "meeting_booked", n: 900 },
    ]);
  }, 120_000);
});
