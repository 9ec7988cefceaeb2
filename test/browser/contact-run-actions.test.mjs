// A contact's page acts on their run in a sequence as the sequence's Contacts tab does (pause, pause until a
// date, resume, mark finished, remove after the same confirmation), re-reading the Sequences card and the
// timeline; a user who may only view the sequence is offered none of it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4: rep1 may edit it, rep2 may only view it (seed)

describe("contact page: actions on a run", () => {
  let browser;
  let page;
  let api;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    api = pageApi(page);
  });
  after(async () => {
    await browser?.close();
  });

  /** Active runs of SEQ1 (their contacts' first run there), past those other tests take first by name. */
  const activeRuns = async () => {
    const { body } = await api("GET", `/sequences/${SEQ1}/enrollments?status=active&sort=added&per_page=20`);
    return body.enrollments;
  };
  /** Wait for the run's Status cell to read `label` ("Paused · Paused by a user"). */
  const statusIs = (row, label) =>
    row
      .locator("td")
      .nth(1)
      .filter({ hasText: new RegExp(`^${label}`) })
      .waitFor();
  /** The contact's run in SEQ1, as the API answers it now. */
  const seqRun = async (contactId) => {
    const { status, body } = await api("GET", `/contacts/${contactId}/sequences`);
    assert.equal(status, 200, JSON.stringify(body));
    return body.sequences.find((s) => s.sequence_id === SEQ1);
  };

  it("pauses, re-dates, resumes, finishes and removes the run from the profile", async () => {
    const [, , e] = await activeRuns();
    const contactId = e.contact.id;
    assert.equal((await seqRun(contactId)).status, "active");
    await page.goto(`${baseUrl}/contacts/${contactId}`);
    const table = page.getByTestId("contact-sequences-table");
    const row = table.locator("tbody tr", { has: page.locator(`a[href="/sequences/${SEQ1}"]`) });
    const actions = row.getByTestId("run-actions");
    await actions.waitFor();
    // An active run: pause, finish, remove and a pause date; no resume.
    assert.equal(await actions.getByTestId("run-resume").count(), 0);
    const timeline = page.getByTestId("contact-timeline");

    await actions.getByTestId("run-pause").click();
    await statusIs(row, "Paused");
    assert.equal((await seqRun(contactId)).status, "paused");
    // The timeline re-read: the pause is on it.
    await timeline.locator("li", { hasText: "Paused" }).first().waitFor();

    // A paused run: a new resume date, resume; no pause.
    assert.equal(await actions.getByTestId("run-pause").count(), 0);
    const day = new Date(Date.now() + 12 * 86_400_000).toISOString().slice(0, 10);
    await actions.getByTestId("run-pause-until-date").fill(day);
    await actions.getByRole("button", { name: "Change resume date" }).click();
    await page.getByText(/now resume/).waitFor();
    const { body: paused } = await api("GET", `/sequences/${SEQ1}/enrollments?status=paused&per_page=100&sort=added`);
    assert.equal(
      paused.enrollments.find((x) => x.id === e.id)?.paused_until,
      await page.evaluate((d) => new Date(`${d}T09:00:00`).getTime(), day),
    );

    await actions.getByTestId("run-resume").click();
    await statusIs(row, "Active");
    assert.equal((await seqRun(contactId)).status, "active");
    await timeline.locator("li", { hasText: "Resumed" }).first().waitFor();

    // Removing asks first, in the Contacts tab's words; cancelling changes nothing.
    await actions.getByTestId("run-remove").click();
    const confirm = page.getByRole("dialog", { name: /^Remove .* from / });
    await confirm.getByText("They stop receiving this sequence's steps right away.", { exact: false }).waitFor();
    await confirm.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await seqRun(contactId)).status, "active");
    await actions.getByTestId("run-remove").click();
    await page
      .getByRole("dialog", { name: /^Remove .* from / })
      .getByRole("button", { name: "Remove" })
      .click();
    await statusIs(row, "Removed");
    assert.equal((await seqRun(contactId)).status, "removed");
    await timeline.locator("li", { hasText: "Removed from the sequence" }).first().waitFor();
    // A removed run has nothing left to do.
    assert.equal(await row.getByTestId("run-actions").count(), 0);
  });

  it("marks a run finished from the profile", async () => {
    const [, , , e] = await activeRuns();
    await page.goto(`${baseUrl}/contacts/${e.contact.id}`);
    const row = page.getByTestId("contact-sequences-table").locator("tbody tr", { has: page.locator(`a[href="/sequences/${SEQ1}"]`) });
    await row.getByTestId("run-finish").click();
    await statusIs(row, "Finished");
    const run = await seqRun(e.contact.id);
    assert.equal(run.status, "finished");
    assert.equal(run.reason, "marked_finished");
  });

  it("offers no action to a user who may only view the sequence", async () => {
    const [e] = await activeRuns();
    const viewer = await launch();
    try {
      await signIn(viewer.page, "rep2@demo.test");
      const { body } = await pageApi(viewer.page)("GET", `/contacts/${e.contact.id}/sequences`);
      const run = body.sequences.find((s) => s.sequence_id === SEQ1);
      assert.equal(run?.can_edit, false, JSON.stringify(body));
      await viewer.page.goto(`${baseUrl}/contacts/${e.contact.id}`);
      const table = viewer.page.getByTestId("contact-sequences-table");
      await table.locator(`a[href="/sequences/${SEQ1}"]`).waitFor();
      assert.equal(await table.getByTestId("run-actions").count(), 0);
      assert.equal(await table.getByRole("button").count(), 0);
      assert.equal(await table.getByRole("columnheader", { name: "Actions" }).count(), 0);
    } finally {
      await viewer.browser.close();
    }
  });
});
