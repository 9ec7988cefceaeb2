// A batch of sends (MailboxDO) and a batch of steps falling due (SequenceDO) read their contacts by id.
// On a D1 without planner statistics (a new database, the benches') SQLite walked the team's whole
// address book through its (team_id, email) index instead: in the sending bench each batch of 60
// emails read all 50,000 contacts, and the send path grew with the team's size.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { countingD1 } from "../../worker/middleware/d1-count";
import { loadSendContext } from "../../durable-objects/compose";
import { loadContactStates, loadSendChecks } from "../../durable-objects/eligibility";
import { packEmails, type QueuedEmail } from "../../durable-objects/engine";
import { ALWAYS_OPEN, loadSequenceConfig } from "../../durable-objects/sequence-config";
import { loadMailbox } from "../../worker/transports/mailbox-settings";
import { env } from "../helpers";
import { makeContacts, makeMailbox, makeMessages, makeSchedule, makeSequence, makeTeam } from "../fixtures";

describe("send-time reads", () => {
  beforeEach(async () => {
    // The planner as on a database nobody has analyzed yet.
    await env.DB.prepare("DELETE FROM sqlite_stat1").run();
    await env.DB.prepare("ANALYZE sqlite_schema").run();
  });

  it("reads a batch's 60 contacts among the team's 3,000 by id, not the team's address book", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const ids = await makeContacts(teamId, 3_000);
    const batch = ids.slice(1_000, 1_060);
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const sc = await loadSendContext(
      db(counted.db),
      teamId,
      batch.map((contactId) => ({ contactId, stepId: stepIds[0]!, sequenceId })),
    );
    expect(sc.contacts.size).toBe(60);
    // No schedule of its own and no team default: always open, as the engine's config says.
    const cfg = (await loadSequenceConfig(db(env.DB), sequenceId))!;
    expect(cfg.window).toEqual(ALWAYS_OPEN);
    expect(sc.sequences.get(sequenceId)).toEqual({
      active: true,
      archived: false,
      window: cfg.window,
      windowText: JSON.stringify(cfg.window),
      useContactTimeZone: false,
    });
    // 60 contacts with their stage, Do Not Contact by address and suppression look-ups, one sequence, its variant and the team.
    expect(counted.count.rowsRead).toBeLessThan(500);

    counted.reset();
    expect((await loadSendChecks(db(counted.db), teamId, batch, [sequenceId], [stepIds[0]!])).contacts.size).toBe(60);
    expect(counted.count.rowsRead).toBeLessThan(500);

    counted.reset();
    expect((await loadContactStates(db(counted.db), teamId, batch)).size).toBe(60);
    expect(counted.count.rowsRead).toBeLessThan(500);
  });

  it("reads a batch's runs' threads by enrollment id, not every email the team has sent", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const mailboxId = await makeMailbox(teamId, userId);
    const ids = await makeContacts(teamId, 600);
    // 600 sent emails of the team, each its own run's thread; a later email of another team under one of the batch's run ids is not its thread.
    await makeMessages(teamId, sequenceId, stepIds[0]!, mailboxId, ids);
    const sent = (
      await env.DB.prepare(
        "SELECT enrollment_id AS run, contact_id AS contact, message_id_header AS header, subject FROM messages WHERE team_id = ? ORDER BY id",
      )
        .bind(teamId)
        .all<{ run: string; contact: string; header: string; subject: string }>()
    ).results;
    const batch = sent.slice(100, 120);
    const other = await makeTeam();
    await env.DB.prepare(
      `INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, created_at)
       VALUES ('foreign-msg', ?, ?, ?, ?, ?, ?, 'x@x.test', 'Theirs', 'b', '<theirs@x.test>', 'sent', ?, ?)`,
    )
      .bind(other.teamId, batch[0]!.run, sequenceId, stepIds[1]!, mailboxId, batch[0]!.contact, Date.now() + 1_000, Date.now() + 1_000)
      .run();
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const sc = await loadSendContext(
      db(counted.db),
      teamId,
      batch.map((m) => ({ contactId: m.contact, stepId: stepIds[0]!, sequenceId, enrollmentId: m.run })),
    );
    expect(sc.threads).toEqual(new Map(batch.map((m) => [m.run, { messageId: m.header, subject: m.subject }])));
    // The thread query goes by the runs' (enrollment_id, step_id) index: 20 rows, not the team's 600.
    const q = counted.count.queries.find((x) => /FROM messages WHERE enrollment_id IN/.test(x.sql))!;
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
        .bind(...q.params)
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join("; ");
    expect(plan).toContain("messages_enrollment_step_uq");
    // 20 contacts with their look-ups, one sequence, its variant, the team and the 20 runs' emails.
    expect(counted.count.rowsRead).toBeLessThan(400);
  });

  it("reads only the team's contacts: another team's id in the batch is not found", async () => {
    const a = await makeTeam();
    const b = await makeTeam();
    const [mine] = await makeContacts(a.teamId, 1);
    const [theirs] = await makeContacts(b.teamId, 1);
    const states = await loadContactStates(db(env.DB), a.teamId, [mine!, theirs!]);
    expect([...states.keys()]).toEqual([mine]);
  });

  it("reads, as written statements, the contacts, sequences and mailbox the query builders read", async () => {
    const { teamId, userId } = await makeTeam();
    const scheduleId = await makeSchedule(teamId, { timeZone: "Europe/Paris", holidays: ["2027-05-01"], useContactTimeZone: true });
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], scheduleId);
    const ids = await makeContacts(teamId, 4);
    const mailboxId = await makeMailbox(teamId, userId, { daily: 30, hourly: 7, gapSeconds: 5, jitterSeconds: 2 });
    // The facts invariant 5 reads, each set on one contact: custom fields, a Do-Not-Contact stage, a suppressed address, a deletion.
    const stageId = `stage-${ids[0]}`;
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET custom_fields = ?, city = 'Lyon', title = 'CTO' WHERE id = ?").bind(
        '{"plan":"pro","seats":"12"}',
        ids[0],
      ),
      env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'DNC', 'dnc', 9)").bind(
        stageId,
        teamId,
      ),
      env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(stageId, ids[1]),
      env.DB.prepare(
        "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) SELECT 'sup-' || id, team_id, lower(email), 'manual', 'manual', 1 FROM contacts WHERE id = ?",
      ).bind(ids[2]),
      env.DB.prepare("UPDATE contacts SET deleted_at = 5, unsubscribed_at = 6, bounced_at = 7 WHERE id = ?").bind(ids[3]),
      env.DB.prepare("UPDATE mailboxes SET transport_config = ?, signature = 'Best', status_reason = 'why' WHERE id = ?").bind(
        '{"cursor":"abc"}',
        mailboxId,
      ),
    ]);
    const sc = await loadSendContext(
      db(env.DB),
      teamId,
      ids.map((contactId) => ({ contactId, stepId: stepIds[0]!, sequenceId })),
      mailboxId,
    );
    // One statement reads contacts for both the send path and a step falling due.
    expect(sc.contacts).toEqual(await loadContactStates(db(env.DB), teamId, ids));
    expect(sc.contacts.get(ids[0]!)).toMatchObject({
      city: "Lyon",
      title: "CTO",
      customFields: { plan: "pro", seats: "12" },
      suppressed: false,
    });
    expect([sc.contacts.get(ids[1]!)!.stageCategory, sc.contacts.get(ids[2]!)!.suppressed, sc.contacts.get(ids[3]!)!.deletedAt]).toEqual([
      "dnc",
      true,
      5,
    ]);
    // The sequence's window as the engine's config reads it, and as the JSON a hand-over stores (packEmails).
    const cfg = (await loadSequenceConfig(db(env.DB), sequenceId))!;
    expect(cfg.window).toMatchObject({ timeZone: "Europe/Paris", holidays: ["2027-05-01"] });
    expect(sc.sequences).toEqual(
      new Map([
        [
          sequenceId,
          {
            active: true,
            archived: false,
            window: cfg.window,
            windowText: packEmails([{ window: cfg.window } as QueuedEmail]).windows[0],
            useContactTimeZone: true,
          },
        ],
      ]),
    );
    // The MailboxDO compares the batch's copy with its kept one as JSON: the same keys in the same order.
    expect(JSON.stringify(sc.mailbox)).toBe(JSON.stringify(await loadMailbox(db(env.DB), mailboxId)));
    expect(sc.mailbox?.transportConfig).toEqual({ cursor: "abc" });
  });
});
