// A workflow run given up after repeated tries says so in the run log: it names the job it cancelled only when it
// had one (a run whose ticks all died before committing a job has none), and counts its tries without calling them
// all interrupted (a change run's earlier tries may have failed with an internal error).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("a given-up workflow run in the run log", () => {
  let browser;
  let page;
  let workflowId;
  const runs = (now) => {
    const base = { slot: 0, found: 0, added: null, skipped: null, held_back: null, started_at: now - 3_600_000, finished_at: now };
    return [
      {
        ...base,
        id: "run-no-job",
        status: "failed",
        job_id: null,
        job_status: null,
        reason: "gave_up",
        slot: -1,
        found: 1,
        trigger: { kind: "change", change_id: 1, change: "stage", contact_id: null, contact_name: null },
        attempts: 8,
        will_retry: false,
      },
      {
        ...base,
        id: "run-with-job",
        status: "failed",
        job_id: "job-cancelled",
        job_status: "cancelled",
        reason: "gave_up",
        trigger: { kind: "schedule", change_id: null, change: null, contact_id: null, contact_name: null },
        attempts: 8,
        will_retry: false,
      },
    ];
  };

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    const api = pageApi(page);
    const seqs = await api("GET", "/sequences");
    const sequence = seqs.body.sequences[0];
    const made = await api("POST", "/workflows", {
      name: `Gave up ${Date.now()}`,
      sequence_id: sequence.id,
      filters: { seniorities: ["director"] },
      interval_minutes: 1440,
      max_per_run: 1,
      active: false,
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    workflowId = made.body.workflow.id;
    // The run log as the server answers it, its runs this test's given-up ones.
    await page.route(/\/api\/workflows\/[^/]+\/runs(\?.*)?$/, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.runs = runs(Date.now());
      body.pagination = { ...body.pagination, total_entries: body.runs.length, total_pages: 1 };
      await route.fulfill({ response, json: body });
    });
  });
  after(async () => {
    if (workflowId) await pageApi(page)("DELETE", `/workflows/${workflowId}`);
    await browser?.close();
  });

  it("names the cancelled job only for the run that had one, and counts tries without calling them interrupted", async () => {
    await page.goto(`${baseUrl}/workflows/${workflowId}`);
    const noJob = page.locator('[data-testid="run-row"][data-run-id="run-no-job"] [data-testid="run-reason"]');
    const withJob = page.locator('[data-testid="run-row"][data-run-id="run-with-job"] [data-testid="run-reason"]');
    await noJob.waitFor();
    await withJob.waitFor();
    const noJobText = (await noJob.textContent()) ?? "";
    const withJobText = (await withJob.textContent()) ?? "";
    assert.match(noJobText, /Gave up after 8 tries/);
    assert.doesNotMatch(noJobText, /interrupted tries/);
    assert.doesNotMatch(noJobText, /cancelled|credits returned/);
    assert.match(withJobText, /Gave up after 8 tries/);
    assert.match(withJobText, /job it had committed was cancelled, its credits returned/);
  });
});
