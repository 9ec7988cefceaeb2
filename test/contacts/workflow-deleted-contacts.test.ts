import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { runWorkflow } from "../../worker/services/workflows";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

beforeEach(() => resetClock());

describe("a schedule workflow and a contact deleted since it added them", () => {
  it("doesn't add, charge or email the person again: their next runs move on to other people", async () => {
    const x = await addContactsSetup({ credits: 1000 });
    const api = client(x.s).api;
    const { workflow } = await ok(
      api.workflows.$post({
        json: {
          name: "Directors",
          sequence_id: x.sequenceId,
          filters: { seniorities: ["director"], email_statuses: ["verified"] },
          max_per_run: 1,
        },
      }),
      201,
    );
    const run = async () => {
      setClock(now() + 60_000);
      const runId = await runWorkflow(env, workflow.id, now(), true, db(env.DB));
      const r = await env.DB.prepare("SELECT job_id FROM workflow_runs WHERE id = ?").bind(runId).first<{ job_id: string | null }>();
      if (r?.job_id) await waitForJob(r.job_id);
      return r?.job_id ?? null;
    };
    const first = await run();
    const added = await env.DB.prepare("SELECT contact_id, person_id FROM job_outcomes WHERE job_id = ? AND outcome = 'enrolled'")
      .bind(first)
      .first<{ contact_id: string; person_id: string }>();
    expect(added?.person_id).toBeTruthy();
    expect((await api.contacts[":id"].$delete({ param: { id: added!.contact_id } })).status).toBe(200);

    await run();
    const times = await env.DB.prepare("SELECT count(*) n FROM job_candidates WHERE team_id = ? AND person_id = ?")
      .bind(x.teamId, added!.person_id)
      .first<{ n: number }>();
    expect(times!.n).toBe(1);
    const enrolled = await env.DB.prepare(
      "SELECT count(*) n FROM job_outcomes WHERE team_id = ? AND person_id = ? AND outcome = 'enrolled'",
    )
      .bind(x.teamId, added!.person_id)
      .first<{ n: number }>();
    expect(enrolled!.n).toBe(1);
  });
});
