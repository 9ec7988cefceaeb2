// A call step's note on the Tasks page and the contact's timeline reads as its contact's values ("Call Nora about
// Notewell"), not "{{first_name}}"; and the step editor refuses an unknown variable in a note on the note itself.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor } from "./task-fixture.mjs";

describe("a task step's note with variables", () => {
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

  it("shows the contact's values on the task and the timeline, and the editor refuses an unknown variable on the note", async () => {
    const stamp = Date.now();
    const { task, sequence, contact } = await taskFor(
      api,
      [
        {
          type: "call",
          wait_amount: 0,
          wait_unit: "minutes",
          note: "Call {{first_name}} about {{company}} ({{title|their role}}) {{city}}",
        },
      ],
      { first_name: "Nora", last_name: `Notes${stamp}`, company: "Notewell", email: `nora.${stamp}@notes.test` },
    );
    const rendered = "Call Nora about Notewell (their role) [city missing]";
    assert.equal(task.note, rendered);

    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = page.getByTestId("task-list").locator("li.task-row", { hasText: `Notes${stamp}` });
    await row.locator(".task-note").getByText(rendered, { exact: true }).waitFor();

    await page.goto(`${baseUrl}/contacts/${contact.id}`);
    await page.getByText(rendered, { exact: true }).first().waitFor();
    assert.equal(await page.getByText("{{first_name}}").count(), 0);

    // The editor: the note's help says what happens, and an unknown variable is refused on the note field.
    await page.goto(`${baseUrl}/sequences/${sequence.id}`);
    const card = page.getByTestId("step-card").first();
    await card.getByRole("button", { name: /Edit step 1/ }).click();
    const note = card.getByLabel("Instructions for whoever does this");
    await card.getByText(/shows as “\[company missing\]”/).waitFor();
    await note.fill("Call {{firstname}}");
    await card.getByRole("button", { name: "Save step" }).click();
    await card.getByText("Unknown variable {{firstname}}: did you mean {{first_name}}?").waitFor();
    assert.equal(await note.getAttribute("aria-invalid"), "true");
    const steps = (await api("GET", `/sequences/${sequence.id}`)).body.sequence.steps;
    assert.equal(steps[0].note, "Call {{first_name}} about {{company}} ({{title|their role}}) {{city}}");

    // Adding a step: a call's instructions say the same; a manual email says how the rep sends it (from the Tasks page).
    await page.getByRole("button", { name: "Add step", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: /Add step 2/ });
    await dialog.getByRole("radio", { name: /Phone call/ }).check();
    await dialog.getByText(/filled in with each contact's values on their task/).waitFor();
    await dialog.getByRole("radio", { name: /Manual email/ }).check();
    await dialog.getByText(/sends it with Edit and send, from the mailbox the contact is sent from, or marks it sent/).waitFor();
  });
});
