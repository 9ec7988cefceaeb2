// The Tasks page's header box ticks the page's tasks that bulk Complete can finish (a manual email is left
// out, its own box saying why), is part-ticked when some are, counts them, and a filter change clears the ticks.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor as makeTask } from "./task-fixture.mjs";

describe("tasks: select all on the page", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch({ width: 1280, height: 800 }));
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const api = (...args) => pageApi(page)(...args);
  const rowOf = (name) => page.getByTestId("task-list").locator("li.task-row", { hasText: name });

  it("ticks the callable tasks but not the manual email, shows the count, goes part-ticked, and clears on a filter change", async () => {
    const stamp = Date.now();
    const make = (last, type) =>
      makeTask(
        api,
        [{ type, wait_amount: 0, wait_unit: "minutes", ...(type === "manual_email" && { variants: [{ subject: "Hi", body: "Hello" }] }) }],
        { first_name: "Pick", last_name: `${last}${stamp}`, phone: "+1 555 0150", email: `${last.toLowerCase()}.${stamp}@pick.test` },
      );
    await make("Callone", "call");
    await make("Calltwo", "call");
    await make("Mailer", "manual_email");
    await page.goto(`${baseUrl}/tasks?who=all`);
    await rowOf(`Mailer${stamp}`).waitFor();

    const all = page.getByTestId("tasks-select-all");
    const boxes = page.getByTestId("task-list").getByTestId("task-select");
    const mailBox = rowOf(`Mailer${stamp}`).getByTestId("task-select");
    assert.match((await mailBox.getAttribute("title")) ?? "", /completed by sending it/);

    await all.check();
    // Every box on the page but the manual emails' is ticked, and the header and the bar say how many.
    const states = await boxes.evaluateAll((els) =>
      els.map((el) => ({ checked: el.checked, mail: /completed by sending it/.test(el.title) })),
    );
    const ticked = states.filter((s) => s.checked).length;
    assert.ok(ticked >= 2, `${ticked} ticked`);
    assert.ok(
      states.every((s) => s.checked === !s.mail),
      JSON.stringify(states),
    );
    assert.equal(await rowOf(`Callone${stamp}`).getByTestId("task-select").isChecked(), true);
    assert.equal(await rowOf(`Calltwo${stamp}`).getByTestId("task-select").isChecked(), true);
    assert.equal(await mailBox.isChecked(), false);
    assert.match(await page.getByTestId("tasks-select-all-row").textContent(), new RegExp(`\\b${ticked} selected`));
    assert.match(await page.getByTestId("tasks-bulk").textContent(), new RegExp(`\\b${ticked} selected`));

    // One unticked: the header is part-ticked; ticked again it is whole.
    await rowOf(`Callone${stamp}`).getByTestId("task-select").uncheck();
    assert.equal(await all.evaluate((el) => el.indeterminate), true);
    assert.equal(await all.isChecked(), false);
    await all.check();
    assert.equal(await all.evaluate((el) => el.indeterminate), false);
    assert.equal(await rowOf(`Callone${stamp}`).getByTestId("task-select").isChecked(), true);

    // Another filter lists other tasks: the ticks go, and stay gone coming back.
    await page.getByTestId("task-type-filter").selectOption("call");
    await page.waitForURL(/type=call/);
    await rowOf(`Callone${stamp}`).waitFor();
    assert.equal(await page.getByTestId("tasks-bulk").count(), 0);
    await page.getByTestId("task-type-filter").selectOption("");
    await rowOf(`Mailer${stamp}`).waitFor();
    assert.equal(await rowOf(`Callone${stamp}`).getByTestId("task-select").isChecked(), false);
    assert.equal(await rowOf(`Calltwo${stamp}`).getByTestId("task-select").isChecked(), false);
    assert.equal(await all.isChecked(), false);
    assert.equal(await page.getByTestId("tasks-bulk").count(), 0);
  });

  it("unticking the header clears the page's ticks, the manual email's too", async () => {
    await page.goto(`${baseUrl}/tasks?who=all`);
    const all = page.getByTestId("tasks-select-all");
    await all.waitFor();
    const mail = page.getByTestId("task-list").locator("li.task-row", { hasText: "Manual email" }).first();
    await mail.getByTestId("task-select").check();
    await all.check();
    await all.uncheck();
    assert.equal(
      await page
        .getByTestId("task-list")
        .getByTestId("task-select")
        .evaluateAll((els) => els.filter((e) => e.checked).length),
      0,
    );
    assert.equal(await page.getByTestId("tasks-bulk").count(), 0);
  });
});
