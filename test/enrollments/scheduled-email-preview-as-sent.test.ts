// The scheduled-email preview says what the send will do, from the send path's own composer: the email it
// refuses (a variable with no value and no fallback: the contact is paused on the step) is "Not sent", with
// the composer's reason, not "rendered empty or with its fallback"; a same-thread reply's subject variables
// don't count (the subject is the thread's); {{day_of_week}} is the day it goes, not today; and a reply
// answers the run's latest new email. Each is checked against what the transport then gets.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import {
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

const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(raw)?.[1]?.trim() ?? null;

describe("the scheduled-email preview, as the send will be", () => {
  const mailboxes: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => mailboxes.splice(0).forEach((m) => setTransportOverride(m, null)));

  async function world(steps: StepSpec[], scheduleId?: (teamId: string) => Promise<string>) {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, steps, scheduleId ? await scheduleId(teamId) : null);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    mailboxes.push(mailboxId);
    const sent: { raw: string; at: number }[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (sent.push({ raw: e.raw, at: now() }), { ok: true, response: "counted" }),
    });
    const contactIds = await makeContacts(teamId, 2);
    await enroll(teamId, sequenceId, contactIds, [mailboxId]);
    const runOf = async (contactId: string) =>
      (await env.DB.prepare("SELECT id, status, reason FROM enrollments WHERE contact_id = ?").bind(contactId).first<{
        id: string;
        status: string;
        reason: string | null;
      }>())!;
    const preview = async (contactId: string, stepId: string) =>
      ok(
        api["scheduled-emails"][":enrollment_id"][":step_id"].$get({
          param: { enrollment_id: (await runOf(contactId)).id, step_id: stepId },
        }),
      );
    return { sequenceId, stepIds, contactIds, sent, runOf, preview };
  }

  it("a reply whose body lacks a value: Not sent, paused, as the send then does; its subject's variables don't count", async () => {
    const w = await world([
      { wait: 0, variants: [{ subject: "Intro", body: "One" }] },
      { wait: 1, threadReply: true, variants: [{ subject: "For {{title}}", body: "Hi {{first_name}}, two" }] },
    ]);
    const [named, blank] = w.contactIds as [string, string];
    // Neither has a title (the subject's variable, unused by a reply); one has no first name (the body's).
    await env.DB.prepare("UPDATE contacts SET title = NULL WHERE id IN (?, ?)").bind(named, blank).run();
    await env.DB.prepare("UPDATE contacts SET first_name = '' WHERE id = ?").bind(blank).run();
    await runUntil(SIM_START + HOUR);
    expect(w.sent).toHaveLength(2);

    const fine = await w.preview(named, w.stepIds[1]!);
    expect(fine).toMatchObject({ subject: "Re: Intro", missing: [], refused: null });
    const refused = await w.preview(blank, w.stepIds[1]!);
    expect(refused.missing).toEqual(["first_name"]);
    expect(refused.refused).toEqual({
      reason: "missing_variables: first_name",
      text: expect.stringMatching(/^Not sent: the contact will be paused on this step/),
    });

    await runUntil(SIM_START + DAY + 2 * HOUR);
    expect(w.sent).toHaveLength(3);
    expect(header(w.sent[2]!.raw, "Subject")).toBe("Re: Intro");
    expect(await w.runOf(blank)).toMatchObject({ status: "paused", reason: refused.refused!.reason });
  });

  it("{{day_of_week}} is the day it goes (after the window), not today, and the email says that day", async () => {
    // Open Monday, Tuesday, Wednesday and Friday: step 1 goes Monday 9:00; step 2, three days on, falls on
    // Thursday and waits for Friday.
    const w = await world(
      [
        { wait: 0, variants: [{ subject: "Intro", body: "One" }] },
        { wait: 3, variants: [{ subject: "Happy {{day_of_week}}", body: "Two" }] },
      ],
      (teamId) => makeSchedule(teamId, { windows: Object.fromEntries(["1", "2", "3", "5"].map((d) => [d, [["09:00", "17:00"]]])) }),
    );
    await runUntil(SIM_START + DAY);
    expect(w.sent.length).toBeGreaterThan(0);
    const p = await w.preview(w.contactIds[0]!, w.stepIds[1]!);
    expect(p.subject).toBe("Happy Friday");
    await runUntil(SIM_START + 6 * DAY);
    const subjects = w.sent.map((s) => header(s.raw, "Subject"));
    expect(subjects.filter((s) => s === "Happy Friday")).toHaveLength(2);
  });

  it("a reply after a second new email: the preview's In-Reply-To and subject are that email's, as sent", async () => {
    const w = await world([
      { wait: 0, variants: [{ subject: "Intro", body: "One" }] },
      { wait: 1, threadReply: true, variants: [{ subject: "", body: "Two" }] },
      { wait: 1, variants: [{ subject: "Case study", body: "Three" }] },
      { wait: 1, threadReply: true, variants: [{ subject: "", body: "Four" }] },
    ]);
    await runUntil(SIM_START + 2 * DAY + 2 * HOUR);
    const caseStudy = w.sent.find((s) => header(s.raw, "Subject") === "Case study")!;
    const p = await w.preview(w.contactIds[0]!, w.stepIds[3]!);
    expect(p).toMatchObject({ subject: "Re: Case study", in_reply_to: header(caseStudy.raw, "Message-ID") });
  });
});
