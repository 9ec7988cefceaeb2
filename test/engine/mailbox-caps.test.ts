import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { setTransportOverride } from "../../worker/transports";
import { env } from "../helpers";
import {
  MIN,
  enroll,
  everyDay,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  SIM_START,
  startSimulation,
} from "../fixtures";

/**
 * The MailboxDO keeps the reservations that count against its caps in memory between passes
 * (durable-objects/mailbox-do.ts, `recent`): what it reports and plans between passes must be what
 * the ledger says, a released reservation included.
 */
describe("the caps a MailboxDO counts between passes", () => {
  beforeEach(() => startSimulation());

  it("counts what went out and not a reservation released after a transient failure", async () => {
    const { teamId, userId } = await makeTeam();
    const allDay = everyDay("00:00", "23:59");
    const scheduleId = await makeSchedule(teamId, { timeZone: "UTC", windows: allDay });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 5, gapSeconds: 0 });
    let calls = 0;
    setTransportOverride(mailboxId, {
      local: true,
      async send() {
        // The third email meets a server that says "try later": nothing went out, its reservation is released.
        return ++calls === 3 ? { ok: false, kind: "transient", message: "421 try again later" } : { ok: true };
      },
    });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 8), [mailboxId]);
    await runUntil(SIM_START + 30 * MIN);
    const ledger = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE mailbox_id = ? AND status = 'sent'")
      .bind(mailboxId)
      .first<{ n: number }>();
    // Six reservations in the hour, one released: five sent, which is all the hour has room for.
    expect(calls).toBe(6);
    expect(ledger!.n).toBe(5);
    const cap = await engine.mailbox(env, mailboxId).usage();
    expect(cap.usedLastHour).toBe(5);
    expect(cap.usedLast24h).toBe(5);
    setTransportOverride(mailboxId, null);
  });
});
