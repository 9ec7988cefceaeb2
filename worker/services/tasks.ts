import { bulkInsertStatements } from "../db/bulk";
import { IN_LIST, listParam } from "../db/in-list";
import { newId } from "../lib/ids";
import { now } from "../lib/clock";

export interface NewTask {
  enrollmentId: string;
  stepId: string;
  sequenceId: string;
  teamId: string;
  contactId: string;
  type: string;
  note: string;
  dueAt: number;
  mailboxId: string | null;
  ownerId: string;
}

/**
 * Manual steps become tasks. Idempotent on (enrollment, step): a repeated alarm creates no second
 * task. The assignee is the user who owns the enrollment's mailbox, else the sequence owner.
 */
export async function createTasks(d1: D1Database, tasks: NewTask[]): Promise<void> {
  if (!tasks.length) return;
  const mailboxIds = [...new Set(tasks.map((t) => t.mailboxId).filter((m): m is string => !!m))];
  const owners = new Map<string, string>();
  if (mailboxIds.length) {
    const { results } = await d1.prepare(`SELECT id, user_id FROM mailboxes WHERE id IN ${IN_LIST}`).bind(listParam(mailboxIds)).all<{ id: string; user_id: string }>();
    for (const r of results) owners.set(r.id, r.user_id);
  }
  const t = now();
  await d1.batch(
    bulkInsertStatements(
      d1,
      "tasks",
      ["id", "team_id", "enrollment_id", "sequence_id", "step_id", "contact_id", "assignee_id", "type", "note", "due_at", "status", "created_at"],
      tasks.map((x) => [newId(), x.teamId, x.enrollmentId, x.sequenceId, x.stepId, x.contactId, (x.mailboxId && owners.get(x.mailboxId)) || x.ownerId, x.type, x.note, x.dueAt, "open", t]),
    ),
  );
}
