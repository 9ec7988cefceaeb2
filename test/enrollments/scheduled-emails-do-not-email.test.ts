// A contact the engine won't email (a suppressed address, a blocked domain, an unsubscribe) is never shown as about
// to be emailed: the scheduled emails list (state, reason, send_at), its preview, the next-email preview, the
// sequence's Contacts tab and the contact's sequences all say it won't, with the reason, as the engine's own check
// (eligibility.ts blockingReason) does. Then the step comes: the transport gets nothing and the run finishes with
// that reason, which is what the screens said.
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

type Api = ReturnType<typeof client>["api"];

const CASES: { name: string; reason: string; block: (api: Api, email: string, contactId: string) => Promise<unknown> }[] = [
  {
    name: "its address on the Do not email list",
    reason: "suppressed",
    block: (api, email) => ok(api.suppressions.$post({ json: { emails: [email] } })),
  },
  {
    name: "its domain on the Do not email list",
    reason: "suppressed",
    block: (api, email) => ok(api.suppressions.$post({ json: { domain: email.split("@")[1]! } })),
  },
  {
    name: "unsubscribed",
    reason: "unsubscribed",
    block: (_api, _email, contactId) =>
      env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE id = ?")
        .bind(SIM_START + HOUR, contactId)
        .run(),
  },
];

describe("a contact the engine won't email, on every screen that tells the next email", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  async function world() {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      [
        { wait: 0, variants: [{ subject: "Intro", body: "One" }] },
        { wait: 1, variants: [{ subject: "Follow-up", body: "Two" }] },
      ],
      null,
    );
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const sent: string[] = [];
    setTransportOverride(mailboxId, { local: true, send: async (e) => (sent.push(e.raw), { ok: true, response: "counted" }) });
    const [contactId] = (await makeContacts(teamId, 1)) as [string];
    await enroll(teamId, sequenceId, [contactId], [mailboxId]);
    await runUntil(SIM_START + HOUR);
    expect(sent).toHaveLength(1);
    const { id, email } = (await env.DB.prepare(
      "SELECT e.id, c.email FROM enrollments e JOIN contacts c ON c.id = e.contact_id WHERE e.contact_id = ?",
    )
      .bind(contactId)
      .first<{ id: string; email: string }>())!;
    const run = () =>
      env.DB.prepare("SELECT status, reason FROM enrollments WHERE id = ?").bind(id).first<{ status: string; reason: string }>();
    const scheduled = async () => (await ok(api["scheduled-emails"].$get({ query: { contact_id: contactId } }))).scheduled;
    return { api, sequenceId, contactId, enrollmentId: id, email, sent, run, scheduled };
  }

  it("before any block, the second email is waiting with a time (the baseline the cases change)", async () => {
    const w = await world();
    const [row] = await w.scheduled();
    expect(row).toMatchObject({ state: "waiting", reason: "waiting_for_step" });
    expect(row!.send_at).toBeGreaterThanOrEqual(SIM_START + DAY);
  });

  for (const c of CASES)
    it(`${c.name}: every screen says it won't be sent (${c.reason}), and the engine then sends nothing and finishes the run`, async () => {
      const w = await world();
      await c.block(w.api, w.email, w.contactId);
      const won = { reason: c.reason, text: expect.stringMatching(/^Won't be sent: .*the run ends when its step comes due$/) };
      // Soft: each screen's answer is reported, not only the first that is wrong.

      // The scheduled emails list (the contact page's, the sequence's and the team's read the same rows).
      const [row] = await w.scheduled();
      expect.soft(row).toMatchObject({ state: "held", send_at: null, reason: won.reason, reason_text: won.text });

      // Its preview, and the next-email preview of the enrollment.
      const step = row!.step.id;
      const preview = await ok(
        w.api["scheduled-emails"][":enrollment_id"][":step_id"].$get({ param: { enrollment_id: w.enrollmentId, step_id: step } }),
      );
      expect.soft(preview.refused).toEqual(won);
      const next = await ok(
        w.api.sequences[":id"].enrollments[":enrollment_id"]["next-email"].$get({
          param: { id: w.sequenceId, enrollment_id: w.enrollmentId },
        }),
      );
      expect.soft(next.refused).toEqual(won);

      // The sequence's Contacts tab: no next send, the reason instead.
      const tab = await ok(w.api.sequences[":id"].enrollments.$get({ param: { id: w.sequenceId }, query: { status: "all", q: w.email } }));
      expect.soft(tab.enrollments).toHaveLength(1);
      expect.soft(tab.enrollments[0]).toMatchObject({ status: "active", next_action_at: null, reason: won.reason, reason_text: won.text });

      // The contact page's sequences.
      const mine = await ok(w.api.contacts[":id"].sequences.$get({ param: { id: w.contactId } }));
      expect.soft(mine.sequences[0]).toMatchObject({ status: "active", reason: won.reason, reason_text: won.text });

      // What the engine does when the step comes: nothing sent, the run finished with that reason.
      await runUntil(SIM_START + 3 * DAY);
      expect(w.sent).toHaveLength(1);
      expect(await w.run()).toEqual({ status: "finished", reason: c.reason });
    });
});
