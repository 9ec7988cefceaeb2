// Two steps at one position (old data, written in D1 as tied-steps-scheduled-and-report does): the sequence's
// Contacts tab joined steps on position alone, so a run on the tied position matched both steps and was listed
// twice. It now takes the run's step as Scheduled emails and the report do (runStepSql): listed once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, startSimulation } from "../fixtures";

describe("two steps at one position on the Contacts tab", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("list the run once", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [{ wait: 0, variants: [{ subject: "Written", body: "One" }] }],
      null,
    );
    const written = stepIds[0]!;
    const tied = `000000${newId().slice(6)}`;
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO steps (id, team_id, sequence_id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note, created_at)
         SELECT ?, team_id, sequence_id, 1, type, 0, wait_unit, 0, 1, 0, '', created_at FROM steps WHERE id = ?`,
      ).bind(tied, written),
      env.DB.prepare(
        "INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at) VALUES (?, ?, ?, 'A', 'Tied', 'One', 1, 0)",
      ).bind(newId(), teamId, tied),
    ]);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true, response: "not reached" }) });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    const d1 = await env.DB.prepare("SELECT id, current_step FROM enrollments WHERE sequence_id = ?")
      .bind(sequenceId)
      .all<{ id: string; current_step: number }>();
    expect(d1.results.map((r) => r.current_step)).toEqual([1]);

    const page = await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: {} }));
    expect(page.enrollments.map((r) => [r.id, r.contact.id, r.step_type])).toEqual([[d1.results[0]!.id, contactId, "auto_email"]]);
    expect(page.pagination.total_entries).toBe(1);
  });
});
