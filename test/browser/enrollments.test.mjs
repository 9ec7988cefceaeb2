// The contacts tab of a sequence (issue 12): pause a selection until a date (the row says until when),
// resume it, and restart a finished contact from step 1.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4 (seeded contacts)

describe("contacts in a sequence", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const table = () => page.getByTestId("enrollments-table");
  const firstRowCheck = () => table().locator("tbody tr").first().getByRole("checkbox");

  it("pauses a selected contact until a date, shows the date, then resumes it", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&sort=name`);
    await table().waitFor();
    const name = (await table().locator("tbody tr").first().locator(".cell-strong").textContent()).trim();
    await firstRowCheck().check();
    const day = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    await page.getByTestId("pause-until-date").fill(day);
    await page.getByRole("button", { name: "Pause until" }).click();
    await page.getByText(/1 contact paused until/).waitFor();

    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=paused&q=${encodeURIComponent(name)}`);
    const row = table().locator("tbody tr", { hasText: name });
    await row.getByTestId("paused-until").waitFor();
    assert.match(await row.getByTestId("paused-until").textContent(), /Paused until/);

    await row.getByRole("checkbox").check();
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await page.getByText(/1 contact resumed/).waitFor();
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&q=${encodeURIComponent(name)}`);
    await table().locator("tbody tr", { hasText: name }).waitFor();
  });

  it("resuming a finished contact says to restart it; Restart starts it again at step 1, and refuses one who unsubscribed or replied", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=finished`);
    await table().waitFor();
    // One who unsubscribed may not be emailed again: Restart says so and makes no new run.
    const gone = table().locator("tbody tr", { hasText: "Contact unsubscribed" }).first();
    const goneName = (await gone.locator(".cell-strong").textContent()).trim();
    await gone.getByRole("checkbox").check();
    await page.getByRole("button", { name: "Restart", exact: true }).click();
    await page.getByText(/0 contacts restarted/).waitFor();
    await page
      .getByText(/Contact unsubscribed: not restarted/)
      .first()
      .waitFor();
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&q=${encodeURIComponent(goneName)}`);
    await table()
      .or(page.getByText(/No contacts/i))
      .first()
      .waitFor();
    assert.equal(await table().locator("tbody tr", { hasText: goneName }).count(), 0);

    // One who replied is not restarted as if nothing had happened: the answer names why it finished.
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=finished&reason=replied`);
    await table().waitFor();
    const replied = table().locator("tbody tr", { hasText: "Contact replied" }).first();
    await replied.getByRole("checkbox").check();
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await page.getByText(/0 contacts resumed .*Already finished \(Contact replied\)/).waitFor();
    await replied.getByRole("checkbox").check();
    await page.getByRole("button", { name: "Restart", exact: true }).click();
    await page.getByText(/0 contacts restarted/).waitFor();
    await page
      .getByText(/Contact replied: not restarted/)
      .first()
      .waitFor();

    // One who went through every step can be restarted.
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=finished&reason=completed_all_steps`);
    await table().waitFor();
    const done = table().locator("tbody tr", { hasText: "Went through every step" }).first();
    const name = (await done.locator(".cell-strong").textContent()).trim();
    const rowOf = () => table().locator("tbody tr", { hasText: name });
    await rowOf().getByRole("checkbox").check();
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await page.getByText(/0 contacts resumed .*restart it/i).waitFor();
    await rowOf().getByRole("checkbox").check();
    await page.getByRole("button", { name: "Restart", exact: true }).click();
    await page.getByText(/1 contact restarted from step 1/).waitFor();
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&q=${encodeURIComponent(name)}`);
    const row = table().locator("tbody tr", { hasText: name });
    await row.waitFor();
    assert.match(await row.locator(".step-chip").textContent(), /Step 1/);
  });

  it("restarts a selection from a chosen step; the contact's timeline then says who restarted it", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&sort=name`);
    await table().waitFor();
    const row0 = table().locator("tbody tr").first();
    const name = (await row0.locator(".cell-strong").textContent()).trim();
    await firstRowCheck().check();
    await page.getByTestId("restart-step").selectOption("2");
    await page.getByTestId("restart-from-step").click();
    await page.getByText(/1 contact restarted from step 2/).waitFor();

    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&q=${encodeURIComponent(name)}`);
    const row = table().locator("tbody tr", { hasText: name });
    await row.waitFor();
    assert.match(await row.locator(".step-chip").textContent(), /Step 2/);
    await row.locator("a", { hasText: name }).first().click();
    const timeline = page.getByTestId("contact-timeline");
    await timeline.waitFor();
    const restarted = timeline.locator("li", { hasText: "Restarted" }).first();
    await restarted.waitFor();
    assert.match(await restarted.textContent(), /by /);
  });
});

describe("tasks: a call logged with its outcome and notes", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("logs a call on a call task; it leaves the list and its notes show on the contact's timeline", async () => {
    let found = false;
    for (const view of ["due_today", "overdue", "upcoming"]) {
      await page.goto(`${baseUrl}/tasks?who=all&view=${view}`);
      await page.getByRole("tablist").waitFor();
      await page.waitForLoadState("networkidle");
      if ((await page.getByTestId("log-call").count()) > 0) {
        found = true;
        break;
      }
    }
    assert.ok(found, "the demo has an open call task");
    const task = page.locator(".task-row", { has: page.getByTestId("log-call") }).first();
    const contactLink = task.locator(".task-title a").first();
    const href = await contactLink.getAttribute("href");
    await task.getByTestId("log-call").click();
    // The button turns into the form (only one form is open).
    const form = page.getByTestId("call-log-form");
    await form.locator("select[name=outcome]").selectOption("left_voicemail");
    await form.locator("textarea[name=notes]").fill("Left a message about the pilot");
    await form.getByRole("button", { name: "Log call and complete" }).click();
    await page.getByText(/Call logged/).waitFor();

    await page.goto(`${baseUrl}${href}`);
    const timeline = page.getByTestId("contact-timeline");
    await timeline.waitFor();
    const call = timeline.locator("li[data-kind=call]").first();
    await call.waitFor();
    assert.match(await call.textContent(), /Left a voicemail/);
    assert.match(await call.textContent(), /Left a message about the pilot/);
  });
});
