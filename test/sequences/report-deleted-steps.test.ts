// The emails of a step deleted since stay in the report's totals (they were sent), so the Steps table
// shows them on a row of their own: before, the totals counted them and the table (and its CSV) didn't.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import {
  DAY,
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

describe("a deleted step in the sequence report", () => {
  const mailboxIds: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => mailboxIds.splice(0).forEach((m) => setTransportOverride(m, null)));

  it("keeps its emails on a 'deleted steps' row, so the steps add up to the totals", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [{ wait: 0 }, { wait: 1, unit: "days" }, { wait: 5, unit: "days" }],
      null,
    );
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    mailboxIds.push(mailboxId);
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true, response: "counted" }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mailboxId]);
    await runUntil(SIM_START + 2 * DAY);
    const sentByStep2 = (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE step_id = ? AND status = 'sent'")
      .bind(stepIds[1])
      .first<{ n: number }>())!.n;
    expect(sentByStep2).toBe(3);

    await ok(api.sequences[":id"].steps[":stepId"].$delete({ param: { id: sequenceId, stepId: stepIds[1]! } }));
    const report = (await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: {} }))).report;
    expect(report.totals.sent).toBe(6);
    expect(report.steps.reduce((n, x) => n + x.sent, 0)).toBe(report.totals.sent);
    expect(report.steps.map((x) => [x.position, x.deleted, x.sent])).toEqual([
      [1, false, 3],
      [2, false, 0],
      [null, true, 3],
    ]);
    expect(report.steps[2]).toMatchObject({ step_id: null, type: null, reached: null });

    // The CSV has the same row.
    const csv = await (
      await client(s).api.sequences[":id"].report.export.$get({ param: { id: sequenceId }, query: { part: "steps" } })
    ).text();
    const rows = csv.trim().split("\n").slice(1);
    expect(rows).toHaveLength(3);
    expect(rows[2]).toMatch(/^\(deleted steps\),,,3,/);
  });
});
