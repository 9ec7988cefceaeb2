// Two steps at one position (left in D1 by adds that raced before their writes were guarded): the
// editor lists them by position, then id, and the engine must run them in that same order. Before, the
// engine read steps by position alone, so a tie came back in D1's reading order (the order the rows
// were written) and a contact got the step the editor shows second first. Emails are counted at the
// transport.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
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

describe("two steps at one position", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("are run by the engine in the order the editor lists them", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [{ wait: 0, variants: [{ subject: "Written", body: "One" }] }],
      null,
    );
    // A second step at position 1, written after the first but with a smaller id: D1 reads it second,
    // the editor lists it first.
    const tied = `000000${newId().slice(6)}`;
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO steps (id, team_id, sequence_id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note, created_at)
         SELECT ?, team_id, sequence_id, 1, type, 0, wait_unit, 0, 1, 0, '', created_at FROM steps WHERE id = ?`,
      ).bind(tied, stepIds[0]),
      env.DB.prepare(
        "INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at) VALUES (?, ?, ?, 'A', 'Tied', 'Two', 1, 0)",
      ).bind(newId(), teamId, tied),
    ]);
    const { sequence } = await ok(api.sequences[":id"].$get({ param: { id: sequenceId } }));
    const listed = sequence.steps.map((s) => s.variants[0]!.subject);
    expect(listed).toEqual(["Tied", "Written"]);

    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const subjects: string[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (subjects.push(/^Subject: (\w+)/m.exec(e.raw)?.[1] ?? "?"), { ok: true, response: "counted" }),
    });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(SIM_START + HOUR);
    expect(subjects).toEqual(listed);
  });

  it("start a same-thread reply with no thread under the opener the editor lists just before it", async () => {
    const { teamId, userId } = await makeTeam();
    // Both emails before the reply are off, so the contact has no thread when the reply goes: it starts one
    // under its opener's subject, the nearest new-thread email before it.
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [
        { wait: 0, enabled: false, variants: [{ subject: "Open", body: "One" }] },
        { wait: 0, threadReply: true, variants: [{ subject: "", body: "Following up" }] },
      ],
      null,
    );
    // A new-thread email at position 2 with a smaller id than the reply there: the editor lists Open, Tied,
    // then the reply, so Tied is the reply's opener. Reading openers by position alone found Open.
    const tied = `000000${newId().slice(6)}`;
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO steps (id, team_id, sequence_id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note, created_at)
         SELECT ?, team_id, sequence_id, 2, type, 0, wait_unit, 0, 0, 0, '', created_at FROM steps WHERE id = ?`,
      ).bind(tied, stepIds[0]),
      env.DB.prepare(
        "INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at) VALUES (?, ?, ?, 'A', 'Tied', 'Two', 1, 0)",
      ).bind(newId(), teamId, tied),
    ]);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const subjects: string[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (subjects.push(/^Subject: (.*)$/m.exec(e.raw)?.[1]?.trim() ?? "?"), { ok: true, response: "counted" }),
    });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(SIM_START + HOUR);
    expect(subjects).toEqual(["Tied"]);
  });
});
