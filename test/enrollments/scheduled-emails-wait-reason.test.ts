// A queued email the mailbox holds past its time says which of the mailbox's rules binds, in the numbers
// of its plan: before, every such email read "the mailbox's daily or hourly limit, or its spacing", so a
// follow-up due now, forecast for tomorrow while its mailbox had sent 2 of its 50 that day, gave no hint that
// higher-scored contacts' emails were ahead of it (the mailbox sends by score, then due time). The
// sequence's Contacts tab says the same words for the same run.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { client, ok } from "../helpers";
import { HOUR, MIN, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

/**
 * A sequence (always open) on one mailbox with these limits: `before` contacts enrolled and sent to first,
 * then `ahead` contacts scored 90 and one scored 10 (the one asked about) due at once.
 */
async function world(limits: { daily: number; hourly: number; gapSeconds: number }, before: number, ahead: number) {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
  const mailboxId = await makeMailbox(teamId, userId, limits);
  if (before) {
    await enroll(teamId, sequenceId, await makeContacts(teamId, before), [mailboxId]);
    await runUntil(now() + HOUR);
  }
  const higher = await makeContacts(teamId, ahead, { score: () => 90 });
  const [low] = await makeContacts(teamId, 1, { score: () => 10 });
  await enroll(teamId, sequenceId, [...higher, low!], [mailboxId], (i) => (i < ahead ? 90 : 10));
  await runUntil(now() + 2_000);
  const scheduled = await ok(api["scheduled-emails"].$get({ query: { sequence_id: sequenceId, limit: "50" } }));
  const row = scheduled.scheduled.find((r) => r.contact.id === low);
  const contacts = await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: { per_page: "50" } }));
  const inTab = contacts.enrollments.find((e) => e.contact.id === low);
  return { row: row!, tab: inTab!, mailbox: `${mailboxId}@sender.test`, at: now() };
}

describe("why a queued email waits", () => {
  it("daily limit: the higher-scored contacts' emails that fill the day go first, with the limit and the day's sends named", async () => {
    // 2 sent an hour ago; of the five scored 90, one goes now, two fill the day's 5, two go first tomorrow.
    const w = await world({ daily: 5, hourly: 100, gapSeconds: 60 }, 2, 5);
    expect(w.row.reason).toBe("mailbox_capacity");
    expect(w.row.send_at! - w.at).toBeGreaterThan(22 * HOUR);
    expect(w.row.reason_text).toBe(
      `Waiting its turn: it goes after 4 emails to higher-scored contacts, within ${w.mailbox}'s limit of 5 a day (3 sent in the 24 hours before)`,
    );
    expect(w.tab.reason_text).toBe(w.row.reason_text);
  });

  it("hourly limit: names the limit of so many an hour", async () => {
    // Two of the three scored 90 go now; the third and then this one once the hour has room.
    const w = await world({ daily: 100, hourly: 2, gapSeconds: 0 }, 0, 3);
    expect(w.row.reason).toBe("mailbox_capacity");
    expect(w.row.send_at! - w.at).toBeGreaterThan(HOUR - MIN);
    expect(w.row.reason_text).toBe(
      `Waiting its turn: it goes after 1 email to higher-scored contacts, within ${w.mailbox}'s limit of 2 an hour`,
    );
    expect(w.tab.reason_text).toBe(w.row.reason_text);
  });

  it("behind higher-scored contacts at the mailbox's spacing: names how many go first and the spacing", async () => {
    // One scored 90 goes now, the other two 10 and 20 minutes on, this one 30 minutes on.
    const w = await world({ daily: 100, hourly: 100, gapSeconds: 600 }, 0, 3);
    expect(w.row.reason).toBe("mailbox_capacity");
    expect(w.row.send_at! - w.at).toBeGreaterThan(29 * MIN);
    expect(w.row.reason_text).toBe(
      `Waiting its turn: it goes after 2 emails to higher-scored contacts, ${w.mailbox} sending one every 10 min (its spacing)`,
    );
    expect(w.tab.reason_text).toBe(w.row.reason_text);
  });
});
