// A manual email sent from its task (POST /api/tasks/{id}/send) that waits at its mailbox's daily limit is on
// the Scheduled emails list, labelled as sent from its task with the time the mailbox will send it; the
// list's actions on it are refused in words and leave it queued, and it goes out once, as the rep wrote it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, errorOf, ok } from "../helpers";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

type Api = ReturnType<typeof client>["api"];
type ListQuery = Parameters<Api["scheduled-emails"]["$get"]>[0]["query"];

async function world() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [
      { wait: 0, variants: [{ subject: "Hi {{first_name}}", body: "About {{company}}" }] },
      { type: "manual_email", wait: 0, variants: [{ subject: "Hello {{first_name}}", body: "Hi {{first_name}}, a note" }] },
    ],
    null,
  );
  // One email a day: the automatic first step takes it, so the manual one sent from its task waits for tomorrow.
  const mailboxId = await makeMailbox(teamId, userId, { daily: 1, gapSeconds: 0 });
  const calls: { raw: string; at: number }[] = [];
  setTransportOverride(mailboxId, { send: async (m) => (calls.push({ raw: m.raw, at: now() }), { ok: true }) });
  const [contactId] = await makeContacts(teamId, 1);
  await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
  await runUntil(now() + HOUR);
  const task = await env.DB.prepare("SELECT id, enrollment_id, step_id FROM tasks WHERE sequence_id = ? AND type = 'manual_email'")
    .bind(sequenceId)
    .first<{ id: string; enrollment_id: string; step_id: string }>();
  return { teamId, api: client(s).api, sequenceId, stepIds, mailboxId, contactId: contactId!, calls, task: task! };
}

const listed = (api: Api, query: ListQuery) => ok(api["scheduled-emails"].$get({ query }));

describe("a manual email sent from its task on the Scheduled emails list", () => {
  const mailboxes: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const m of mailboxes.splice(0)) setTransportOverride(m, null);
  });

  it("is listed at the daily limit with its real send time, its actions are refused and leave it queued, and it goes once", async () => {
    const w = await world();
    mailboxes.push(w.mailboxId);
    expect(w.calls).toHaveLength(1);
    expect(w.task.step_id).toBe(w.stepIds[1]);
    const sent = await ok(w.api.tasks[":id"].send.$post({ param: { id: w.task.id }, json: { body: "Hi there, as I wrote it" } }));
    const sendAt = sent.task.send_at!;
    expect(sendAt).toBeGreaterThan(now() + 60_000);

    // On every list that holds it: the sequence's, the contact's, the mailbox's.
    for (const q of [{ sequence_id: w.sequenceId }, { contact_id: w.contactId }, { mailbox_id: w.mailboxId }]) {
      const page = await listed(w.api, { ...q, limit: "50" });
      const row = page.scheduled.find((r) => r.enrollment_id === w.task.enrollment_id);
      expect(row).toMatchObject({
        step: { id: w.stepIds[1], position: 2 },
        from_task: true,
        state: "queued",
        send_at: sendAt,
        reason: "task_email_waiting",
        can_edit: false,
      });
      expect(row!.reason_text).toContain("Sent from its task");
    }
    // Its preview is the rep's text, as it will go.
    const key = { enrollment_id: w.task.enrollment_id, step_id: w.task.step_id };
    const r = w.api["scheduled-emails"][":enrollment_id"][":step_id"];
    const preview = await ok(r.$get({ param: key }));
    expect(preview.body).toContain("Hi there, as I wrote it");

    // Each action is refused in words; none moves, drops or duplicates the email.
    const mb = engine.mailbox(env, w.mailboxId);
    const refusals = [
      [await r["send-now"].$post({ param: key }), "already first in line"],
      [await r.skip.$post({ param: key }), "can't be skipped"],
      [await r.reschedule.$post({ param: key, json: { at: now() + 2 * HOUR } }), "can't be moved"],
      [await r.$patch({ param: key, json: { body: "Something else" } }), "can't be edited"],
    ] as const;
    for (const [res, words] of refusals) {
      expect(res.status).toBe(409);
      expect((await errorOf(res)).message).toContain(words);
    }
    expect(await mb.eta({ enrollmentId: w.task.enrollment_id, stepId: w.task.step_id })).toBe(sendAt);
    const again = await listed(w.api, { sequence_id: w.sequenceId, limit: "50" });
    expect(again.scheduled.find((x) => x.enrollment_id === w.task.enrollment_id)).toMatchObject({ send_at: sendAt });

    // The refused edit left the rep's text.
    expect((await ok(r.$get({ param: key }))).body).toContain("Hi there, as I wrote it");
    await runUntil(sendAt - 1);
    expect(w.calls).toHaveLength(1);
    await runUntil(sendAt + HOUR);
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]!.raw).toContain("Hi there, as I wrote it");
    expect(w.calls[1]!.at).toBe(sendAt);
    // Sent: off the list.
    const after = await listed(w.api, { sequence_id: w.sequenceId, limit: "50" });
    expect(after.scheduled.filter((x) => x.enrollment_id === w.task.enrollment_id)).toEqual([]);
  });

  it("a manual email whose task is still open is not listed, and the list's actions on it point to the task", async () => {
    const w = await world();
    mailboxes.push(w.mailboxId);
    const page = await listed(w.api, { sequence_id: w.sequenceId, limit: "50" });
    expect(page.scheduled.filter((x) => x.enrollment_id === w.task.enrollment_id)).toEqual([]);
    const key = { enrollment_id: w.task.enrollment_id, step_id: w.task.step_id };
    const r = w.api["scheduled-emails"][":enrollment_id"][":step_id"];
    const skip = await r.skip.$post({ param: key });
    expect(skip.status).toBe(409);
    expect((await errorOf(skip)).message).toContain("from its task");
    expect((await env.DB.prepare("SELECT status FROM tasks WHERE id = ?").bind(w.task.id).first<{ status: string }>())?.status).toBe(
      "open",
    );
    await runUntil(now() + 3 * HOUR);
    expect(w.calls).toHaveLength(1);
  });
});
