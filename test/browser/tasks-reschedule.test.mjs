// The Tasks page: a task can be rescheduled (and a call to call back later asks when), and the
// Mine / Everyone choice is a radio group the arrow keys move.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor as makeTask } from "./task-fixture.mjs";

describe("tasks: reschedule, call back later, whose tasks", () => {
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
  /** A datetime-local value `days` from now at 09:30 in the browser's zone, and the instant it means. */
  const localAt = (days) => {
    const d = new Date(Date.now() + days * 86_400_000);
    d.setHours(9, 30, 0, 0);
    const p = (n) => String(n).padStart(2, "0");
    return {
      value: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`,
      ms: d.getTime(),
    };
  };
  const taskNow = async (id) => (await api("GET", "/tasks?view=open&assignee=all&per_page=100")).body.tasks.find((t) => t.id === id);

  it("reschedules a task to the date and time chosen", async () => {
    const name = `Rhea Resched${Date.now()}`;
    const [first, last] = name.split(" ");
    const { task } = await makeTask(api, [{ type: "task", wait_amount: 0, wait_unit: "minutes" }], {
      first_name: first,
      last_name: last,
      email: `rhea.${Date.now()}@resched.test`,
    });
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = rowOf(last);
    await row.getByTestId("task-reschedule").click();
    const at = localAt(3);
    await row.getByTestId("task-due-input").fill(at.value);
    await row.getByRole("button", { name: "Save new time" }).click();
    await page.getByRole("status").filter({ hasText: "Rescheduled: due" }).waitFor();
    const now = await taskNow(task.id);
    assert.equal(now.due_at, at.ms);
    assert.equal(now.status, "open");
    // Three days out, it is no longer due today: it is listed under Upcoming.
    await row.waitFor({ state: "detached" });
    await page.goto(`${baseUrl}/tasks?who=all&view=upcoming`);
    await rowOf(last).waitFor();
  });

  it("asks when to call back for 'Call back later', and keeps the call open until then", async () => {
    const name = `Cole Callback${Date.now()}`;
    const [first, last] = name.split(" ");
    const { task } = await makeTask(api, [{ type: "call", wait_amount: 0, wait_unit: "minutes" }], {
      first_name: first,
      last_name: last,
      email: `cole.${Date.now()}@callback.test`,
      phone: "+1 555 0100",
    });
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = rowOf(last);
    await row.getByTestId("log-call").click();
    const form = row.getByTestId("call-log-form");
    await form.locator('select[name="outcome"]').selectOption("call_back_later");
    const at = localAt(2);
    await form.getByTestId("call-back-at").fill(at.value);
    // One request logs the call and moves the task (a second one that failed left the call logged, the task unmoved).
    const writes = [];
    const onRequest = (r) =>
      r.method() !== "GET" && r.url().includes(`/api/tasks/${task.id}`) && writes.push(`${r.method()} ${new URL(r.url()).pathname}`);
    page.on("request", onRequest);
    await form.getByRole("button", { name: "Log call and call back then" }).click();
    await page.getByRole("status").filter({ hasText: "The call is due again" }).waitFor();
    page.off("request", onRequest);
    assert.deepEqual(writes, [`POST /api/tasks/${task.id}/call`]);
    const now = await taskNow(task.id);
    assert.equal(now.status, "open");
    assert.equal(now.due_at, at.ms);
  });

  it("moves between Mine and Everyone with the arrow keys, one tab stop", async () => {
    await page.goto(`${baseUrl}/tasks`);
    const group = page.getByRole("radiogroup", { name: "Whose tasks" });
    const mine = group.getByRole("radio", { name: "Mine" });
    const everyone = group.getByRole("radio", { name: "Everyone" });
    assert.equal(await mine.getAttribute("aria-checked"), "true");
    assert.equal(await everyone.getAttribute("tabindex"), "-1");
    await mine.focus();
    await page.keyboard.press("ArrowRight");
    await page.waitForURL(/who=all/);
    assert.equal(await everyone.getAttribute("aria-checked"), "true");
    assert.equal(await everyone.evaluate((el) => el === document.activeElement), true);
    await page.keyboard.press("ArrowLeft");
    await page.waitForURL((u) => !u.search.includes("who=all"));
    assert.equal(await mine.getAttribute("aria-checked"), "true");
  });
});
