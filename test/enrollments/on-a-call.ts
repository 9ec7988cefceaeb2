import { now } from "../../worker/lib/clock";
import { client, env } from "../helpers";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor } from "../fixtures";

/** Contacts on a call step (an email a day later), each with an open call task; `row` reads a contact's run and task. */
export async function onACall(n: number) {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const { sequenceId } = await makeSequence(teamId, userId, [{ type: "call", wait: 0 }, { wait: 1 }], null);
  const contacts = await makeContacts(teamId, n);
  await enroll(teamId, sequenceId, contacts, [await makeMailbox(teamId, userId, { gapSeconds: 0 })]);
  await runUntil(now() + HOUR);
  const row = (c: string) =>
    env.DB.prepare(
      "SELECT e.id, e.status, e.reason, e.current_step, t.id AS task_id, t.status AS task_status FROM enrollments e JOIN tasks t ON t.enrollment_id = e.id WHERE e.contact_id = ?",
    )
      .bind(c)
      .first<{ id: string; status: string; reason: string | null; current_step: number; task_id: string; task_status: string }>()
      .then((r) => r!);
  return { teamId, userId, sequenceId, contacts, api, row };
}
