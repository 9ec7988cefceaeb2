// A job's page after an add: a job some of whose contacts were not processed offers "Retry the N not processed",
// which opens its sequence's add with exactly that source (source.not_processed_of_job: the API reads them from
// the job), previewed as any add; where it said "add them again" with no way to. A CSV job's source names its file,
// linked to the Imports page, with its report of the rows not imported; it read just "CSV file".
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("the job page", () => {
  let browser;
  let page;
  let api;
  let job;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    api = pageApi(page);
    // A completed add that changes nothing: a contact already in the sequence, added again (skipped as already here).
    const seq = "0a0000000000000000000001";
    const { body: e } = await api("GET", `/sequences/${seq}/enrollments?per_page=1`);
    const contactId = e.enrollments[0].contact_id ?? e.enrollments[0].contact?.id;
    const { status, body } = await api("POST", `/sequences/${seq}/add-contacts`, { source: { contact_ids: [contactId] } });
    assert.equal(status, 202, JSON.stringify(body));
    for (let i = 0; i < 100 && body.job.status !== "completed"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      body.job = (await api("GET", `/jobs/${body.job.id}`)).body.job;
    }
    job = body.job;
    assert.equal(job.status, "completed");
  });
  after(async () => {
    await browser?.close();
  });

  /** The job as GET /jobs/{id} answers it, with `patch` over it (a state the demo can't reach from a browser). */
  async function withJob(patch, run) {
    const url = new RegExp(`/api/jobs/${job.id}$`);
    // The job page polls: a request still in flight when the test unroutes is answered by then, and its late
    // fulfill ("Route is already handled") is no failure of the page (CI failed on it once).
    await page.route(url, async (route) => {
      try {
        const body = await (await route.fetch()).json();
        Object.assign(body.job, patch);
        await route.fulfill({ status: 200, json: body });
      } catch {
        // unrouted or the page moved on meanwhile
      }
    });
    try {
      await run();
    } finally {
      await page.unroute(url);
    }
  }

  it("a job with contacts not processed retries exactly those through the usual preview", async () => {
    await withJob({ error: "Contacts 1–2 failed after retries", not_processed: 2 }, async () => {
      await page.goto(`${baseUrl}/jobs/${job.id}`);
      const retry = page.getByTestId("job-retry");
      await retry.waitFor();
      assert.equal((await retry.textContent())?.trim(), "Retry the 2 not processed");
      assert.doesNotMatch((await page.getByTestId("job-partly-failed").textContent()) ?? "", /add them again/);
      await retry.click();
      await page.waitForURL(new RegExp(`/sequences/${job.sequence_id}/add\\?step=options`));
      assert.equal((await page.getByTestId("selection-summary").textContent())?.trim(), "The 2 contacts an earlier job did not process");
      const sent = page.waitForRequest((r) => r.url().includes("/add-contacts/preview") && r.method() === "POST");
      await page.getByRole("button", { name: "Review" }).click();
      assert.deepEqual(JSON.parse((await sent).postData() ?? "{}").source, { not_processed_of_job: job.id });
    });
  });

  it("a job with every contact processed offers no retry", async () => {
    const { body } = await api("GET", `/jobs/${job.id}`);
    assert.equal(body.job.not_processed, 0);
    await page.goto(`${baseUrl}/jobs/${job.id}`);
    await page.getByTestId("job-counts").waitFor();
    assert.equal(await page.getByTestId("job-retry").count(), 0);
  });

  it("a CSV job's source is its file, linked to the Imports page, with its report of the rows not imported", async () => {
    const tag = Date.now().toString(36);
    await page.goto(`${baseUrl}/imports`);
    const id = await page.evaluate(async (name) => {
      const form = new FormData();
      form.append("file", new File([`Email\nann@${name}.test\n`], `${name}.csv`));
      const me = await (await fetch("/api/me")).json();
      const r = await fetch("/api/imports", { method: "POST", body: form, headers: { "x-csrf-token": me.csrf_token } });
      return (await r.json()).import.id;
    }, `job-${tag}`);
    const imp = new RegExp(`/api/imports/${id}$`);
    await page.route(imp, async (route) => {
      try {
        const body = await (await route.fetch()).json();
        Object.assign(body.import, { status: "ready", failed: 3, warned: 0 });
        await route.fulfill({ status: 200, json: body });
      } catch {
        // unrouted or the page moved on meanwhile (as withJob's)
      }
    });
    try {
      await withJob({ source: { kind: "csv", list_ids: [], people: 0, contacts: 0, search: null, import_id: id } }, async () => {
        await page.goto(`${baseUrl}/jobs/${job.id}`);
        const link = page.getByTestId("job-import-link");
        await link.waitFor();
        assert.equal((await link.textContent())?.trim(), `CSV file “job-${tag}.csv”`);
        assert.equal(await link.getAttribute("href"), "/imports");
        const report = page.getByTestId("job-import-report");
        assert.equal(await report.getAttribute("href"), `/api/imports/${id}/errors.csv`);
        assert.equal((await report.textContent())?.trim(), "3 rows not imported");
      });
    } finally {
      await page.unroute(imp);
      await api("DELETE", `/imports/${id}`);
    }
  });
});
