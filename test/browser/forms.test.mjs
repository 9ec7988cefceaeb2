// Forms speak to people: a refused form shows each field's problem next to that field, in words
// (never zod's raw text, never a bare "Some fields are invalid"), and a state change that can't
// happen (turning on a sequence with no steps) isn't offered.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const RAW = /Too small|Too big|Invalid input|expected string|>=|Some fields are invalid/;

describe("forms speak to people", () => {
  let browser;
  let page;
  const stamp = Date.now();

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  /** The message shown for the input labelled `label` inside `scope`: the element its aria-describedby names. */
  async function messageBeside(scope, input, errorId) {
    await page.locator(`#${errorId}`).waitFor();
    assert.equal(await input.getAttribute("aria-invalid"), "true", "the refused input is marked invalid");
    assert.match((await input.getAttribute("aria-describedby")) ?? "", new RegExp(errorId), "the input points at its message");
    const text = (await page.locator(`#${errorId}`).textContent())?.trim() ?? "";
    assert.doesNotMatch((await scope.textContent()) ?? "", RAW);
    return text;
  }

  it("a blank sequence name is refused next to the Name field, in words", async () => {
    await page.goto(`${baseUrl}/sequences`);
    await page.getByRole("button", { name: "New sequence" }).click();
    const dialog = page.getByRole("dialog", { name: "New sequence" });
    await dialog.getByLabel("Name").fill("   ");
    await dialog.getByRole("button", { name: "Create and add steps" }).click();
    assert.equal(await messageBeside(dialog, dialog.getByLabel("Name"), "new-seq-name-error"), "Name can't be empty");
    assert.equal(
      await page.locator("#new-seq-name").evaluate((el) => el === document.activeElement),
      true,
      "focus moves to the refused field",
    );
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });

  it("a sequence with no steps doesn't offer its on switch, and says why", async () => {
    await page.getByRole("button", { name: "New sequence" }).click();
    const dialog = page.getByRole("dialog", { name: "New sequence" });
    await dialog.getByLabel("Name").fill(`Forms ${stamp}`);
    await dialog.getByRole("button", { name: "Create and add steps" }).click();
    await page.waitForURL(/\/sequences\/[^/?]+$/);
    const sw = page.getByRole("switch", { name: "Active", exact: true });
    assert.equal(await sw.isDisabled(), true);
    assert.match((await page.getByTestId("sequence-active-why").textContent()) ?? "", /Add a step to turn it on/);
    assert.match((await sw.getAttribute("title")) ?? "", /Add a step before turning the sequence on/);
  });

  it("a wait longer than a year is refused next to the wait, in words", async () => {
    await page.getByRole("button", { name: "Add the first step" }).click();
    const dialog = page.getByRole("dialog", { name: "Add step 1" });
    await dialog.getByRole("radio", { name: /Phone call/ }).check();
    await dialog.getByRole("button", { name: "Add step" }).click();
    await dialog.waitFor({ state: "hidden" });
    const card = page.getByTestId("step-card").first();
    await card.getByRole("button", { name: /Edit/ }).click();
    const wait = card.getByLabel("Wait", { exact: true });
    await wait.fill("400");
    await card.getByRole("button", { name: "Save step" }).click();
    const errorId = await card.locator(".wait-row .field-error").getAttribute("id");
    assert.equal(await messageBeside(card, wait, errorId), "Wait can be at most 365 days (a year)");
    // Now that a step is on, the switch is offered.
    await card.getByRole("button", { name: "Discard" }).click();
    assert.equal(await page.getByRole("switch", { name: "Active", exact: true }).isDisabled(), false);
  });

  it("a blank sender name is refused next to the Sender name field, in words", async () => {
    await page.goto(`${baseUrl}/mailboxes`);
    await page.getByRole("button", { name: "Connect mailbox" }).click();
    const dialog = page.getByRole("dialog", { name: "Connect a mailbox" });
    await dialog.getByLabel("Email address").fill(`forms-${stamp}@demo.test`);
    await dialog.getByLabel("Sender name").fill("   ");
    await dialog.getByRole("button", { name: "Connect mailbox" }).click();
    assert.equal(await messageBeside(dialog, dialog.getByLabel("Sender name"), "mb-sender-error"), "Sender name can't be empty");
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });

  it("a blank schedule name is refused next to the Name field, in words", async () => {
    await page.goto(`${baseUrl}/settings?tab=schedules`);
    await page.getByRole("button", { name: "New schedule" }).click();
    const dialog = page.getByTestId("schedule-dialog");
    await dialog.getByLabel("Name").fill("  ");
    await dialog.getByRole("button", { name: "Create schedule" }).click();
    assert.equal(await messageBeside(dialog, dialog.getByLabel("Name"), "sched-name-error"), "Name can't be empty");
  });
});
