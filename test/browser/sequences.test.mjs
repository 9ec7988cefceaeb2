// The sequence editor end to end: create a sequence, add email / call / same-thread steps, see an
// unknown template variable refused next to its field, and turn the sequence on.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("sequence editor", () => {
  let browser;
  let page;
  const name = `Browser test sequence ${Date.now()}`;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("creates a sequence from the list and opens its editor", async () => {
    await page.goto(`${baseUrl}/sequences`);
    await page.getByRole("button", { name: "New sequence" }).click();
    const dialog = page.getByRole("dialog", { name: "New sequence" });
    await dialog.getByLabel("Name").fill(name);
    assert.notEqual(await dialog.getByLabel("Sending schedule").inputValue(), "", "the default schedule is preselected");
    // Without one of its own, a sequence follows the team default: never "send any time" while a default exists.
    assert.equal(await dialog.locator("#new-seq-schedule option[value='']").textContent(), "None of its own (follows the team default)");
    await dialog.getByRole("button", { name: "Create and add steps" }).click();
    await page.waitForURL(/\/sequences\/[^/?]+$/);
    assert.equal(await page.getByTestId("sequence-name").textContent(), name);
    assert.equal(
      await page.getByRole("switch", { name: "Active", exact: true }).getAttribute("aria-checked"),
      "false",
      "new sequences start off",
    );
    assert.match((await page.locator("#seq-schedule option[value='']").textContent()) ?? "", /^Team default \(.+\)$/);
  });

  it("adds an automatic email, a call after 2 days and a same-thread reply, listed in order", async () => {
    await page.getByRole("button", { name: "Add the first step" }).click();
    let dialog = page.getByRole("dialog", { name: "Add step 1" });
    await dialog.getByRole("radio", { name: /Automatic email/ }).check();
    await dialog.getByLabel("Subject", { exact: true }).fill("Quick question, {{first_name}}");
    await dialog.getByLabel("Body", { exact: true }).fill("Hi {{first_name}},\n\nWorth a short call about {{company|your team}}?");
    await dialog.getByRole("button", { name: "Add step" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByTestId("step-card").first().waitFor();

    await page.getByRole("button", { name: "Add step", exact: true }).click();
    dialog = page.getByRole("dialog", { name: "Add step 2" });
    await dialog.getByRole("radio", { name: /Phone call/ }).check();
    await dialog.getByLabel("Wait amount").fill("2");
    await dialog.getByLabel("Wait unit").selectOption("days");
    await dialog.getByLabel("Instructions").fill("Ask about their outbound plans.");
    await dialog.getByRole("button", { name: "Add step" }).click();
    await dialog.waitFor({ state: "hidden" });

    await page.getByRole("button", { name: "Add step", exact: true }).click();
    dialog = page.getByRole("dialog", { name: "Add step 3" });
    await dialog.getByRole("radio", { name: /Automatic email/ }).check();
    await dialog.getByLabel(/Reply in the same thread/).check();
    assert.ok(await dialog.getByLabel("Subject", { exact: true }).isDisabled(), "a same-thread reply has no subject of its own");
    await dialog.getByLabel("Body", { exact: true }).fill("Following up, {{first_name|there}}. Did you see my note?");
    await dialog.getByRole("button", { name: "Add step" }).click();
    await dialog.waitFor({ state: "hidden" });

    const cards = page.getByTestId("step-card");
    await cards.nth(2).waitFor();
    assert.equal(await cards.count(), 3);
    const types = await cards.evaluateAll((els) => els.map((e) => e.getAttribute("data-step-type")));
    assert.deepEqual(types, ["auto_email", "call", "auto_email"]);
    assert.match((await cards.nth(0).textContent()) ?? "", /Step 1\s*Automatic email/);
    assert.match((await cards.nth(1).textContent()) ?? "", /Step 2\s*Phone call/);
    assert.match((await cards.nth(1).textContent()) ?? "", /Day 3/);
    assert.match((await cards.nth(2).textContent()) ?? "", /Replies in the same thread/);
    assert.match((await page.locator(".step-wait").nth(1).textContent()) ?? "", /Wait 2 days/);
    // A step turned off is skipped with its wait (as the engine does): the reply then runs on day 1 plus its own wait.
    const dayOf = async (i) => /Day (\d+)/.exec((await cards.nth(i).textContent()) ?? "")?.[1];
    const before = Number(await dayOf(2));
    const stepOn = page.getByRole("switch", { name: "Step 2 on" });
    await stepOn.click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="step-card"].step-off').length === 1);
    assert.equal(Number(await dayOf(2)), before - 2);
    await stepOn.click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="step-card"].step-off').length === 0);
    assert.equal(Number(await dayOf(2)), before);
  });

  it("shows the API's error next to the field for an unknown variable", async () => {
    await page.getByRole("button", { name: "Add step", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Add step 4" });
    await dialog.getByLabel("Subject", { exact: true }).fill("One more thing");
    await dialog.getByLabel("Body", { exact: true }).fill("Hi {{first_name}}, what's your {{favorite_color}}?");
    await dialog.getByRole("button", { name: "Add step" }).click();
    const error = dialog.locator("#add-step-body-error");
    await error.waitFor();
    assert.match((await error.textContent()) ?? "", /Unknown variable \{\{favorite_color\}\}/);
    assert.equal(await dialog.getByLabel("Body", { exact: true }).getAttribute("aria-invalid"), "true");
    assert.equal(await dialog.locator("#add-step-subject-error").count(), 0, "the subject was fine");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal(await page.getByTestId("step-card").count(), 3, "nothing was added");
  });

  it("shows the field error when editing a saved step too", async () => {
    const first = page.getByTestId("step-card").first();
    await first.getByRole("button", { name: /Edit step 1/ }).click();
    await first.getByLabel("Body", { exact: true }).fill("Hi {{favorite_color}}");
    await first.getByRole("button", { name: "Save step" }).click();
    await first.getByText("Unknown variable {{favorite_color}}").waitFor();
    await first.getByRole("button", { name: "Discard" }).click();
    assert.match((await first.textContent()) ?? "", /Worth a short call/);
  });

  it("turns the sequence on, and it stays on", async () => {
    const toggle = page.getByRole("switch", { name: "Active", exact: true });
    await toggle.click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="sequence-active"]')?.getAttribute("aria-checked") === "true" &&
        !document.querySelector('[data-testid="sequence-active"]')?.hasAttribute("aria-busy"),
    );
    await page.reload();
    assert.equal(await page.getByRole("switch", { name: "Active", exact: true }).getAttribute("aria-checked"), "true");

    await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent(name)}`);
    const listToggle = page.getByRole("switch", { name: `${name} active` });
    assert.equal(await listToggle.getAttribute("aria-checked"), "true");
    assert.match((await page.locator("tr", { hasText: name }).textContent()) ?? "", /Active/);
  });

  it("saves a step naming a custom field no contact has, and says so on the step", async () => {
    await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent(name)}`);
    await page.getByRole("link", { name }).click();
    await page.waitForURL(/\/sequences\/[^/?]+$/);
    const first = page.getByTestId("step-card").first();
    await first.getByRole("button", { name: /Edit step 1/ }).click();
    await first.getByLabel("Body", { exact: true }).fill("Hi {{custom.compnay|there}}, worth a short call?");
    await first.getByRole("button", { name: "Save step" }).click();
    await first
      .getByTestId("step-warnings")
      .getByText(/No contact has the custom field “compnay” yet/)
      .waitFor();
    assert.match((await first.textContent()) ?? "", /custom\.compnay/, "saved anyway");
  });

  it("the team's default schedule offers no Delete, and its form says how the default changes", async () => {
    await page.goto(`${baseUrl}/settings?tab=schedules`);
    const row = page.getByTestId("schedule-row").filter({ hasText: "Default" });
    await row.first().waitFor();
    assert.equal(await row.getByRole("button", { name: /^Delete schedule/ }).count(), 0, "no Delete on the default");
    assert.match((await row.textContent()) ?? "", /Default: can't be deleted/);
    await row.getByRole("button", { name: /^Edit schedule/ }).click();
    const dialog = page.getByTestId("schedule-dialog");
    const box = dialog.getByRole("checkbox", { name: /Team default/ });
    assert.equal(await box.isChecked(), true);
    assert.equal(await box.isDisabled(), true, "the default is handed on, not switched off");
    await dialog.getByText("To change the default, make another schedule the default.").waitFor();
  });
});
