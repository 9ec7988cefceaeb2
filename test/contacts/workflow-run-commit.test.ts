import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Env } from "../../worker/env";
import { now, resetClock } from "../../worker/lib/clock";
import { runWorkflow } from "../../worker/services/workflows";
import { client, env, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

beforeEach(() => resetClock());

describe("a schedule run whose job was committed", () => {
  it("reads completed with that job when starting the job failed afterwards (the job still adds its people), not Failed", async () => {
    const x = await addContactsSetup({ credits: 1000 });
    const api = client(x.s).api;
    const { workflow } = await ok(
      api.workflows.$post({
        json: {
          name: "Directors",
          sequence_id: x.sequenceId,
          filters: { seniorities: ["director"], email_statuses: ["verified"] },
          max_per_run: 3,
        },
      }),
      201,
    );
    // The queue refuses the job's first chunks once: the job row is written, its start fails.
    let refused = 0;
    const flaky = {
      ...env,
      JOBS: {
        send: (m: unknown) => env.JOBS.send(m as never),
        sendBatch: async (m: unknown) => {
          if (!refused++) throw new Error("queue unavailable");
          return env.JOBS.sendBatch(m as never);
        },
      },
    } as unknown as Env;
    const runId = await runWorkflow(flaky, workflow.id, now(), true, db(env.DB));
    expect(refused).toBe(1);
    const run = await env.DB.prepare("SELECT status, job_id, reason, found FROM workflow_runs WHERE id = ?")
      .bind(runId)
      .first<{ status: string; job_id: string | null; reason: string | null; found: number }>();
    const job = await env.DB.prepare("SELECT id, total FROM jobs WHERE team_id = ?").bind(x.teamId).first<{ id: string; total: number }>();
    expect(job).not.toBeNull();
    expect(run).toEqual({ status: "completed", job_id: job!.id, reason: null, found: 3 });
  });
});
