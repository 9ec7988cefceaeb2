// The Tasks page's Type and Sequence filters: kept in the URL (a reload keeps them), the list and the
// tabs' counts are those of the filtered queue.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, number, pageApi, signIn } from "./helpers.mjs";
import { taskFor as makeTask } from "./task-fixture.mjs";

describe("tasks: filters", () => {
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

  it("filters by type and by sequence, in the URL, with counts of what is listed", async () => {
    const stamp = Date.now();
    const caller = await makeTask(api, [{ type: "call", wait_amount: 0, wait_unit: "minutes" }], {
      first_name: "Fil",
      last_name: `Caller${stamp}`,
      phone: "+1 555 0130",
      email: `fil.caller.${stamp}@filters.test`,
    });
    const todo = await makeTask(api, [{ type: "task", wait_amount: 0, wait_unit: "minutes" }], {
      first_name: "Fil",
      last_name: `Todo${stamp}`,
      email: `fil.todo.${stamp}@filters.test`,
    });
    await page.goto(`${baseUrl}/tasks?who=all`);
    await rowOf(`Todo${stamp}`).waitFor();
    const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    const countsOf = async (q) =>
      (await api("GET", `/tasks?view=due_today&assignee=all&per_page=1&time_zone=${encodeURIComponent(zone)}${q}`)).body.counts;
    const dueTab = page.getByRole("tab", { name: /^Due today/ });

    await page.getByTestId("task-type-filter").selectOption("call");
    await page.waitForURL((u) => u.searchParams.get("type") === "call");
    await rowOf(`Todo${stamp}`).waitFor({ state: "detached" });
    await rowOf(`Caller${stamp}`).waitFor();
    const calls = await countsOf("&type=call");
    const every = await countsOf("");
    assert.ok(calls.due_today < every.due_today, "the filter leaves some tasks out");
    await page.waitForFunction(
      ([n]) => document.querySelector('[role="tab"][aria-selected="true"]')?.textContent?.replace(/[^\d]/g, "") === String(n),
      [calls.due_today],
    );
    assert.equal(await number(dueTab), calls.due_today);
    for (const type of await page.getByTestId("task-list").locator("li.task-row .task-title > strong:first-child").allTextContents())
      assert.match(type, /call/i);

    // The to-do's sequence with Calls: nothing; the reload keeps both filters.
    await page.getByTestId("task-sequence-filter").selectOption(todo.sequence.id);
    await page.waitForURL((u) => u.searchParams.get("sequence_id") === todo.sequence.id && u.searchParams.get("type") === "call");
    await page.getByText("Only tasks of the type and sequence chosen above are listed.").waitFor();
    await page.reload();
    await page.getByText("Only tasks of the type and sequence chosen above are listed.").waitFor();
    assert.equal(await page.getByTestId("task-type-filter").inputValue(), "call");
    assert.equal(await page.getByTestId("task-sequence-filter").inputValue(), todo.sequence.id);
    assert.equal(await number(dueTab), 0);

    // All types: the sequence's to-do, and only it.
    await page.getByTestId("task-type-filter").selectOption("");
    await page.waitForURL((u) => !u.searchParams.has("type"));
    await rowOf(`Todo${stamp}`).waitFor();
    assert.equal(await page.getByTestId("task-list").locator("li.task-row").count(), 1);
    assert.equal(await rowOf(`Caller${stamp}`).count(), 0);
    assert.equal(caller.sequence.id === todo.sequence.id, false);
  });
});
