// Two steps at one position (old data, written in D1 as the steps-at-one-position tests do): D1's copy of a
// run names its step by position only, so the Scheduled emails list and the report's Reached, which joined
// steps on position alone, matched both tied steps: the list showed the run twice and Reached counted the
// open run on both. Both now take the first of the tied steps in (position, id) order the run has not had,
// as the engine runs them, and the report lists the steps (and its A/B tests) in that order too.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, startSimulation } from "../fixtures";

describe("two steps at one position", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("list a run once in Scheduled emails, count it once in Reached, and come in (position, id) order in the report", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [
        {
          wait: 0,
          variants: [
            { subject: "Written A", body: "One" },
            { subject: "Written B", body: "Two" },
          ],
        },
      ],
      null,
    );
    const written = stepIds[0]!;
    // Written after the first step but with a smaller id: D1 reads it second, the engine runs it first.
    const tied = `000000${newId().slice(6)}`;
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO steps (id, team_id, sequence_id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note, created_at)
         SELECT ?, team_id, sequence_id, 1, type, 0, wait_unit, 0, 1, 0, '', created_at FROM steps WHERE id = ?`,
      ).bind(tied, written),
      env.DB.prepare(
        "INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at) VALUES (?, ?, ?, 'A', 'Tied A', 'One', 1, 0), (?, ?, ?, 'B', 'Tied B', 'Two', 1, 0)",
      ).bind(newId(), teamId, tied, newId(), teamId, tied),
    ]);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    // Nothing is sent: the run waits at position 1 with neither email gone.
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true, response: "not reached" }) });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    const d1 = await env.DB.prepare("SELECT current_step, status FROM enrollments WHERE sequence_id = ?").bind(sequenceId).all();
    expect(d1.results).toEqual([{ current_step: 1, status: "active" }]);

    const list = await ok(api["scheduled-emails"].$get({ query: { sequence_id: sequenceId } }));
    expect(list.scheduled.map((x) => [x.contact.id, x.step.id])).toEqual([[contactId, tied]]);

    const { report } = await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: {} }));
    expect(report.steps.filter((x) => x.step_id).map((x) => [x.step_id, x.reached])).toEqual([
      [tied, 1],
      [written, 0],
    ]);
    expect(report.ab_tests.map((t) => t.step_id)).toEqual([tied, written]);
  });
});
