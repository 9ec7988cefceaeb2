import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { resetClock, setClock } from "../../worker/lib/clock";
import { startDueJobs } from "../../worker/services/add-contacts/jobs";
import { runDueWorkflows } from "../../worker/services/workflows";
import { diesAt } from "../crash";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

// A schedule workflow's tick killed at any write after its slot's claim: the slot still ends as one run with one job
// that adds its people, each once and charged once, as a change run's does (workflow-change-batches).

const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

beforeEach(() => resetClock());

const CREDITS = 10_000;

async function scheduled() {
  const x = await addContactsSetup({ credits: CREDITS });
  const api = client(x.s).api;
  const { workflow: wf } = await ok(
    api.workflows.$post({
      json: {
        name: "Directors",
        sequence_id: x.sequenceId,
        filters: { seniorities: ["director"], email_statuses: ["verified"] },
        interval_minutes: 60,
        max_per_run: 4,
        active: true,
      },
    }),
    201,
  );
  return { ...x, wf, slot: wf.next_run_at! };
}

describe("a schedule workflow's tick killed after its slot's claim", () => {
  it("at any write: the cron's next ticks make the slot's one job, which adds every person it found once, charged once", async () => {
    // Writes of the tick: 0 the lease sweep, 1 the claim; from 2 on, each try dies at a later write (writing the job,
    // starting it, recording the run), until one where the tick gets through.
    for (let n = 2; ; n++) {
      const x = await scheduled();
      setClock(x.slot + 1000);
      const died = await runDueWorkflows(diesAt(env, n)).then(
        () => false,
        () => true,
      );
      if (died) {
        // As the cron goes, a minute at a time until past the claim's lease and a job's quiet time, still before the
        // next slot: due jobs first (a job still preparing is failed once quiet for 10 minutes), then the workflows.
        for (let m = 1; m <= 20; m++) {
          setClock(x.slot + 1000 + m * 60_000);
          await startDueJobs(env, db(env.DB));
          await runDueWorkflows(env);
        }
      }
      const runs = (
        await env.DB.prepare("SELECT slot, status, job_id, found, reason FROM workflow_runs WHERE workflow_id = ?")
          .bind(x.wf.id)
          .all<{ slot: number; status: string; job_id: string | null; found: number; reason: string | null }>()
      ).results;
      expect(runs, `died at write ${n}`).toHaveLength(1);
      expect(runs[0], `died at write ${n}`).toMatchObject({ slot: x.slot, status: "completed", found: 4, reason: null });
      const jobs = (await env.DB.prepare("SELECT id FROM jobs WHERE team_id = ?").bind(x.teamId).all<{ id: string }>()).results;
      expect(jobs, `died at write ${n}`).toEqual([{ id: runs[0]!.job_id }]);
      const job = await waitForJob(runs[0]!.job_id!);
      expect(job, `died at write ${n}`).toMatchObject({ status: "completed", total: 4, enrolled: 4, credits_used: 4 });
      // Every person the run found is a contact, enrolled once.
      expect(await one("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId), `died at write ${n}`).toBe(4);
      expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId), `died at write ${n}`).toBe(4);
      expect(await one("SELECT count(DISTINCT contact_id) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
      // Charged once: one hold, the balance down by the four people, as the ledger says.
      expect(await one("SELECT count(*) n FROM credit_ledger WHERE team_id = ? AND kind = 'hold'", x.teamId), `died at write ${n}`).toBe(1);
      const balance = await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId);
      expect(balance, `died at write ${n}`).toBe(CREDITS - 4);
      expect(await one("SELECT coalesce(sum(amount), 0) n FROM credit_ledger WHERE team_id = ?", x.teamId)).toBe(-4);
      if (!died) break;
      resetClock();
      if (n > 40) throw new Error("the tick never got through");
    }
  });
});
