// The Tasks page: opening a task's form (Log call, Reschedule) puts the form on a full-width row of its own
// under the task, so the title and contact column keeps its width (inside the auto-width actions column
// the form squeezed that column to about 60px, one word per line, and 'Phone call' ran over the due time).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor as makeTask } from "./task-fixture.mjs";

describe("tasks: an open form keeps the row readable", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch({ width: 1280, height: 900 }));
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const api = (...args) => pageApi(page)(...args);
  const rowOf = (name) => page.getByTestId("task-list").locator("li.task-row", { hasText: name });
  const box = async (locator) => {
    const b = await locator.boundingBox();
    assert.ok(b, "the element is on screen");
    return b;
  };

  it("the call log form spans the row under the task; the title column keeps its width and overlaps nothing", async () => {
    const last = `Layout${Date.now()}`;
    await makeTask(api, [{ type: "call", wait_amount: 0, wait_unit: "minutes" }], {
      first_name: "Lena",
      last_name: last,
      title: "Head of Revenue Operations",
      company: "Widecorp International",
      phone: "+1 555 0110",
      email: `lena.${Date.now()}@widecorp.test`,
    });
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = rowOf(last);
    const main = row.locator(".task-main");
    const title = row.locator(".task-title");
    const before = await box(main);
    const titleBefore = await box(title);

    for (const [open, form] of [
      ["log-call", "call-log-form"],
      ["task-reschedule", "task-reschedule-form"],
      ["task-reassign", "task-reassign-form"],
    ]) {
      await row.getByTestId(open).click();
      const f = row.getByTestId(form);
      await f.waitFor();
      const m = await box(main);
      const t = await box(title);
      const due = await box(row.locator(".task-due"));
      const r = await box(row);
      const fb = await box(f);
      assert.ok(m.width >= before.width - 1, `${form}: the title column is ${m.width}px wide (was ${before.width}px)`);
      assert.ok(t.height <= titleBefore.height + 1, `${form}: the title wraps to ${t.height}px (was ${titleBefore.height}px)`);
      assert.ok(t.x + t.width <= due.x, `${form}: the title (to ${t.x + t.width}px) runs into the due time (from ${due.x}px)`);
      // Its own row: under the task's text, and most of the row's width.
      assert.ok(fb.y >= m.y + m.height - 1, `${form}: the form (at ${fb.y}px) is beside the task, not under it`);
      assert.ok(fb.width >= r.width * 0.6, `${form}: the form is ${fb.width}px of the row's ${r.width}px`);
      await f.getByRole("button", { name: "Cancel" }).click();
      await f.waitFor({ state: "detached" });
    }
  });
});
