import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

beforeEach(() => resetClock());

describe("a schedule run on a low balance", () => {
  it("adds as many people as the balance covers (5 credits, 10 verified net-new: 5 added), saying it was limited", async () => {
    const x = await addContactsSetup({ credits: 5 });
    const api = client(x.s).api;
    const { workflow } = await ok(
      api.workflows.$post({
        json: {
          name: "Directors",
          sequence_id: x.sequenceId,
          filters: { seniorities: ["director"], email_statuses: ["verified"] },
          max_per_run: 10,
          active: true,
        },
      }),
      201,
    );
    const { run } = await ok(api.workflows[":id"].run.$post({ param: { id: workflow.id } }));
    expect(run).toMatchObject({ status: "completed", found: 10, reason: "limited_by_credits" });
    const job = await waitForJob(run.job_id!);
    expect(job).toMatchObject({ total: 5, enrolled: 5 });
    const balance = await env.DB.prepare("SELECT credit_balance b FROM teams WHERE id = ?").bind(x.teamId).first<{ b: number }>();
    expect(balance!.b).toBe(0);
  });
});
