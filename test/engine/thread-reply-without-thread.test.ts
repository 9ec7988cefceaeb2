// A "reply in the same thread" step reached by a contact who never got the email it replies to (that step
// skipped for them, turned off or deleted, or only calls before it): there is no thread, so the email
// starts one, under the subject the contact would have seen: its own if it has one, else that of the
// email step it follows (the variant this contact gets). Before, it went out as "(no subject)".
// Sends are counted at the transport; the preview says what the send does.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { client, ok } from "../helpers";
import {
  HOUR,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

type Sent = { subject: string; inReplyTo: boolean };

describe("a same-thread reply with no thread to reply in", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  async function world(steps: Parameters<typeof makeSequence>[2]) {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, steps, null);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const sent: Sent[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (
        sent.push({ subject: /^Subject: (.*)$/m.exec(e.raw)?.[1]?.trim() ?? "?", inReplyTo: /^In-Reply-To:/m.test(e.raw) }),
        { ok: true, response: "counted" }
      ),
    });
    const contactIds = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, contactIds, [mailboxId]);
    return { api, sequenceId, stepIds, sent };
  }

  const intro = { wait: 1, variants: [{ subject: "Quick idea for {{company}}", body: "Intro" }] };
  const bump = (subject = "") => ({ wait: 0, threadReply: true, variants: [{ subject, body: "Following up" }] });

  it("the first email turned off: the reply goes as a new email under the first email's subject", async () => {
    const w = await world([intro, bump()]);
    await ok(
      w.api.sequences[":id"].steps[":stepId"].$patch({ param: { id: w.sequenceId, stepId: w.stepIds[0]! }, json: { enabled: false } }),
    );
    await runUntil(SIM_START + 2 * 24 * HOUR);
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]!.subject).toMatch(/^Quick idea for \S/);
    expect(w.sent[0]!.inReplyTo).toBe(false);
  });

  it("only a call before it: its own subject", async () => {
    const w = await world([{ type: "call", wait: 0 }, bump("Checking in, {{first_name}}")]);
    await runUntil(SIM_START + HOUR);
    // The call is a task: complete it, and the reply is due.
    const { tasks } = await ok(w.api.tasks.$get({ query: {} }));
    expect(tasks).toHaveLength(1);
    await ok(w.api.tasks[":id"][":action"].$post({ param: { id: tasks[0]!.id, action: "complete" }, json: {} }));
    await runUntil(SIM_START + 2 * HOUR);
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]!.subject).toMatch(/^Checking in, \S/);
  });

  it("the first email skipped for the contact: the preview and the send use the first email's subject", async () => {
    const w = await world([intro, bump()]);
    // Step 1 waits a day: skip it for this contact from the scheduled list.
    const row = (await ok(w.api["scheduled-emails"].$get({ query: { sequence_id: w.sequenceId } }))).scheduled[0]!;
    await ok(
      w.api["scheduled-emails"][":enrollment_id"][":step_id"].skip.$post({
        param: { enrollment_id: row.enrollment_id, step_id: w.stepIds[0]! },
      }),
    );
    const preview = await ok(
      w.api.sequences[":id"].enrollments[":enrollment_id"]["next-email"].$get({
        param: { id: w.sequenceId, enrollment_id: row.enrollment_id },
      }),
    );
    expect(preview.subject).toMatch(/^Quick idea for \S/);
    await runUntil(SIM_START + 2 * 24 * HOUR);
    expect(w.sent.map((s) => s.subject)).toEqual([preview.subject]);
  });
});
