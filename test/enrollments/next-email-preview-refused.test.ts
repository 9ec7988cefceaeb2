// The enrollments' next-email preview says what the engine will do, through the scheduled-email preview (the send
// path's composer): a variable with no value and no fallback makes the send refuse and pause the contact on the
// step, so the preview says "Not sent" with that reason; with a fallback the email goes, as previewed. Each is
// checked against what the transport then gets and the run's row.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import {
  DAY,
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

const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(raw)?.[1]?.trim() ?? null;

describe("the next-email preview, as the engine will send it", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  async function world(subject: string) {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      [
        { wait: 0, variants: [{ subject: "Intro", body: "One" }] },
        { wait: 1, variants: [{ subject, body: "Two" }] },
      ],
      null,
    );
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const sent: string[] = [];
    setTransportOverride(mailboxId, { local: true, send: async (e) => (sent.push(e.raw), { ok: true, response: "counted" }) });
    const [contactId] = (await makeContacts(teamId, 1)) as [string];
    // The contact has no first name: the second email's {{first_name}} has no value.
    await env.DB.prepare("UPDATE contacts SET first_name = '' WHERE id = ?").bind(contactId).run();
    await enroll(teamId, sequenceId, [contactId], [mailboxId]);
    await runUntil(SIM_START + HOUR);
    expect(sent).toHaveLength(1);
    const run = async () =>
      (await env.DB.prepare("SELECT id, status, reason FROM enrollments WHERE contact_id = ?").bind(contactId).first<{
        id: string;
        status: string;
        reason: string | null;
      }>())!;
    const { id } = await run();
    const preview = () =>
      ok(api.sequences[":id"].enrollments[":enrollment_id"]["next-email"].$get({ param: { id: sequenceId, enrollment_id: id } }));
    return { sent, run, preview };
  }

  it("{{first_name}} without a fallback, for a contact with none: Not sent, and the run is then paused on the step", async () => {
    const w = await world("Hi {{first_name}}");
    const p = await w.preview();
    expect(p.step.position).toBe(2);
    expect(p.missing).toEqual(["first_name"]);
    expect(p.refused).toEqual({
      reason: "missing_variables: first_name",
      text: expect.stringMatching(/^Not sent: the contact will be paused on this step \(the email uses \{\{first_name\}\}/),
    });

    await runUntil(SIM_START + 2 * DAY);
    expect(w.sent).toHaveLength(1);
    expect(await w.run()).toMatchObject({ status: "paused", reason: p.refused!.reason });
  });

  it("{{first_name|there}}: rendered with the fallback, not refused, and sent as previewed", async () => {
    const w = await world("Hi {{first_name|there}}");
    const p = await w.preview();
    expect(p).toMatchObject({ subject: "Hi there", missing: [], refused: null });

    await runUntil(SIM_START + 2 * DAY);
    expect(w.sent).toHaveLength(2);
    expect(header(w.sent[1]!, "Subject")).toBe(p.subject);
    expect(await w.run()).not.toMatchObject({ status: "paused" });
  });
});
