// Every mailbox removal leaves the same second audit entry (mailbox.remove_finished: moved, withdrawn, sign_in),
// whatever its transport. Before: only a Gmail / Microsoft 365 removal recorded the emails it withdrew (in its
// mailbox.revoke_sign_in entry); an SMTP mailbox's withdrawn emails were on no record.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { client, env, ok, type Session } from "../helpers";
import {
  enroll,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

const remove = (s: Session, id: string, reassignTo?: string) =>
  client(s).api.mailboxes[":id"].$delete({ param: { id }, query: reassignTo ? { reassign_to: reassignTo } : {} });

const auditOf = (teamId: string, id: string) =>
  env.DB.prepare(
    "SELECT action, user_id, details FROM audit_log WHERE team_id = ? AND target_id = ? AND action LIKE 'mailbox.remove%' ORDER BY action",
  )
    .bind(teamId, id)
    .all<{ action: string; user_id: string; details: string }>()
    .then((r) => r.results.map((a) => ({ ...a, details: JSON.parse(a.details) as Record<string, unknown> })));

/** A mailbox with one email sent and two queued behind its daily cap of 1, as an SMTP mailbox. */
async function busySmtpMailbox() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
  const mb = await makeMailbox(teamId, userId, { daily: 1, hourly: 1, gapSeconds: 0 });
  await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mb]);
  await runUntil(now() + 10 * 60_000);
  expect((await mailboxLedger(mb)).queue.filter((q) => q.state === "queued")).toHaveLength(2);
  await env.DB.prepare("UPDATE mailboxes SET transport = 'smtp' WHERE id = ?").bind(mb).run();
  return { teamId, userId, s, sequenceId, mb };
}

describe("removing an SMTP mailbox is audited like a Gmail one", () => {
  beforeEach(() => startSimulation());

  it("records the emails still queued on it that the removal withdrew", async () => {
    const { teamId, userId, s, sequenceId, mb } = await busySmtpMailbox();
    // Their runs ended while the emails waited (the queue not yet caught up): nothing still sends from it,
    // so the removal goes ahead and the MailboxDO gives the two emails back.
    await env.DB.prepare("UPDATE enrollments SET status = 'finished', finished_at = ? WHERE sequence_id = ?").bind(now(), sequenceId).run();

    const { removed } = await ok(remove(s, mb));
    expect(removed).toMatchObject({ moved: 0, withdrawn: 2, sign_in: null });
    expect((await mailboxLedger(mb)).queue.filter((q) => q.state === "queued")).toHaveLength(0);
    const audit = await auditOf(teamId, mb);
    expect(audit.map((a) => [a.action, a.user_id])).toEqual([
      ["mailbox.remove", userId],
      ["mailbox.remove_finished", userId],
    ]);
    expect(audit[1]!.details).toEqual({ email: removed.email, transport: "smtp", moved: 0, withdrawn: 2, sign_in: null });
  });

  it("records the contacts moved to reassign_to (their queued emails go with them: none is withdrawn)", async () => {
    const { teamId, userId, s, mb } = await busySmtpMailbox();
    const target = await makeMailbox(teamId, userId, { gapSeconds: 0 });

    const { removed } = await ok(remove(s, mb, target));
    expect(removed).toMatchObject({ moved: 3, withdrawn: 0 });
    const finished = (await auditOf(teamId, mb)).find((a) => a.action === "mailbox.remove_finished");
    expect(finished?.details).toEqual({ email: removed.email, transport: "smtp", moved: 3, withdrawn: 0, sign_in: null });
  });
});
