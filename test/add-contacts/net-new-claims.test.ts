// A chunk of net-new people claims each new contact on its candidate row in one statement. That
// statement must go from the chunk's claims to their rows by (job_id, idx): driven the other way it
// walked every candidate of the job for each claim (quadratic: a 10,000-person job took 80 s).
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { resetClock } from "../../worker/lib/clock";
import { countingD1 } from "../../worker/middleware/d1-count";
import { processChunk } from "../../worker/services/add-contacts/jobs";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

beforeEach(() => resetClock());

describe("net-new people: claiming the new contacts", () => {
  it("looks each claim's candidate up by (job_id, idx), and claims each person once", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const ids = (
      await env.DB.prepare("SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 30").all<{
        id: string;
      }>()
    ).results.map((r) => r.id);
    const { job } = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].$post({
        param: { id: x.sequenceId },
        header: {},
        json: { source: { people_ids: ids }, add_at: Date.now() + 86_400_000 },
      }),
      202,
    );
    await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job.id).run();
    const counted = countingD1(env.DB);
    await processChunk({ ...env, DB: counted.db }, job.id, 0, 30, db(counted.db));

    const claim = counted.count.queries.find((q) => /job_candidates/.test(q.sql) && /json_each/.test(q.sql) && /contact_id/.test(q.sql));
    expect(claim, counted.count.statements.join("\n")).toBeDefined();
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${claim!.sql}`)
        .bind(...claim!.params)
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join("; ");
    expect(plan).toMatch(/job_candidates\w* \(job_id=\? AND idx=\?\)/);
    expect(plan).not.toMatch(/SEARCH job_candidates USING INDEX \w+ \(job_id=\?\)/);

    const done = await waitForJob(job.id);
    expect(done).toMatchObject({ status: "completed", enrolled: 30, credits_used: 30 });
    const claimed = await env.DB.prepare(
      "SELECT count(DISTINCT contact_id) n FROM job_candidates WHERE job_id = ? AND contact_id IS NOT NULL",
    )
      .bind(job.id)
      .first<{ n: number }>();
    expect(claimed!.n).toBe(30);
    const contacts = await env.DB.prepare("SELECT count(*) n FROM contacts WHERE team_id = ?").bind(x.teamId).first<{ n: number }>();
    expect(contacts!.n).toBe(30);
  });
});
