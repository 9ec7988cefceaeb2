// A committed add-contacts job sends from the mailboxes it was planned on, but it enrolls later (a scheduled
// start, queued chunks). Before, nothing looked at those mailboxes again: a mailbox removed (the removal only
// counted enrollments) or disconnected between the commit and the chunk got every contact planned on it, whose
// emails then waited at a closed MailboxDO for good. Now a removal is refused while an unfinished job names the
// mailbox, and a chunk sends a contact planned on a mailbox no longer connected from one of the job's mailboxes
// still connected, or skips it saying why when none is left.
import { beforeEach, describe, expect, it } from "vitest";
import { now, setClock } from "../../worker/lib/clock";
import type { QueueMessage } from "../../worker/queue/messages";
import { processChunk, startDueJobs } from "../../worker/services/add-contacts/jobs";
import { as, client, env, errorOf, ok } from "../helpers";
import { addContactsSetup, DAY, HOUR, mailboxLedger, makeContacts, setMailboxStatus, startSimulation, withQueue } from "../fixtures";

type Setup = Awaited<ReturnType<typeof addContactsSetup>>;

/** Schedules `contactIds` for tomorrow from `mailboxIds`; answers the job's id. */
async function scheduleAdd(x: Setup, contactIds: string[], mailboxIds: string[]) {
  const res = await as(x.s, "POST", `/api/sequences/${x.sequenceId}/add-contacts`, {
    source: { contact_ids: contactIds },
    mailbox_ids: mailboxIds,
    add_at: now() + DAY,
  });
  if (res.status !== 202) throw new Error(await res.text());
  return ((await res.json()) as { job: { id: string } }).job.id;
}

/** Tomorrow comes: the cron starts the job and each of its chunks runs. */
async function runScheduledJob() {
  setClock(now() + DAY + HOUR);
  const sent: QueueMessage[] = [];
  const quiet = withQueue(sent);
  await startDueJobs(quiet);
  for (const m of sent) if (m.kind === "add_contacts_chunk") await processChunk(quiet, m.jobId, m.from, m.to);
}

const rows = async <T>(q: string, ...binds: unknown[]) =>
  (
    await env.DB.prepare(q)
      .bind(...binds)
      .all<T>()
  ).results;
const jobRow = (id: string) =>
  env.DB.prepare("SELECT status, error, enrolled, skipped, credits_used FROM jobs WHERE id = ?").bind(id).first<Record<string, unknown>>();
const remove = (x: Setup, id: string) => client(x.s).api.mailboxes[":id"].$delete({ param: { id }, query: {} });

describe("an add-contacts job's mailboxes after its commit", () => {
  beforeEach(() => startSimulation());

  it("a mailbox a scheduled add will send from can't be removed (409 mailbox_in_use naming the job) until the add is cancelled", async () => {
    const x = await addContactsSetup();
    const [m] = x.mailboxIds;
    const jobId = await scheduleAdd(x, await makeContacts(x.teamId, 3), [m!]);

    const res = await remove(x, m!);
    expect(res.status).toBe(409);
    const err = await errorOf(res);
    expect(err.code).toBe("mailbox_in_use");
    expect(err.message).toMatch(/^1 add-contacts job still to run sends from .*scheduled for .* UTC, job /);
    expect(err.message).toContain(jobId);
    expect(err.details).toMatchObject({ jobs: [{ id: jobId, status: "scheduled" }] });
    expect((await rows<{ status: string }>("SELECT status FROM mailboxes WHERE id = ?", m))[0]!.status).toBe("connected");

    await ok(client(x.s).api.jobs[":id"].cancel.$post({ param: { id: jobId } }));
    expect((await remove(x, m!)).status).toBe(200);
  });

  it("a contact planned on a mailbox disconnected since goes out from the job's other mailbox; nothing lands on the disconnected one", async () => {
    const x = await addContactsSetup({ mailboxes: [{}, {}] });
    const [m, n] = x.mailboxIds as [string, string];
    const jobId = await scheduleAdd(x, await makeContacts(x.teamId, 4), [m, n]);
    // The plan spread them over both mailboxes.
    const planned = await rows<{ mailbox_id: string }>("SELECT mailbox_id FROM job_candidates WHERE job_id = ?", jobId);
    expect(planned.filter((p) => p.mailbox_id === m).length).toBeGreaterThan(0);

    await setMailboxStatus(m, "disconnected", "Signed out");
    await runScheduledJob();

    expect(await jobRow(jobId)).toMatchObject({ status: "completed", enrolled: 4, skipped: 0 });
    const runs = await rows<{ mailbox_id: string }>("SELECT mailbox_id FROM enrollments WHERE sequence_id = ?", x.sequenceId);
    expect(runs.map((r) => r.mailbox_id)).toEqual([n, n, n, n]);
    const outcomes = await rows<{ mailbox_id: string }>("SELECT mailbox_id FROM job_outcomes WHERE job_id = ?", jobId);
    expect(outcomes.map((o) => o.mailbox_id)).toEqual([n, n, n, n]);
    expect((await mailboxLedger(m)).queue).toHaveLength(0);
  });

  it("when every mailbox of the job is disconnected, its contacts are skipped as mailbox_not_connected and the job says why", async () => {
    const x = await addContactsSetup();
    const [m] = x.mailboxIds as [string];
    const jobId = await scheduleAdd(x, await makeContacts(x.teamId, 3), [m]);

    await setMailboxStatus(m, "disconnected", "Signed out");
    await runScheduledJob();

    expect(await jobRow(jobId)).toMatchObject({ status: "completed", enrolled: 0, skipped: 3, credits_used: 0 });
    expect(String((await jobRow(jobId))!.error)).toMatch(/^Stopped: .* is no longer connected$/);
    const outcomes = await rows<{ reasons: string }>("SELECT reasons FROM job_outcomes WHERE job_id = ?", jobId);
    expect(outcomes.map((o) => JSON.parse(o.reasons))).toEqual([
      ["mailbox_not_connected"],
      ["mailbox_not_connected"],
      ["mailbox_not_connected"],
    ]);
    expect(await rows("SELECT id FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toHaveLength(0);
    expect((await mailboxLedger(m)).queue).toHaveLength(0);
    // The job page names the reason in words.
    const page = await ok(client(x.s).api.jobs[":id"].outcomes.$get({ param: { id: jobId }, query: {} }));
    expect(page.reasons.mailbox_not_connected!.label).toBe("No connected mailbox to send from");
  });
});
