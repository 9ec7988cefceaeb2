import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { client, env, ok, type Session } from "../helpers";
import {
  HOUR,
  enroll,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  makeUser,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";
import { replyTo, type Sent } from "./mail";

type Api = ReturnType<typeof client>["api"];
const repliesOf = (s: Session, query: Parameters<Api["replies"]["$get"]>[0]["query"] = {}) => ok(client(s).api.replies.$get({ query }));

/** A sequence owned by `owner` sending from `mailboxId` to one contact, answered once; its inbound email's id. */
async function answered(teamId: string, owner: string, mailboxId: string) {
  const { sequenceId } = await makeSequence(teamId, owner, [{ wait: 0, unit: "days" }], null);
  const [contactId] = await makeContacts(teamId, 1);
  await env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(`${contactId}@prospect.test`, contactId).run();
  await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
  await runUntil(now() + HOUR);
  const m = await env.DB.prepare("SELECT * FROM messages WHERE sequence_id = ?").bind(sequenceId).first<Sent>();
  const r = await handleInbound(env, replyTo(m!));
  return { sequenceId, inboundId: r.inboundId! };
}

const share = (teamId: string, sequenceId: string, userId: string) =>
  env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'view')")
    .bind(sequenceId, userId, teamId)
    .run();

describe("replies inbox: mine and sequence filters", () => {
  beforeEach(() => startSimulation());

  it("mine=true keeps answers to my mailboxes' emails and my sequences' only, and a member sees through it only what they may see", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const member = await makeUser(teamId, "member");
    const adminBox = await makeMailbox(teamId, admin, { gapSeconds: 0 });
    const memberBox = await makeMailbox(teamId, member, { gapSeconds: 0 });
    // The admin's sequence from the admin's mailbox; the admin's from the member's mailbox, shared with
    // the member; the admin's from the member's mailbox, not shared; the member's from the admin's mailbox.
    const ownOwn = await answered(teamId, admin, adminBox);
    const sharedFromMember = await answered(teamId, admin, memberBox);
    await share(teamId, sharedFromMember.sequenceId, member);
    const hiddenFromMember = await answered(teamId, admin, memberBox);
    const membersFromAdmin = await answered(teamId, member, adminBox);
    // Someone else's sequence from someone else's mailbox: in the inbox, never in anyone's "mine".
    const other = await makeUser(teamId, "admin");
    const othersBox = await makeMailbox(teamId, other, { gapSeconds: 0 });
    const others = await answered(teamId, other, othersBox);

    const adminS = await sessionFor(teamId, admin);
    const memberS = await sessionFor(teamId, member);
    const ids = async (s: Session, q: Parameters<Api["replies"]["$get"]>[0]["query"]) =>
      (await repliesOf(s, q)).replies.map((r) => r.id).sort();
    const sorted = (...xs: { inboundId: string }[]) => xs.map((x) => x.inboundId).sort();

    expect(await ids(adminS, {})).toEqual(sorted(ownOwn, sharedFromMember, hiddenFromMember, membersFromAdmin, others));
    // Mine: the sequences the admin owns, and the member's sequence answered from the admin's mailbox.
    expect(await ids(adminS, { mine: "true" })).toEqual(sorted(ownOwn, sharedFromMember, hiddenFromMember, membersFromAdmin));
    const mineTotals = await repliesOf(adminS, { mine: "true" });
    expect(mineTotals.pagination.total_entries).toBe(4);
    expect(mineTotals.counts).toEqual({ reply: 4 });
    // The member's: their sequence and the shared one sent from their mailbox; not the one sent from their
    // mailbox in a sequence they can't see.
    expect(await ids(memberS, { mine: "true" })).toEqual(sorted(sharedFromMember, membersFromAdmin));
    expect(await ids(memberS, { mine: "false" })).toEqual(sorted(sharedFromMember, membersFromAdmin));
    // Through sequence_id too: a sequence the member can't see answers 404, with or without mine, as its own page does.
    for (const query of [
      { sequence_id: hiddenFromMember.sequenceId, mine: "true" as const },
      { sequence_id: hiddenFromMember.sequenceId },
    ]) {
      const res = await client(memberS).api.replies.$get({ query });
      expect([res.status, await res.json()]).toEqual([404, { error: { code: "not_found", message: "Sequence not found" } }]);
    }
    // Both filters at once narrow to both.
    expect(await ids(adminS, { sequence_id: others.sequenceId, mine: "true" })).toEqual([]);
    expect(await ids(adminS, { sequence_id: others.sequenceId })).toEqual(sorted(others));
    expect(await ids(adminS, { sequence_id: membersFromAdmin.sequenceId, mine: "true" })).toEqual(sorted(membersFromAdmin));
    // Another team's admin, whose own mailbox and sequence were answered too, gets only theirs.
    const b = await makeTeam();
    const theirs = await answered(b.teamId, b.userId, await makeMailbox(b.teamId, b.userId, { gapSeconds: 0 }));
    expect(await ids(await sessionFor(b.teamId, b.userId), { mine: "true" })).toEqual(sorted(theirs));
  });
});
