import { beforeEach, expect, it } from "vitest";
import { writeMirrorPage, type MirrorPage } from "../../durable-objects/enrollment-mirror";
import { db } from "../../worker/db/client";
import { newId } from "../../worker/lib/ids";
import { now, resetClock } from "../../worker/lib/clock";
import { countingD1 } from "../../worker/middleware/d1-count";
import { env } from "../helpers";
import { addContactsSetup, makeContacts } from "../fixtures";

// What D1 writes for each email sent: its messages row and, for its enrollment, the mirror's writes (a
// hand-over, then the step done). D1's rows_written counts a row and each index entry it touches,
// trigger bodies included; sending at full size is about 190,000 emails, each paying these.
beforeEach(() => resetClock());

it("D1 writes few index entries per enrollment: inserted, handed over, moved to its next step", async () => {
  // Each enrollment D1 gets is written again for each email: once when it is handed over, once when its
  // step is done. A write costs the row, one count per index holding a column it sets, and the rows the
  // counting triggers write: D1's rows_written counts them all.
  const x = await addContactsSetup({ steps: [{ wait: 1 }, { wait: 2 }] });
  const n = 40;
  const contacts = await makeContacts(x.teamId, n);
  const counted = countingD1(env.DB);
  const d = db(counted.db);
  const t = now();
  const ids = contacts.map((_, i) => `iw-${i}`);
  const page = (p: Partial<MirrorPage>): MirrorPage => ({ json: "[]", reasons: "[]", steps: "[]", rows: n, top: n, ...p });
  const written = async (p: MirrorPage, at: number) => {
    counted.reset();
    await writeMirrorPage(d, x.teamId, x.sequenceId, p, at);
    return counted.count.rowsWritten / n;
  };
  const inserted = await written(
    page({
      json: JSON.stringify(
        contacts.map((c, i) => [ids[i], c, x.mailboxIds[0], "active", 1, t, "waiting_for_step", null, x.userId, t, null]),
      ),
    }),
    t,
  );
  const handedOver = await written(page({ reasons: JSON.stringify(ids.map((id) => [id, "queued_for_mailbox"])) }), t + 1);
  const moved = await written(page({ steps: JSON.stringify(ids.map((id) => [id, 2, t + 86_400_000, "waiting_for_step"])) }), t + 2);
  // The writes happened.
  const { results } = await env.DB.prepare(
    "SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND current_step = 2 AND next_due_at = ? AND reason = 'waiting_for_step' AND updated_at = ?",
  )
    .bind(x.sequenceId, t + 86_400_000, t + 2)
    .all<{ n: number }>();
  expect(results[0]!.n).toBe(n);
  // Before migration 0031: 14.05 / 5.03 / 7 (the due-time index, the (sequence, status) index and the due time
  // in the mailbox index). A row and its index entries now, the triggers' counts included; the .05 is the
  // sequence's first counts row.
  expect(inserted).toBeLessThan(12.5);
  expect(handedOver).toBeLessThan(5.5);
  expect(moved).toBeLessThan(5.5);
});

it("an email inserted without a reply writes no entry of the replied index; a reply adds it", async () => {
  const x = await addContactsSetup({ steps: [{ wait: 0 }] });
  const n = 20;
  const contacts = await makeContacts(x.teamId, n);
  const counted = countingD1(env.DB);
  const t = now();
  const ids = contacts.map(() => newId());
  const insert = (id: string, c: string, i: number) =>
    counted.db
      .prepare(
        `INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body,
           message_id_header, status, scheduled_at, sent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x@example.test', 's', 'b', ?, 'sent', ?, ?, ?)`,
      )
      .bind(id, x.teamId, `e-${i}`, x.sequenceId, x.stepIds[0], x.mailboxIds[0], c, `<m${i}.${id}@example.test>`, t, t, t);
  await counted.db.batch(contacts.map((c, i) => insert(ids[i]!, c, i)));
  // Before migration 0031: 12.2 (the row, its id and seven indexes, a row of each of the three counting
  // triggers; the .2 is those rows' first insert). The replied index now holds replied emails only.
  expect(counted.count.rowsWritten / n).toBeLessThan(11.5);
  const inIndex = async () =>
    (await env.DB.prepare(
      "SELECT count(*) AS n FROM messages INDEXED BY messages_team_replied_idx WHERE team_id = ? AND replied_at IS NOT NULL",
    )
      .bind(x.teamId)
      .first<{ n: number }>())!.n;
  expect(await inIndex()).toBe(0);
  await env.DB.prepare("UPDATE messages SET replied_at = ?, reply_kind = 'reply' WHERE id = ?")
    .bind(t + 1, ids[0])
    .run();
  expect(await inIndex()).toBe(1);
});
