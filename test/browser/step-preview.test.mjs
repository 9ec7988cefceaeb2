// The sequence editor's step preview: an email step seen as a chosen contact of the team (their fields filled
// in), and a test of it sent to yourself, with the editor saying where it went.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("previewing a step as a contact", () => {
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

  it("shows the email with the contact's first name, and sends a test to me from the chosen mailbox", async () => {
    const api = pageApi(page);
    const contact = await api("POST", "/contacts", {
      first_name: "Previewina",
      last_name: `Step ${stamp}`,
      email: `previewina.${stamp}@example.test`,
      company: "Glasshouse",
    });
    assert.equal(contact.status, 201, JSON.stringify(contact.body));
    // A mailbox of this test's own: a test email counts against its mailbox's 10 an hour.
    const mailboxEmail = `preview-${stamp}@sender.test`;
    const mailbox = await api("POST", "/mailboxes", { email: mailboxEmail, sender_name: "Preview Sender", signature: "Cheers, Preview" });
    assert.equal(mailbox.status, 201, JSON.stringify(mailbox.body));
    const seq = await api("POST", "/sequences", { name: `Step preview ${stamp}` });
    assert.equal(seq.status, 201, JSON.stringify(seq.body));
    const sequenceId = seq.body.sequence.id;
    const step = await api("POST", `/sequences/${sequenceId}/steps`, {
      type: "auto_email",
      variants: [{ subject: "A note for {{company}}", body: "Hi {{first_name}}, a quick question about {{company}}." }],
    });
    assert.equal(step.status, 201, JSON.stringify(step.body));

    await page.goto(`${baseUrl}/sequences/${sequenceId}`);
    await page.getByRole("button", { name: "Preview step 1" }).click();
    const dialog = page.getByTestId("step-preview-dialog");
    await dialog.getByRole("searchbox", { name: "Search the team's contacts" }).fill("Previewina");
    const picker = dialog.getByTestId("step-preview-contact");
    await picker.locator(`option[value="${contact.body.contact.id}"]`).waitFor({ state: "attached" });
    await picker.selectOption(contact.body.contact.id);
    await dialog.getByTestId("step-preview-mailbox").selectOption(mailbox.body.mailbox.id);

    const body = dialog.getByTestId("step-preview-body");
    await body.getByText(/^Hi Previewina, a quick question about Glasshouse\./).waitFor();
    assert.match((await body.textContent()) ?? "", /Cheers, Preview/);
    assert.equal(await dialog.getByTestId("step-preview-subject").textContent(), "A note for Glasshouse");
    assert.equal(await dialog.getByTestId("step-preview-to").textContent(), `previewina.${stamp}@example.test`);
    // A new search that leaves her out: the picker still names whom the preview is of (it showed the first found).
    await dialog.getByRole("searchbox", { name: "Search the team's contacts" }).fill("zzz-nobody-matches");
    await picker
      .getByText("No contact found")
      .waitFor({ state: "detached" })
      .catch(() => {});
    await page.waitForTimeout(800);
    assert.equal(await picker.inputValue(), contact.body.contact.id);
    assert.match((await picker.locator("option:checked").textContent()) ?? "", /Previewina/);

    await dialog.getByRole("button", { name: "Send test to admin@demo.test" }).click();
    await dialog.getByTestId("step-test-result").getByText(`Sent to you (admin@demo.test) from ${mailboxEmail}`).waitFor();
    // It went to me, recorded as a test email of the mailbox, and the contact got nothing.
    const sent = await page.evaluate(async (id) => (await fetch(`/api/messages?mailbox_id=${id}`)).json(), mailbox.body.mailbox.id);
    const rows = sent.messages ?? [];
    assert.deepEqual(
      rows.map((m) => [m.to_email ?? m.to, m.subject]),
      [["admin@demo.test", "A note for Glasshouse"]],
      JSON.stringify(sent).slice(0, 500),
    );

    // Unsaved edits: Preview waits for the save (it composes the step as saved, and would show the old text).
    await dialog.getByRole("button", { name: "Close" }).first().click();
    const card = page.getByTestId("step-card").first();
    await card.getByRole("button", { name: /Edit step 1/ }).click();
    await card.getByLabel("Body", { exact: true }).fill("A new text, not saved yet");
    const preview = page.getByRole("button", { name: "Preview step 1" });
    assert.equal(await preview.isDisabled(), true);
    assert.equal(await preview.getAttribute("title"), "Save the step to preview it");
  });
});
