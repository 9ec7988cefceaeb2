// A contact the engine won't email (a suppressed address, a blocked domain, an unsubscribe) is never shown as about
// to be emailed: the scheduled emails list (state, reason, send_at), its preview, the next-email preview, the
// sequence's Contacts tab and the contact's sequences all say it won't, with the reason, as the engine's own check
// (eligibility.ts blockingReason) does. Then the step comes: the transport gets nothing and the run finishes with
// that reason, which is what the screens said. The Contacts tab's chips agree with its rows (the run counts under
// "Won't be sent", not "Active"); "send now" and "reschedule" promise no time it will never go at; a blocked domain
// is named as a domain, not as the address; a run added to start later (scheduled) is read the same way.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { client, env, errorOf, ok } from "../helpers";
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

const CASES: {
  name: string;
  reason: string;
  says: string;
  block: (api: Api, email: string, contactId: string) => Promise<unknown>;
}[] = [
  {
    name: "its address on the Do not email list",
    reason: "suppressed",
    says: "Address is on the team's suppression list",
    block: (api, email) => ok(api.suppressions.$post({ json: { emails: [email] } })),
  },
  {
    // Only the domain's entry matches: the words name the domain, not an address that isn't on the list.
    name: "its domain on the Do not email list",
    reason: "suppressed_domain",
    says: "Its domain is on the team's Do not email list (a blocked domain)",
    block: (api, email) => ok(api.suppressions.$post({ json: { domain: email.split("@")[1]! } })),
  },
  {
    name: "unsubscribed",
    reason: "unsubscribed",
    says: "Contact unsubscribed",
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
    type TabQuery = Parameters<Api["sequences"][":id"]["enrollments"]["$get"]>[0]["query"];
    const tab = (query: TabQuery) => ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query }));
    return { api, teamId, sequenceId, contactId, enrollmentId: id, email, sent, run, scheduled, tab };
  }

  /**
   * Each chip of the Contacts tab against the rows its filter shows, with a search (the counts walk the rows) and
   * without (they add up enrollment_groups): the same numbers either way.
   */
  async function chips(w: Awaited<ReturnType<typeof world>>, filters: ("active" | "wont_send" | "scheduled")[]) {
    const out: Record<string, { chip: number; rows: number; total: number }[]> = {};
    for (const status of filters)
      for (const q of [undefined, "First"]) {
        const page = await w.tab({ status, ...(q ? { q } : {}) });
        (out[status] ??= []).push({ chip: page.counts[status]!, rows: page.enrollments.length, total: page.pagination.total_entries });
      }
    return out;
  }

  it("before any block, the second email is waiting with a time (the baseline the cases change)", async () => {
    const w = await world();
    const [row] = await w.scheduled();
    expect(row).toMatchObject({ state: "waiting", reason: "waiting_for_step" });
    expect(row!.send_at).toBeGreaterThanOrEqual(SIM_START + DAY);
    const one = { chip: 1, rows: 1, total: 1 };
    const none = { chip: 0, rows: 0, total: 0 };
    expect(await chips(w, ["active", "wont_send"])).toEqual({ active: [one, one], wont_send: [none, none] });
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
      expect
        .soft(mine.sequences[0]!.reason_text)
        .toBe(`Won't be sent: ${c.says}. Nothing more goes to this contact: the run ends when its step comes due`);

      // "Send now" and "reschedule" promise no time it never goes at: the engine refuses both with the reason, nothing recorded.
      const r = w.api["scheduled-emails"][":enrollment_id"][":step_id"];
      const param = { enrollment_id: w.enrollmentId, step_id: step };
      for (const res of [await r["send-now"].$post({ param }), await r.reschedule.$post({ param, json: { at: SIM_START + 2 * DAY } })])
        expect.soft(await errorOf(res)).toMatchObject({ status: 409, code: "conflict", message: expect.stringContaining(c.says) });
      expect.soft((await w.scheduled())[0]).toMatchObject({ send_now: false, rescheduled_to: null });

      // The tab's chips agree with its rows: the run is counted under "Won't be sent", and "Active" counts none.
      const one = { chip: 1, rows: 1, total: 1 };
      const none = { chip: 0, rows: 0, total: 0 };
      expect.soft(await chips(w, ["active", "wont_send"])).toEqual({ active: [none, none], wont_send: [one, one] });

      // What the engine does when the step comes: nothing sent, the run finished with that reason.
      await runUntil(SIM_START + 3 * DAY);
      expect(w.sent).toHaveLength(1);
      expect(await w.run()).toEqual({ status: "finished", reason: c.reason });
    });

  it("a run added to start later (scheduled) of a contact it won't email says so, and is counted so", async () => {
    const w = await world();
    // A run in the 'scheduled' status, as D1 holds one added with a later start.
    const [later] = (await makeContacts(w.teamId, 1)) as [string];
    const t = SIM_START + HOUR;
    await env.DB.prepare(
      `INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, reason, mailbox_id, current_step, next_due_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'scheduled', 'scheduled', ?, 1, ?, ?, ?)`,
    )
      .bind("later-run", w.teamId, w.sequenceId, later, mailboxId, SIM_START + 2 * DAY, t, t)
      .run();
    const row = async () => (await w.tab({ status: "scheduled" })).enrollments.find((e) => e.id === "later-run");
    expect(await row()).toMatchObject({ status: "scheduled", reason: "scheduled" });
    const { email } = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(later).first<{ email: string }>())!;
    await ok(w.api.suppressions.$post({ json: { emails: [email] } }));

    expect(await row()).toMatchObject({
      status: "scheduled",
      reason: "suppressed",
      reason_text:
        "Won't be sent: Address is on the team's suppression list. Nothing more goes to this contact: the run ends when its step comes due",
    });
    // Counted under "Won't be sent" (and still under "Scheduled", its status), the other contact under "Active".
    const one = { chip: 1, rows: 1, total: 1 };
    expect(await chips(w, ["active", "wont_send", "scheduled"])).toEqual({
      active: [one, one],
      wont_send: [one, one],
      scheduled: [one, one],
    });
    expect((await w.tab({ status: "wont_send" })).enrollments.map((e) => e.id)).toEqual(["later-run"]);
  });
});
