// A one-off task (no sequence) is its assignee's: Reassign offers everyone active in the team (it offered only
// admins, while the API gave it to any teammate), and once it is a teammate's, a rep's Everyone view lists it with
// no checkbox and no buttons (acting on it answers 403).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("tasks: a one-off task", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "rep1@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const api = (...args) => pageApi(page)(...args);
  const rowOf = (name) => page.getByTestId("task-list").locator("li.task-row", { hasText: name });

  it("offers every active teammate for Reassign, hands it over, and then offers the rep nothing on it", async () => {
    const { tasks } = (await api("GET", "/tasks?view=overdue&per_page=100")).body;
    const lin = tasks.find((t) => t.contact?.name === "Lin Johnson" && !t.sequence);
    assert.ok(lin, "the demo seed gives rep1 an overdue one-off task with Lin Johnson");
    await page.goto(`${baseUrl}/tasks?view=overdue`);
    const row = rowOf("Lin Johnson");
    await row.getByTestId("task-reassign").click();
    const select = row.getByTestId("task-assignee");
    // The teammates arrive after the picker opens (CI read it empty once): wait for them, then read them all.
    await select.locator("option", { hasText: "Sam Patel" }).waitFor({ state: "attached" });
    assert.deepEqual(await select.locator("option").allTextContents(), ["Alex Morgan", "Sam Patel"]);
    await select.selectOption({ label: "Sam Patel" });
    await row.getByRole("button", { name: "Reassign", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "Reassigned to Sam Patel" }).waitFor();
    const after = (await api("GET", "/tasks?view=overdue&assignee=all&per_page=100")).body.tasks.find((t) => t.id === lin.id);
    assert.equal(after.assignee_id, "020000000000000000000003");
    assert.equal(after.can_work, false);

    // Now Sam's: listed under Everyone, with nothing to tick or press.
    await page.goto(`${baseUrl}/tasks?who=all&view=overdue`);
    const theirs = rowOf("Lin Johnson");
    await theirs.waitFor();
    assert.equal(await theirs.getByTestId("task-select").count(), 0);
    assert.equal(await theirs.getByTestId("task-reassign").count(), 0);
    assert.equal(await theirs.getByTestId("task-reschedule").count(), 0);
    assert.equal(await theirs.getByRole("button").count(), 0);
    const refused = await api("POST", `/tasks/${lin.id}/complete`, {});
    assert.equal(refused.status, 403);
  });
});
