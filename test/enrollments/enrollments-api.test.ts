import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { signUnsubscribeToken } from "../../worker/services/mime";
import { call, client, env, ok } from "../helpers";
import {
  DAY,
  HOUR,
  enroll,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

describe("enrollment views and actions", () => {
  beforeEach(() => startSimulation());

  it("shows each contact's next action time, or the reason it is not progressing", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const scheduleId = await makeSchedule(teamId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], scheduleId);
    const mb = await makeMailbox(teamId, userId, { daily: 2, hourly: 2, gapSeconds: 60 });
    const contacts = await makeContacts(teamId, 4);
    await enroll(teamId, sequenceId, contacts, [mb]);
    await runUntil(now() + 16 * HOUR); // Monday 11:00 New York: two sent, two waiting for the daily cap

    const enrollments = () => ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: {} }));
    const body = await enrollments();
    expect(body.enrollments).toHaveLength(4);
    for (const e of body.enrollments) {
      expect(e.status).toBe("active");
      expect(e.next_action_at).toBeGreaterThan(now());
      expect(e.reason_text).toBeTruthy();
    }
    const waiting = body.enrollments.filter((e) => e.reason === "queued_for_mailbox");
    expect(waiting).toHaveLength(2);
    const scheduled = await ok(api["scheduled-emails"].$get({ query: { sequence_id: sequenceId } }));
    expect(scheduled.scheduled).toHaveLength(4);
    expect(scheduled.scheduled.every((x) => x.send_at !== null)).toBe(true);

    // Disconnecting the mailbox is visible as the reason
    await ok(api.mailboxes[":id"].disconnect.$post({ param: { id: mb } }));
    const held = await enrollments();
    // All four: the two queued in it and the two whose next email waits for its step would go out from it (issue 12, item 7).
    const reasons = held.enrollments.filter((e) => e.reason === "mailbox_disconnected");
    expect(reasons).toHaveLength(4);
    expect(reasons[0]!.reason_text).toMatch(/disconnected/i);
    expect(reasons[0]!.next_action_at).toBeNull();
  });

  it("pauses, resumes and removes contacts; a paused contact gets nothing", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0, daily: 100, hourly: 100 });
    const contacts = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, contacts, [mb]);
    await runUntil(now() + HOUR);
    const act = api.sequences[":id"].enrollments[":action"].$post;
    const list = (await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: {} }))).enrollments;
    const [a, b] = [list[0]!, list[1]!];
    const paused = await ok(act({ param: { id: sequenceId, action: "pause" }, json: { enrollment_ids: [a.id] } }));
    expect(paused.changed).toEqual([a.id]);
    await ok(act({ param: { id: sequenceId, action: "remove" }, json: { enrollment_ids: [b.id] } }));
    await runUntil(now() + 3 * DAY);
    const sent = await env.DB.prepare("select enrollment_id, count(*) n from messages where sequence_id = ? group by enrollment_id")
      .bind(sequenceId)
      .all<{ enrollment_id: string; n: number }>();
    const byId = Object.fromEntries(sent.results.map((r) => [r.enrollment_id, r.n]));
    expect(byId[a.id]).toBe(1);
    expect(byId[b.id]).toBe(1);
    const row = await env.DB.prepare("select status, reason from enrollments where id = ?").bind(a.id).first();
    expect(row).toEqual({ status: "paused", reason: "paused_by_user" });
    expect(await env.DB.prepare("select status, reason from enrollments where id = ?").bind(b.id).first()).toEqual({
      status: "removed",
      reason: "removed_by_user",
    });
    await ok(act({ param: { id: sequenceId, action: "resume" }, json: { enrollment_ids: [a.id] } }));
    await runUntil(now() + 2 * DAY);
    expect((await env.DB.prepare("select count(*) n from messages where enrollment_id = ?").bind(a.id).first<{ n: number }>())!.n).toBe(2);
    // ids from elsewhere are refused, nothing changes
    expect((await act({ param: { id: sequenceId, action: "pause" }, json: { enrollment_ids: ["nope"] } })).status).toBe(404);
  });

  it("a call step becomes a task; completing it moves the contact on", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      [
        { type: "call", wait: 0 },
        { wait: 0, unit: "minutes" },
      ],
      null,
    );
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const [c1] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [c1!], [mb]);
    await runUntil(now() + HOUR);
    const tasks = await ok(api.tasks.$get({ query: { view: "open" } }));
    expect(tasks.tasks).toHaveLength(1);
    expect(tasks.tasks[0]).toMatchObject({ type: "call", status: "open", assignee_id: userId, sequence: { id: sequenceId } });
    const e = (await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: {} }))).enrollments[0]!;
    expect(e.reason).toBe("task_open");
    const complete = () => api.tasks[":id"][":action"].$post({ param: { id: tasks.tasks[0]!.id, action: "complete" }, json: {} });
    expect((await complete()).status).toBe(200);
    expect((await complete()).status).toBe(409);
    await runUntil(now() + HOUR);
    const sent = await env.DB.prepare("select count(*) n from messages where sequence_id = ?").bind(sequenceId).first<{ n: number }>();
    expect(sent!.n).toBe(1);
  });
});

describe("one-click unsubscribe", () => {
  it("POST with a signed token suppresses the address for the team; a tampered token is refused", async () => {
    const { teamId } = await makeTeam();
    const [cid] = await makeContacts(teamId, 1);
    const c = (await env.DB.prepare("select email from contacts where id = ?").bind(cid).first<{ email: string }>())!;
    const token = await signUnsubscribeToken("test-secret-not-for-production", { teamId, email: c.email });
    const page = await call(`/unsubscribe/${token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(c.email);
    expect((await env.DB.prepare("select count(*) n from suppressions where team_id = ?").bind(teamId).first<{ n: number }>())!.n).toBe(0);
    const res = await call(`/unsubscribe/${token}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(res.status).toBe(200);
    const sup = await env.DB.prepare("select reason, email from suppressions where team_id = ?").bind(teamId).all();
    expect(sup.results).toEqual([{ reason: "unsubscribed", email: c.email }]);
    expect(
      (await env.DB.prepare("select unsubscribed_at from contacts where id = ?").bind(cid).first<{ unsubscribed_at: number | null }>())!
        .unsubscribed_at,
    ).toBeGreaterThan(0);
    const bad = token.slice(0, -3) + (token.endsWith("A") ? "BBB" : "AAA");
    expect((await call(`/unsubscribe/${bad}`, { method: "POST" })).status).toBe(404);
  });
});
