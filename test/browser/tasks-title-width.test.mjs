// The Tasks page at 1280px: the title and contact column has the room (the due time is narrow and the
// actions wrap onto a second line), where four buttons on one line left it about 200px, a company a line.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor as makeTask } from "./task-fixture.mjs";

describe("tasks: the title column's width", () => {
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

  it("a call's title column is at least 360px wide at 1280px and its title and company fit on one line each", async () => {
    const last = `Wide${Date.now()}`;
    await makeTask(api, [{ type: "call", wait_amount: 0, wait_unit: "minutes" }], {
      first_name: "Mira",
      last_name: last,
      title: "Head of Revenue Operations",
      company: "Widecorp International",
      phone: "+1 555 0111",
      email: `mira.${Date.now()}@widecorp.test`,
    });
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = page.getByTestId("task-list").locator("li.task-row", { hasText: last });
    await row.waitFor();
    const main = await row.locator(".task-main").boundingBox();
    const title = await row.locator(".task-title").boundingBox();
    const due = await row.locator(".task-due").boundingBox();
    const actions = await row.locator(".task-actions").boundingBox();
    assert.ok(main && title && due && actions);
    assert.ok(main.width >= 360, `the title column is ${main.width}px wide`);
    // One line: "Phone call with Mira Wide…" and the contact's title at company.
    assert.ok(title.height <= 26, `the title wraps to ${title.height}px`);
    assert.ok(main.x + main.width <= due.x, "the title column runs into the due time");
    assert.ok(due.x + due.width <= actions.x, "the due time runs into the actions");
    const row_ = await row.boundingBox();
    assert.ok(actions.x + actions.width <= row_.x + row_.width + 1, "the actions stay inside the row");
  });
});
