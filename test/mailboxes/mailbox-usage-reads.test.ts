import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { setTransportOverride } from "../../worker/transports";
import { client, countD1Statements, env, ok } from "../helpers";
import {
  HOUR,
  MIN,
  enroll,
  everyDay,
  makeContacts,
  makeList,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  SIM_START,
  startSimulation,
} from "../fixtures";

/** The D1 statements that read one mailbox's settings by id (loadMailbox: what a MailboxDO reads for its limits and status). */
const countSettingsReads = () => countD1Statements(/from "mailboxes" where "mailboxes"\."id" = \?$/);

/**
 * A preview, a commit's plan and the mailbox list show each mailbox's room: its limits from the row the
 * route reads in its own batch, their use from the MailboxDO's ledger. The object used to read the row
 * again from D1 on every such call, one round trip per mailbox per preview.
 */
describe("a mailbox's capacity as the screens show it", () => {
  let counter: ReturnType<typeof countSettingsReads> | null = null;
  beforeEach(() => startSimulation());
  afterEach(() => {
    counter?.restore();
    counter = null;
  });

  it("comes from the route's own read of the mailboxes and the objects' ledgers, with no D1 read per mailbox", async () => {
    const { teamId, userId } = await makeTeam();
    const scheduleId = await makeSchedule(teamId, { timeZone: "UTC", windows: everyDay("00:00", "23:59") });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 3 }], scheduleId);
    const mailboxIds = [
      await makeMailbox(teamId, userId, { daily: 40, hourly: 20, gapSeconds: 0 }),
      await makeMailbox(teamId, userId, { daily: 30, hourly: 20, gapSeconds: 0 }),
      await makeMailbox(teamId, userId, { daily: 20, hourly: 20, gapSeconds: 0 }),
    ];
    for (const id of mailboxIds) setTransportOverride(id, { local: true, send: async () => ({ ok: true }) });
    // Three emails go out from the first mailbox: its use is the ledger's, not zero.
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mailboxIds[0]!]);
    await runUntil(SIM_START + 10 * MIN);
    const sent = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE mailbox_id = ? AND status = 'sent'")
      .bind(mailboxIds[0])
      .first<{ n: number }>();
    expect(sent!.n).toBe(3);

    const api = client(await sessionFor(teamId, userId)).api;
    const listId = await makeList(teamId, userId, await makeContacts(teamId, 12));
    counter = countSettingsReads();
    const preview = await ok(
      api.sequences[":id"]["add-contacts"].preview.$post({
        param: { id: sequenceId },
        query: {},
        json: { source: { list_ids: [listId] }, mailbox_ids: mailboxIds },
      }),
    );
    const list = await ok(api.mailboxes.$get({ query: {} }));
    expect(counter.n).toBe(0);

    const byId = new Map(list.mailboxes.map((m) => [m.id, m.capacity]));
    expect(mailboxIds.map((id) => [byId.get(id)!.used_last_24h, byId.get(id)!.left_today])).toEqual([
      [3, 37],
      [0, 30],
      [0, 20],
    ]);
    // The preview's rotation starts from the same room: 12 contacts go where the most is left.
    const assigned = new Map<string, number>();
    for (const c of preview.contacts) assigned.set(c.mailbox_id!, (assigned.get(c.mailbox_id!) ?? 0) + 1);
    expect(mailboxIds.map((id) => assigned.get(id) ?? 0)).toEqual([10, 2, 0]);
    for (const id of mailboxIds) setTransportOverride(id, null);
  });

  it("the enrollments list and the scheduled emails tell each queued email's time under the limits read with their rows", async () => {
    const { teamId, userId } = await makeTeam();
    const scheduleId = await makeSchedule(teamId, { timeZone: "UTC", windows: everyDay("00:00", "23:59") });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
    const mailboxIds = [
      await makeMailbox(teamId, userId, { daily: 40, hourly: 4, gapSeconds: 0 }),
      await makeMailbox(teamId, userId, { daily: 40, hourly: 3, gapSeconds: 0 }),
    ];
    for (const id of mailboxIds) setTransportOverride(id, { local: true, send: async () => ({ ok: true }) });
    // Each mailbox sends its hour's worth; the rest wait in its queue for the next hour.
    await enroll(teamId, sequenceId, await makeContacts(teamId, 6), [mailboxIds[0]!]);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 5), [mailboxIds[1]!]);
    await runUntil(SIM_START + 10 * MIN);
    const api = client(await sessionFor(teamId, userId)).api;

    counter = countSettingsReads();
    const list = await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: { status: "all", per_page: "100" } }));
    const scheduled = await ok(api["scheduled-emails"].$get({ query: { sequence_id: sequenceId } }));
    expect(counter.n).toBe(0);

    const queued = list.enrollments.filter((e) => e.reason === "queued_for_mailbox");
    expect(queued.map((e) => e.mailbox!.id).sort()).toEqual([mailboxIds[0], mailboxIds[0], mailboxIds[1], mailboxIds[1]].sort());
    expect(scheduled.scheduled.map((e) => e.enrollment_id).sort()).toEqual(queued.map((e) => e.id).sort());
    // The time each screen tells is the mailbox's own plan, read with its own copy of the row (eta).
    for (const e of queued) {
      const stepId = scheduled.scheduled.find((x) => x.enrollment_id === e.id)!.step.id;
      const eta = await engine.mailbox(env, e.mailbox!.id).eta({ enrollmentId: e.id, stepId });
      expect(eta).toBeGreaterThan(SIM_START + HOUR);
      expect(e.next_action_at).toBe(eta);
      expect(scheduled.scheduled.find((x) => x.enrollment_id === e.id)!.send_at).toBe(eta);
    }
    // The counter sees the reads it looks for: eta() reads the row in the object, once per call.
    expect(counter.n).toBe(queued.length);
    for (const id of mailboxIds) setTransportOverride(id, null);
  });
});
