import { beforeEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../worker/lib/clock";
import { runDueWorkflows } from "../../worker/services/workflows";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

beforeEach(() => resetClock());

describe("a workflow run's added count", () => {
  it("is null while the run's job is still adding (the run log says 'adding…'), then the job's enrolled count", async () => {
    const x = await addContactsSetup({ credits: 10_000 });
    const api = client(x.s).api;
    const filters = { seniorities: ["director"], email_statuses: ["verified" as const] };
    const { workflow: wf } = await ok(
      api.workflows.$post({
        json: { name: "Directors", sequence_id: x.sequenceId, filters, interval_minutes: 60, max_per_run: 4, active: true },
      }),
      201,
    );
    setClock(wf.next_run_at! + 1000);
    await runDueWorkflows(env);
    resetClock();
    const run = await env.DB.prepare("SELECT job_id FROM workflow_runs WHERE workflow_id = ?").bind(wf.id).first<{ job_id: string }>();
    const job = await env.DB.prepare("SELECT status, enrolled FROM jobs WHERE id = ?")
      .bind(run!.job_id)
      .first<{ status: string; enrolled: number }>();
    // The job was committed and has not finished: it enrolled nobody yet, which is not "added 0".
    expect(["preparing", "scheduled", "queued", "running"]).toContain(job!.status);
    expect(job!.enrolled).toBe(0);
    const during = await ok(api.workflows[":id"].runs.$get({ param: { id: wf.id }, query: {} }));
    expect(during.runs[0]).toMatchObject({ job_id: run!.job_id, found: 4, added: null, job_status: job!.status });
    const listed = await ok(api.workflows.$get());
    expect(listed.workflows.find((w) => w.id === wf.id)!.last_run).toMatchObject({ added: null });

    await waitForJob(run!.job_id);
    const after = await ok(api.workflows[":id"].runs.$get({ param: { id: wf.id }, query: {} }));
    expect(after.runs[0]).toMatchObject({ found: 4, added: 4, job_status: "completed" });
  });
});
