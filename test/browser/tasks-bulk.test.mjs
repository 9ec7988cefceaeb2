// The Tasks page's bulk bar: tick tasks, Complete or Skip them at once; each is done as its own button
// would, and one refused (a manual email can't be completed without sending it) stays ticked, with why.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor as makeTask } from "./task-fixture.mjs";

describe("tasks: bulk complete and skip", () => {
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
  const statusOf = async (id) =>
    [
      ...(await api("GET", "/tasks?view=open&assignee=all&per_page=100")).body.tasks,
      ...(await api("GET", "/tasks?view=done&assignee=all&per_page=100")).body.tasks,
    ].find((t) => t.id === id)?.status;

  it("completes the ticked calls, refuses the manual email with the reason and keeps it ticked; Skip then skips it", async () => {
    const stamp = Date.now();
    const make = (last, type) =>
      makeTask(
        api,
        [{ type, wait_amount: 0, wait_unit: "minutes", ...(type === "manual_email" && { variants: [{ subject: "Hi", body: "Hello" }] }) }],
        { first_name: "Bulk", last_name: `${last}${stamp}`, phone: "+1 555 0140", email: `${last.toLowerCase()}.${stamp}@bulk.test` },
      );
    const one = await make("Callone", "call");
    const two = await make("Calltwo", "call");
    const mail = await make("Mailer", "manual_email");
    await page.goto(`${baseUrl}/tasks?who=all`);
    for (const last of ["Callone", "Calltwo", "Mailer"]) await rowOf(`${last}${stamp}`).getByTestId("task-select").check();
    const bar = page.getByTestId("tasks-bulk");
    assert.match(await bar.textContent(), /3 selected/);

    await bar.getByRole("button", { name: "Complete" }).click();
    const toast = page.getByRole("status").filter({ hasText: "2 completed; 1 not:" });
    await toast.waitFor();
    assert.match(await toast.textContent(), /A manual email is sent, or marked sent, on its own task/);
    await rowOf(`Callone${stamp}`).waitFor({ state: "detached" });
    await rowOf(`Calltwo${stamp}`).waitFor({ state: "detached" });
    assert.equal(await statusOf(one.task.id), "completed");
    assert.equal(await statusOf(two.task.id), "completed");
    assert.equal(await statusOf(mail.task.id), "open");
    assert.equal(await rowOf(`Mailer${stamp}`).getByTestId("task-select").isChecked(), true);
    assert.match(await bar.textContent(), /1 selected/);

    await bar.getByRole("button", { name: "Skip" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: /^1 skipped$/ })
      .waitFor();
    await rowOf(`Mailer${stamp}`).waitFor({ state: "detached" });
    assert.equal(await statusOf(mail.task.id), "skipped");
    assert.equal(await bar.count(), 0);
  });
});
