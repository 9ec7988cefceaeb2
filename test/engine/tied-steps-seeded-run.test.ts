// A run only D1 had (seeded or imported: it names its step by position only) on a position two steps share
// (old data): the SequenceDO binds it to the first of them in (position, id) order, the one the engine runs
// first, so the contact gets both emails in the editor's order. The steps were mapped by position with the
// last one kept, so the run was bound to the second and the first was never sent. Counted at the transport.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import { newId } from "../../worker/lib/ids";
import { setTransportOverride } from "../../worker/transports";
import { env } from "../helpers";
import { HOUR, SIM_START, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, startSimulation } from "../fixtures";

describe("a run only D1 had, on a position two steps share", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("is bound to the first of them in (position, id) order and gets both emails in that order", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [{ wait: 0, variants: [{ subject: "Written", body: "One" }] }],
      null,
    );
    // Written after the first step with a smaller id: the engine runs it first.
    const tied = `000000${newId().slice(6)}`;
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const [contactId] = await makeContacts(teamId, 1);
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO steps (id, team_id, sequence_id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note, created_at)
         SELECT ?, team_id, sequence_id, 1, type, 0, wait_unit, 0, 1, 0, '', created_at FROM steps WHERE id = ?`,
      ).bind(tied, stepIds[0]),
      env.DB.prepare(
        "INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at) VALUES (?, ?, ?, 'A', 'Tied', 'Two', 1, 0)",
      ).bind(newId(), teamId, tied),
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, mailbox_id, status, current_step, next_due_at, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', 1, ?, 'waiting_for_step', ?, ?)",
      ).bind("seeded-tied", teamId, sequenceId, contactId, mailboxId, SIM_START, SIM_START, SIM_START),
    ]);
    const subjects: string[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (subjects.push(/^Subject: (\w+)/m.exec(e.raw)?.[1] ?? "?"), { ok: true, response: "counted" }),
    });
    // Any call binds the object to its sequence and takes the run over from D1.
    await sequenceStub(env, sequenceId).activate(sequenceId, teamId);
    await runUntil(SIM_START + HOUR);
    expect(subjects).toEqual(["Tied", "Written"]);
  });
});
