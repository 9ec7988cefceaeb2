// The sequence list's counts (enrollments by status, emails sent, bounced and replied to) come from one row per
// sequence kept by triggers (migrations/0023_sequence_counts.sql). Before, the list walked every
// enrollment and every email of each sequence on its page, so it read more with every email a team
// ever sent. The engine's model test checks the counts against the rows the real engine wrote; here
// the list's reads, and the triggers under any mix of writes (the outbox's counts by status and the
// enrollments page's groups too: migrations 0026 and 0027).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { writeMirrorPage } from "../../durable-objects/enrollment-mirror";
import { bulkInsert } from "../../worker/db/bulk";
import { db } from "../../worker/db/client";
import { ENROLLMENT_STATUSES } from "../../worker/db/schema";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { countedGet, env } from "../helpers";
import {
  makeContacts,
  makeMailbox,
  makeMessages,
  makeSequence,
  makeTeam,
  sequenceCountsVsTruth,
  sessionFor,
  enrollmentGroupsVsTruth,
} from "../fixtures";

const MESSAGE_STATUSES = ["scheduled", "sending", "sent", "failed", "bounced", "unknown", "cancelled"] as const;

describe("a sequence's counts", () => {
  it("are read from one row per sequence, not from every enrollment and email", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const contacts = await makeContacts(teamId, 3_000);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mailboxId = await makeMailbox(teamId, userId);
    const t = now();
    await bulkInsert(
      env.DB,
      "enrollments",
      ["id", "team_id", "sequence_id", "contact_id", "mailbox_id", "status", "current_step", "created_at", "updated_at"],
      contacts.map((c, i) => [newId(), teamId, sequenceId, c, mailboxId, ENROLLMENT_STATUSES[i % ENROLLMENT_STATUSES.length]!, 0, t, t]),
    );
    await makeMessages(teamId, sequenceId, stepIds[0]!, mailboxId, contacts, (i) => MESSAGE_STATUSES[i % MESSAGE_STATUSES.length]!);

    const { status, body, count } = await countedGet<{
      sequences: { id: string; counts: Record<string, number>; sent: number; bounced: number }[];
    }>(s.cookie, "/api/sequences");
    expect(status).toBe(200);
    const row = body.sequences.find((x) => x.id === sequenceId)!;
    // 3,000 rows over 7 statuses: 429 each for the first four, 428 for the last three. Sent and bounced count as
    // sent, as in the report (unknown: not known to have gone out).
    expect(row.counts).toEqual({ scheduled: 429, active: 429, paused: 429, held: 429, finished: 428, failed: 428, removed: 428 });
    expect([row.sent, row.bounced]).toEqual([429 + 428, 428]);
    // Before, the statement walked the sequence's 3,000 enrollments and 3,000 emails (6,000+ rows).
    expect(count.rowsRead, count.statements.join("\n")).toBeLessThan(100);
  });

  it("stay equal to the rows under any mix of inserts, upserts, status changes, moves and deletes", async () => {
    const { teamId, userId } = await makeTeam();
    const contacts = await makeContacts(teamId, 12);
    const mailboxId = await makeMailbox(teamId, userId);
    const d = db(env.DB);
    let writes = 0;
    const op = fc.oneof(
      // The SequenceDO's mirror: a full row upserted (a new enrollment, or a status change of one D1 has).
      fc.record({
        kind: fc.constant("mirror" as const),
        pick: fc.nat(),
        status: fc.constantFrom(...ENROLLMENT_STATUSES),
        reason: fc.constantFrom(null, "queued_for_mailbox", "bounced", "replied"),
        noMailbox: fc.boolean(),
        fresh: fc.boolean(),
      }),
      fc.record({ kind: fc.constant("move" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("deleteEnrollment" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("email" as const), seq: fc.nat(1), status: fc.constantFrom(...MESSAGE_STATUSES) }),
      fc.record({ kind: fc.constant("emailStatus" as const), pick: fc.nat(), status: fc.constantFrom(...MESSAGE_STATUSES) }),
      fc.record({ kind: fc.constant("deleteEmail" as const), pick: fc.nat() }),
      // A reply (or an out-of-office) lands on an email, or a wrong classification is taken back.
      fc.record({ kind: fc.constant("emailReply" as const), pick: fc.nat(), replyKind: fc.constantFrom(null, "reply", "out_of_office") }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 40 }), async (ops) => {
        // Two sequences of this run's own: a counterexample replays alone.
        const seqs = await Promise.all([0, 1].map(() => makeSequence(teamId, userId, [{ wait: 0 }], null, false)));
        const enrollments: { id: string; seq: number; contact: string }[] = [];
        const emails: string[] = [];
        for (const o of ops) {
          if (o.kind === "mirror") {
            const e =
              o.fresh || !enrollments.length
                ? { id: newId(), seq: o.pick % 2, contact: contacts[o.pick % contacts.length]! }
                : enrollments[o.pick % enrollments.length]!;
            const fields = [e.id, e.contact, o.noMailbox ? null : mailboxId, o.status, 0, null, o.reason, null, userId, now(), null];
            // The open-once index may refuse a second open enrollment of a contact: nothing is written then.
            const wrote = await writeMirrorPage(
              d,
              teamId,
              seqs[e.seq]!.sequenceId,
              { json: JSON.stringify([fields]), reasons: "[]", steps: "[]", rows: 1, top: 1 },
              now(),
            )
              .then(() => true)
              .catch(() => false);
            if (wrote) writes++;
            if (wrote && !enrollments.includes(e)) enrollments.push(e);
          } else if (o.kind === "move" && enrollments.length) {
            const e = enrollments[o.pick % enrollments.length]!;
            const to = 1 - e.seq;
            const moved = await env.DB.prepare("UPDATE enrollments SET sequence_id = ? WHERE id = ?")
              .bind(seqs[to]!.sequenceId, e.id)
              .run()
              .then(() => true)
              .catch(() => false);
            if (moved) {
              e.seq = to;
              writes++;
            }
          } else if (o.kind === "deleteEnrollment" && enrollments.length) {
            const [e] = enrollments.splice(o.pick % enrollments.length, 1);
            await env.DB.prepare("DELETE FROM enrollments WHERE id = ?").bind(e!.id).run();
          } else if (o.kind === "email") {
            const seq = seqs[o.seq]!;
            emails.push(...(await makeMessages(teamId, seq.sequenceId, seq.stepIds[0]!, mailboxId, [contacts[0]!], () => o.status)));
            writes++;
          } else if (o.kind === "emailStatus" && emails.length) {
            await env.DB.prepare("UPDATE messages SET status = ? WHERE id = ?")
              .bind(o.status, emails[o.pick % emails.length])
              .run();
          } else if (o.kind === "emailReply" && emails.length) {
            await env.DB.prepare("UPDATE messages SET reply_kind = ? WHERE id = ?")
              .bind(o.replyKind, emails[o.pick % emails.length])
              .run();
          } else if (o.kind === "deleteEmail" && emails.length) {
            const [id] = emails.splice(o.pick % emails.length, 1);
            await env.DB.prepare("DELETE FROM messages WHERE id = ?").bind(id).run();
          }
        }
        for (const s of seqs) {
          const { stored, truth } = await sequenceCountsVsTruth(s.sequenceId);
          expect(stored).toEqual(truth);
        }
        // The enrollments page's groups (enrollment_groups, migration 0027) follow the same writes.
        for (const s of seqs) {
          const groups = await enrollmentGroupsVsTruth(s.sequenceId);
          expect(groups.stored).toEqual(groups.truth);
        }
        // The outbox's counts by status (team_message_counts, migration 0026) follow the same writes.
        const kept = await env.DB.prepare("SELECT status, n FROM team_message_counts WHERE team_id = ? AND n <> 0 ORDER BY status")
          .bind(teamId)
          .all<{ status: string; n: number }>();
        const counted = await env.DB.prepare("SELECT status, count(*) AS n FROM messages WHERE team_id = ? GROUP BY status ORDER BY status")
          .bind(teamId)
          .all<{ status: string; n: number }>();
        expect(kept.results).toEqual(counted.results);
      }),
      { seed: 23, numRuns: 40 },
    );
    // The runs did write (ops that all missed would prove nothing).
    expect(writes).toBeGreaterThan(200);
  });
});
