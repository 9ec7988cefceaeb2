// A manual email's "Mark sent" (completing its task: the rep says they sent it from their own email) is refused for a
// contact who may not be emailed (suppressed, unsubscribed, bounced): the row says "don't email them; skip this task",
// and the complete recorded them as emailed and moved them on. Skipping still ends the task.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { as, env } from "../helpers";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

const taskOf = async (contactId: string) =>
  (await env.DB.prepare(
    "SELECT t.id, t.status, e.current_step FROM tasks t JOIN enrollments e ON e.id = t.enrollment_id WHERE t.contact_id = ?",
  )
    .bind(contactId)
    .first<{ id: string; status: string; current_step: number }>())!;

describe("marking a manual email sent", () => {
  it("is refused for a suppressed contact (the task stays open, the run where it was), and works for another", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ type: "manual_email", wait: 0 }, { wait: 1 }], null);
    const [blocked, fine] = (await makeContacts(teamId, 2)) as [string, string];
    await enroll(teamId, sequenceId, [blocked, fine], [await makeMailbox(teamId, userId, { gapSeconds: 0 })]);
    await runUntil(now() + HOUR);
    const email = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(blocked).first<{ email: string }>())!.email;
    expect((await as(s, "POST", "/api/suppressions", { emails: [email] })).status).toBe(200);
    const before = await taskOf(blocked);
    expect(before.status).toBe("open");

    const refused = await as(s, "POST", `/api/tasks/${before.id}/complete`, {});
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/can't be marked sent; skip this task/);
    expect(await taskOf(blocked)).toEqual(before);

    const other = await taskOf(fine);
    expect((await as(s, "POST", `/api/tasks/${other.id}/complete`, {})).status).toBe(200);
    expect((await taskOf(fine)).status).toBe("completed");

    expect((await as(s, "POST", `/api/tasks/${before.id}/skip`, {})).status).toBe(200);
    expect((await taskOf(blocked)).status).toBe("skipped");
  });
});
