import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import {
  HOUR,
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
 * A hand-over due no sooner than the alarm the MailboxDO already armed does not re-plan it
 * (durable-objects/mailbox-do.ts, armedAt): one due sooner must still move the alarm.
 */
describe("the MailboxDO's alarm on a hand-over", () => {
  beforeEach(() => startSimulation());

  it("an email due before the armed alarm goes out at its due time, not at the alarm", async () => {
    const { teamId, userId } = await makeTeam();
    // The first sequence's window opens three hours from now; the second's is open.
    const later = await makeSchedule(teamId, { timeZone: "UTC", windows: everyDay("03:00", "23:00") });
    const open = await makeSchedule(teamId, { timeZone: "UTC", windows: everyDay("00:00", "23:59") });
    const first = await makeSequence(teamId, userId, [{ wait: 0 }], later);
    const second = await makeSequence(teamId, userId, [{ wait: 0 }], open);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 50, gapSeconds: 0 });
    const sent: { to: string; at: number }[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      async send(m) {
        sent.push({ to: m.to, at: now() });
        return { ok: true };
      },
    });
    const [a, b] = await makeContacts(teamId, 2);
    await enroll(teamId, first.sequenceId, [a!], [mailboxId]);
    await runUntil(SIM_START + HOUR / 2);
    expect(sent).toHaveLength(0);
    await enroll(teamId, second.sequenceId, [b!], [mailboxId]);
    await runUntil(SIM_START + HOUR);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.at).toBeLessThan(SIM_START + HOUR);
    await runUntil(SIM_START + 4 * HOUR);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.at).toBe(SIM_START + 3 * HOUR);
    setTransportOverride(mailboxId, null);
  });
});
