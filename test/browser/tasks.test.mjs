// The Tasks page: a manual email's task shows the draft written for its contact (copy it, or open it in
// the mail app prefilled), and the call log's outcomes do what they say.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor as makeTask } from "./task-fixture.mjs";

describe("tasks", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseUrl });
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const api = (...args) => pageApi(page)(...args);

  const rowOf = (name) => page.getByTestId("task-list").locator("li.task-row", { hasText: name });

  it("shows a manual email's draft for its contact, with Copy buttons and a prefilled mail link", async () => {
    const { sequence } = await makeTask(
      api,
      [
        {
          type: "manual_email",
          wait_amount: 0,
          wait_unit: "minutes",
          variants: [{ subject: "Pricing for {{company}}", body: "Hi {{first_name}},\n\nA question about {{company}}: {{title}}" }],
        },
      ],
      { first_name: "Dana", last_name: "Draftwell", company: "Brightwave", email: `dana.${Date.now()}@brightwave.test` },
    );
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = rowOf("Dana Draftwell");
    await row.getByTestId("task-draft").waitFor();
    assert.equal(await row.getByTestId("draft-subject").textContent(), "Pricing for Brightwave");
    assert.equal(await row.getByTestId("draft-body").innerText(), "Hi Dana,\n\nA question about Brightwave: ");
    assert.match(await row.getByTestId("draft-missing").textContent(), /No value for \{\{title\}\}/);
    const href = await row.getByTestId("draft-mailto").getAttribute("href");
    const link = new URL(href);
    assert.equal(link.searchParams.get("subject"), "Pricing for Brightwave");
    assert.equal(link.searchParams.get("body"), "Hi Dana,\r\n\r\nA question about Brightwave: ");
    assert.equal(await row.getByTestId("draft-too-long").count(), 0);
    // No second, bare mail link beside the prefilled one.
    assert.equal(await row.locator('.quick-links a[href^="mailto:"]').count(), 0);

    await row.getByTestId("copy-body").click();
    await row.getByTestId("copy-body").getByText("Copied").waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "Hi Dana,\n\nA question about Brightwave: ");
    await row.getByTestId("copy-subject").click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "Pricing for Brightwave");

    // A body too long for a mail link: the link fills in the subject only, and says so.
    const step = sequence.steps[0];
    const long = `Hi {{first_name}},\n\n${"We help teams like yours ship faster. ".repeat(80)}`;
    assert.equal(
      (await api("PATCH", `/sequences/${sequence.id}/steps/${step.id}/variants/${step.variants[0].id}`, { body: long })).status,
      200,
    );
    await page.reload();
    await row.getByTestId("draft-too-long").waitFor();
    const short = new URL(await row.getByTestId("draft-mailto").getAttribute("href"));
    assert.equal(short.searchParams.get("subject"), "Pricing for Brightwave");
    assert.equal(short.searchParams.get("body"), null);
    assert.match(await row.getByTestId("draft-body").innerText(), /^Hi Dana,\n\nWe help teams like yours/);
  });

  it("a call logged with the task kept open leaves it open; a meeting booked takes the contact out of the sequence, and says so", async () => {
    const { task, sequence, contact } = await makeTask(
      api,
      [
        { type: "call", wait_amount: 0, wait_unit: "minutes", note: "Ask about the pilot" },
        { type: "auto_email", wait_amount: 1, wait_unit: "days", variants: [{ subject: "Next", body: "Hi" }] },
      ],
      { first_name: "Cal", last_name: "Outcomes", company: "Ringo", phone: "+1 555 0100", email: `cal.${Date.now()}@ringo.test` },
    );
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = rowOf("Cal Outcomes");
    await row.getByTestId("log-call").click();
    const form = row.getByTestId("call-log-form");
    const keepOpen = form.getByRole("button", { name: "Log call, keep the task open" });
    await form.locator('select[name="outcome"]').selectOption("not_interested");
    assert.match(await form.getByTestId("call-ends-run").textContent(), /Takes Cal Outcomes out of the sequence/);
    assert.equal(await keepOpen.isDisabled(), true);

    await form.locator('select[name="outcome"]').selectOption("no_answer");
    assert.equal(await form.getByTestId("call-ends-run").count(), 0);
    await keepOpen.click();
    await page.getByRole("status").filter({ hasText: "Call logged: the task stays open" }).waitFor();
    await row.getByTestId("log-call").waitFor();
    assert.equal((await api("GET", "/tasks?view=open&assignee=all&per_page=100")).body.tasks.find((t) => t.id === task.id)?.status, "open");

    await row.getByTestId("log-call").click();
    await form.locator('select[name="outcome"]').selectOption("meeting_booked");
    await form.getByRole("button", { name: "Log call and complete" }).click();
    await page.getByRole("status").filter({ hasText: "meeting booked with Cal Outcomes, who leaves the sequence" }).waitFor();
    await row.waitFor({ state: "detached" });
    const { enrollments } = (await api("GET", `/sequences/${sequence.id}/enrollments?status=all`)).body;
    assert.deepEqual(
      enrollments.filter((e) => e.contact.id === contact.id).map((e) => [e.status, e.reason]),
      [["finished", "meeting_booked"]],
    );
  });

  it("a task of a paused run says it is paused", async () => {
    const { sequence, contact } = await makeTask(api, [{ type: "call", wait_amount: 0, wait_unit: "minutes" }], {
      first_name: "Pia",
      last_name: "Paused",
      company: "Holdco",
      phone: "+1 555 0101",
      email: `pia.${Date.now()}@holdco.test`,
    });
    const { enrollments } = (await api("GET", `/sequences/${sequence.id}/enrollments?status=all`)).body;
    const run = enrollments.find((e) => e.contact.id === contact.id);
    assert.equal((await api("POST", `/sequences/${sequence.id}/enrollments/pause`, { enrollment_ids: [run.id] })).status, 200);
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = rowOf("Pia Paused");
    await row.getByTestId("task-run-paused").waitFor();
    assert.match(await row.getByTestId("task-run-paused").textContent(), /Paused in the sequence/);
    assert.equal(await rowOf("Cal Outcomes").count(), 0);
  });

  it("the sidebar's Tasks badge counts the tasks due today and the overdue ones", async () => {
    await page.goto(`${baseUrl}/tasks`);
    const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    const { counts } = (await api("GET", `/tasks?view=due_today&assignee=me&per_page=1&time_zone=${encodeURIComponent(zone)}`)).body;
    assert.ok(counts.overdue > 0, "the demo user has overdue tasks");
    const badge = page.getByRole("navigation", { name: "Main" }).getByTestId("tasks-due-badge");
    await badge.waitFor();
    assert.equal(Number((await badge.textContent()).replace(/[^\d]/g, "")), counts.due_today + counts.overdue);
    assert.match(await badge.getAttribute("title"), /due today or overdue/);
  });
});
