// The Tasks page's header box ticks every task on the page you can work, manual emails too (Skip takes them all);
// the bar then says, before Complete is clicked, which of them Complete leaves open (a manual email is completed by
// sending it), and Complete does just that. The box is part-ticked when some are, counts them, and a filter change
// clears the ticks.
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

  it("ticks every workable task, the manual email too, says which Complete leaves open, and clears on a filter change", async () => {
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
    assert.match((await mailBox.getAttribute("title")) ?? "", /sent, or marked sent, on its own row/);
    // What "marked sent" is: the manual email's own row offers it (its Complete sends nothing), where a call says Complete.
    const mailRow = rowOf(`Mailer${stamp}`);
    assert.equal(
      ((await mailRow.getByRole("button", { name: /^Mark the email to .* sent \(you sent it yourself\)$/ }).textContent()) ?? "").trim(),
      "Mark sent",
    );
    assert.equal(await mailRow.getByRole("button", { name: /^Complete / }).count(), 0);
    assert.equal(
      await rowOf(`Callone${stamp}`)
        .getByRole("button", { name: /^Complete call with / })
        .count(),
      1,
    );

    await all.check();
    // Every box on the page is ticked, the manual emails' too, and the header and the bar say how many.
    const states = await boxes.evaluateAll((els) =>
      els.map((el) => ({ checked: el.checked, mail: /sent, or marked sent, on its own row/.test(el.title) })),
    );
    const ticked = states.filter((s) => s.checked).length;
    const mails = states.filter((s) => s.mail).length;
    assert.ok(ticked >= 3, `${ticked} ticked`);
    assert.ok(mails >= 1, `${mails} manual emails`);
    assert.ok(
      states.every((s) => s.checked),
      JSON.stringify(states),
    );
    assert.equal(await mailBox.isChecked(), true);
    assert.match(await page.getByTestId("tasks-select-all-row").textContent(), new RegExp(`\\b${ticked} selected`));
    assert.match(await page.getByTestId("tasks-bulk").textContent(), new RegExp(`\\b${ticked} selected`));
    // The bar says what Complete would leave: the manual emails, counted.
    const note = page.getByTestId("tasks-bulk-note");
    assert.equal(
      await note.textContent(),
      `Complete finishes ${ticked - mails} and leaves the ${mails === 1 ? "manual email" : `${mails} manual emails`} open: ${mails === 1 ? "it is" : "each is"} sent, or marked sent, on its own row. Skip skips all ${ticked}.`,
    );

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

  it("what the bar says Complete leaves open is what it leaves: the calls are completed, the manual email stays for Skip", async () => {
    const stamp = Date.now();
    const made = {};
    for (const [last, type] of [
      ["Callone", "call"],
      ["Calltwo", "call"],
      ["Mailer", "manual_email"],
    ])
      made[last] = await makeTask(
        api,
        [{ type, wait_amount: 0, wait_unit: "minutes", ...(type === "manual_email" && { variants: [{ subject: "Hi", body: "Hello" }] }) }],
        { first_name: "Said", last_name: `${last}${stamp}`, phone: "+1 555 0151", email: `${last.toLowerCase()}.${stamp}@said.test` },
      );
    const statusOf = async (id) =>
      [
        ...(await api("GET", "/tasks?view=open&assignee=all&per_page=100")).body.tasks,
        ...(await api("GET", "/tasks?view=done&assignee=all&per_page=100")).body.tasks,
      ].find((t) => t.id === id)?.status;
    await page.goto(`${baseUrl}/tasks?who=all`);
    for (const last of ["Callone", "Calltwo", "Mailer"]) await rowOf(`${last}${stamp}`).getByTestId("task-select").check();
    const bar = page.getByTestId("tasks-bulk");
    const note = page.getByTestId("tasks-bulk-note");
    assert.equal(
      await note.textContent(),
      "Complete finishes 2 and leaves the manual email open: it is sent, or marked sent, on its own row. Skip skips all 3.",
    );

    await bar.getByRole("button", { name: "Complete" }).click();
    await rowOf(`Callone${stamp}`).waitFor({ state: "detached" });
    await rowOf(`Calltwo${stamp}`).waitFor({ state: "detached" });
    assert.equal(await statusOf(made.Callone.task.id), "completed");
    assert.equal(await statusOf(made.Calltwo.task.id), "completed");
    assert.equal(await statusOf(made.Mailer.task.id), "open");
    // Left open and ticked, as said; Complete can't take it now, and says so.
    assert.equal(await rowOf(`Mailer${stamp}`).getByTestId("task-select").isChecked(), true);
    assert.equal(await note.textContent(), "A manual email is sent, or marked sent, on its own row, so Complete can't take it: Skip can.");
    assert.equal(await bar.getByRole("button", { name: "Complete" }).isDisabled(), true);

    await bar.getByRole("button", { name: "Skip" }).click();
    await rowOf(`Mailer${stamp}`).waitFor({ state: "detached" });
    assert.equal(await statusOf(made.Mailer.task.id), "skipped");
    assert.equal(await bar.count(), 0);
  });
});
