// The home dashboard after a contact is deleted and a sequence is turned off or archived: the recent reply
// stays without the person's name (as in the CSV exports) and with no contact to open, and the bounce alert
// leaves archived sequences out and marks the ones turned off instead of asking to pause them.
import { describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, ok } from "../helpers";

const HOUR = 3_600_000;

/** `n` emails of the sequence's first step from `mailboxId`, sent an hour ago; `bounced` of them bounced, the first one replied to. */
async function emails(teamId: string, sequenceId: string, stepId: string, mailboxId: string, contacts: string[], bounced: number) {
  const at = now() - HOUR;
  const stmts: D1PreparedStatement[] = [];
  contacts.forEach((c, i) => {
    const e = newId();
    stmts.push(
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, mailbox_id, status, current_step, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'finished', 1, 'completed_all_steps', ?, ?)",
      ).bind(e, teamId, sequenceId, c, mailboxId, at, at),
      env.DB.prepare(
        "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, replied_at, reply_kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x@example.test', 'Hello', 'b', ?, ?, ?, ?, ?, ?)",
      ).bind(
        newId(),
        teamId,
        e,
        sequenceId,
        stepId,
        mailboxId,
        c,
        `<sf.${e}.${stepId}@sender.test>`,
        i < bounced ? "bounced" : "sent",
        at,
        i === contacts.length - 1 ? at + 60_000 : null,
        i === contacts.length - 1 ? "reply" : null,
        at,
      ),
    );
  });
  await env.DB.batch(stmts);
}

describe("the home dashboard", () => {
  it("shows a deleted contact's reply without their name or id", async () => {
    const { teamId, userId } = await makeTeam("Home deleted");
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}], null, false);
    const mb = await makeMailbox(teamId, userId);
    const [kept, gone] = await makeContacts(teamId, 2);
    await emails(teamId, sequenceId, stepIds[0]!, mb, [kept!], 0);
    const seq2 = await makeSequence(teamId, userId, [{}], null, false);
    await emails(teamId, seq2.sequenceId, seq2.stepIds[0]!, mb, [gone!], 0);
    await env.DB.prepare("UPDATE contacts SET deleted_at = ? WHERE id = ?").bind(now(), gone).run();

    const { home } = await ok(client(s).api.reports.home.$get({ query: {} }));
    const bySeq = new Map(home.recent_replies.map((r) => [r.sequence.id, r]));
    expect(bySeq.size).toBe(2);
    expect(bySeq.get(seq2.sequenceId)!.contact).toBeNull();
    expect(bySeq.get(sequenceId)!.contact).toMatchObject({ id: kept });
    expect(JSON.stringify(home.recent_replies)).not.toContain('"null"');
  });

  it("leaves archived sequences out of the bounce alert and marks those turned off", async () => {
    const { teamId, userId } = await makeTeam("Home bounces");
    const s = await sessionFor(teamId, userId);
    const mb = await makeMailbox(teamId, userId);
    const on = await makeSequence(teamId, userId, [{}], null, true);
    const off = await makeSequence(teamId, userId, [{}], null, false);
    const archived = await makeSequence(teamId, userId, [{}], null, false);
    for (const q of [on, off, archived]) await emails(teamId, q.sequenceId, q.stepIds[0]!, mb, await makeContacts(teamId, 40), 10);
    await env.DB.prepare("UPDATE sequences SET archived_at = ? WHERE id = ?").bind(now(), archived.sequenceId).run();

    const { home } = await ok(client(s).api.reports.home.$get({ query: {} }));
    const alert = new Map(home.high_bounce_sequences.map((x) => [x.sequence_id, x]));
    expect([...alert.keys()].sort()).toEqual([on.sequenceId, off.sequenceId].sort());
    expect(alert.get(on.sequenceId)).toMatchObject({ active: true, sent: 40, bounced: 10 });
    expect(alert.get(off.sequenceId)).toMatchObject({ active: false, sent: 40, bounced: 10 });
  });
});
