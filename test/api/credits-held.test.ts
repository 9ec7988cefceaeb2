import { describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { as, env } from "../helpers";
import { addContactsSetup } from "../fixtures";

/** A running job of the team that holds `held` credits and has used `used` of them. */
async function runningJob(teamId: string, userId: string, held: number, used: number) {
  await env.DB.prepare(
    "INSERT INTO jobs (id, team_id, user_id, kind, sequence_id, source, options, status, total, processed, credits_held, credits_used, created_at) VALUES (?, ?, ?, 'save_to_list', NULL, '{}', '{}', 'running', 10, 0, ?, ?, ?)",
  )
    .bind(newId(), teamId, userId, held, used, now())
    .run();
}

describe("credits held by running jobs", () => {
  it("counts what each job still holds, nothing for one that has spent past its hold", async () => {
    const x = await addContactsSetup();
    await runningJob(x.teamId, x.userId, 10, 4);
    // Overspent (the settlement charges the rest as far as the balance goes): it holds nothing more, and
    // must not take 3 off what the other job holds.
    await runningJob(x.teamId, x.userId, 5, 8);
    const summary = (await (await as(x.s, "GET", "/api/credits")).json()) as { held: number };
    expect(summary.held).toBe(6);
  });
});
