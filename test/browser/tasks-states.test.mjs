// The Tasks page shows what the API now says about a task: a paused run's completion toast, a manual email
// to a contact who may not be emailed, why a task was cancelled, a deleted contact's task, and who a task
// can be reassigned to.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor as makeTask } from "./task-fixture.mjs";

describe("tasks: what the row and the toast say", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const api = (...args) => pageApi(page)(...args);
  const rowOf = (name) => page.getByTestId("task-list").locator("li.task-row", { hasText: name });
  const stamp = () => `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  /** A new contact (a last name no other row has) with a task of `steps`' first step. */
  const taskOf = async (steps, first, more = {}) => {
    const last = `${first}${stamp()}`;
    const made = await makeTask(api, steps, { first_name: first, last_name: last, email: `${last.toLowerCase()}@states.test`, ...more });
    return { ...made, last };
  };
  const runOf = async (sequence, contact) =>
    (await api("GET", `/sequences/${sequence.id}/enrollments?status=all`)).body.enrollments.find((e) => e.contact.id === contact.id);
  const call = [
    { type: "call", wait_amount: 0, wait_unit: "minutes" },
    { type: "call", wait_amount: 1, wait_unit: "days" },
  ];

  it("completing a paused run's task says the next step waits until the run is resumed", async () => {
    const { sequence, contact, last } = await taskOf(call, "Paula", { phone: "+1 555 0120" });
    const run = await runOf(sequence, contact);
    assert.equal((await api("POST", `/sequences/${sequence.id}/enrollments/pause`, { enrollment_ids: [run.id] })).status, 200);
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = rowOf(last);
    await row.getByTestId("task-run-paused").waitFor();
    await row.getByRole("button", { name: /^Complete / }).click();
    const toast = page.getByRole("status").filter({ hasText: last });
    await toast.waitFor();
    assert.match(await toast.textContent(), /Done: Paula \S+ is paused in the sequence; the next step waits until they are resumed/);
    assert.doesNotMatch(await toast.textContent(), /moves on/);
    assert.equal((await runOf(sequence, contact)).status, "paused");
  });

  it("a manual email to a suppressed address says not to email them, with no draft and no Email link", async () => {
    const { contact, last } = await taskOf(
      [{ type: "manual_email", wait_amount: 0, wait_unit: "minutes", variants: [{ subject: "Hello", body: "Hi {{first_name}}" }] }],
      "Sue",
      { phone: "+1 555 0121" },
    );
    assert.equal((await api("POST", "/suppressions", { emails: [contact.email] })).status, 200);
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = rowOf(last);
    await row.getByTestId("task-warning").waitFor();
    assert.match(await row.getByTestId("task-warning").textContent(), /on your team's suppression list: don't email them; skip this task/);
    assert.equal(await row.getByTestId("task-draft").count(), 0);
    assert.equal(await row.locator('a[href^="mailto:"]').count(), 0);
    // The other quick links stay.
    assert.equal(await row.locator('.quick-links a[href^="tel:"]').count(), 1);
  });

  it("a cancelled task's badge says why: its step deleted, or the contact out of the sequence", async () => {
    const removed = await taskOf(call, "Stella");
    assert.equal((await api("DELETE", `/sequences/${removed.sequence.id}/steps/${removed.sequence.steps[0].id}`)).status, 200);
    const left = await taskOf(call, "Lenny");
    const run = await runOf(left.sequence, left.contact);
    assert.equal((await api("POST", `/sequences/${left.sequence.id}/enrollments/finish`, { enrollment_ids: [run.id] })).status, 200);
    await page.goto(`${baseUrl}/tasks?who=all&view=done`);
    for (const [last, words] of [
      [removed.last, "Cancelled: step deleted or turned off"],
      [left.last, "Cancelled: left the sequence"],
    ]) {
      const row = rowOf(last);
      await row.waitFor();
      assert.equal((await row.locator(".task-due .badge").textContent()).trim(), words);
    }
  });

  it("a deleted contact's task is listed as 'Deleted contact', with no link and no details", async () => {
    const { task, contact, last } = await taskOf(call, "Della", { title: "Buyer", company: "Gonecorp", phone: "+1 555 0122" });
    assert.equal((await api("POST", `/tasks/${task.id}/complete`, {})).status, 200);
    assert.equal((await api("DELETE", `/contacts/${contact.id}`)).status, 200);
    await page.goto(`${baseUrl}/tasks?who=all&view=done`);
    const list = page.getByTestId("task-list");
    await list.waitFor();
    assert.equal(await list.getByText(last).count(), 0, "the deleted contact's name is not shown");
    assert.equal(await list.locator(`a[href="/contacts/${contact.id}"]`).count(), 0);
    const row = list.locator("li.task-row", { has: page.getByTestId("task-contact-deleted") }).first();
    assert.equal((await row.getByTestId("task-contact-deleted").textContent()).trim(), "Deleted contact");
    assert.equal(await row.locator(".task-contact").count(), 0);
    assert.equal(await row.locator(".quick-links").count(), 0);
  });

  it("the Reassign picker lists only the users the task can go to", async () => {
    const { sequence, last, task } = await taskOf(call, "Rita");
    const { users } = (await api("GET", "/users")).body;
    const rep1 = users.find((u) => u.email === "rep1@demo.test");
    const rep2 = users.find((u) => u.email === "rep2@demo.test");
    // rep1 may edit the sequence, rep2 may only view it: only rep1 can take its tasks.
    const shared = await api("PUT", `/sequences/${sequence.id}/shares`, {
      shares: [
        { user_id: rep1.id, access: "edit" },
        { user_id: rep2.id, access: "view" },
      ],
    });
    assert.equal(shared.status, 200, JSON.stringify(shared.body));
    const now = (await api("GET", "/tasks?view=open&assignee=all&per_page=100")).body.tasks.find((t) => t.id === task.id);
    assert.ok(now.assignable_ids.includes(rep1.id) && !now.assignable_ids.includes(rep2.id), JSON.stringify(now.assignable_ids));
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = rowOf(last);
    await row.getByTestId("task-reassign").click();
    const picker = row.getByTestId("task-assignee");
    await picker.locator("option").first().waitFor({ state: "attached" });
    const offered = await picker.locator("option").evaluateAll((os) => os.map((o) => o.value));
    // Its assignee is left out (reassigning to them changes nothing), and the first offered starts chosen: the
    // picker started at the assignee, who needn't be listed, and a click sent a no-op answered "Reassigned".
    const expected = users.filter((u) => u.id !== now.assignee_id && now.assignable_ids.includes(u.id)).map((u) => u.id);
    assert.deepEqual(offered, expected);
    assert.equal(await picker.inputValue(), offered[0]);
    assert.ok(offered.includes(rep1.id));
    assert.ok(!offered.includes(rep2.id), "a user who may only view the sequence is not offered");

    await picker.selectOption(rep1.id);
    await row.getByRole("button", { name: "Reassign", exact: true }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `Reassigned to ${rep1.name}` })
      .waitFor();
    const after = (await api("GET", "/tasks?view=open&assignee=all&per_page=100")).body.tasks.find((t) => t.id === task.id);
    assert.equal(after.assignee_id, rep1.id);
  });
});
