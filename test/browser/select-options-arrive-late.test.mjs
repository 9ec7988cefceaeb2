// A select whose options come from the API showed its first option ("Any stage", "Anyone") when the page was
// opened with a filter in its address and the options arrived after the select was drawn: the list was
// filtered, the control said it wasn't. Each option now says itself whether it is the chosen one.
// The same when options arrive again: a write re-reads the page's lists (every query, by the router), and a list
// read again is new options; a choice made before then was dropped from the screen while it still stood, so the
// new contact dialog showed "(me)" as the owner of a contact it then made someone else's, and the Contacts tab's
// "Send from" said "Send from…" of a mailbox its Change mailbox button would move contacts to.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor } from "./task-fixture.mjs";

const late = (page, pattern) =>
  page.route(pattern, async (route) => {
    await new Promise((r) => setTimeout(r, 1_500));
    await route.continue();
  });

describe("selects whose options arrive late", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("the Contacts filters opened from an address show the stage and owner they filter by", async () => {
    const stages = await (await page.request.get(`${baseUrl}/api/contact-stages`)).json();
    const users = await (await page.request.get(`${baseUrl}/api/users`)).json();
    const stage = stages.contact_stages.find((s) => s.name !== "Do Not Contact") ?? stages.contact_stages[0];
    const owner = users.users.find((u) => u.email === "rep1@demo.test");
    await late(page, "**/api/contact-stages");
    await late(page, "**/api/users?**");
    await late(page, "**/api/users");
    await page.goto(`${baseUrl}/contacts?stage_id=${stage.id}&owner_id=${owner.id}`);
    const stageSelect = page.getByTestId("filter-stage");
    const ownerSelect = page.getByTestId("filter-owner");
    await stageSelect.locator(`option[value="${stage.id}"]`).waitFor({ state: "attached" });
    await ownerSelect.locator(`option[value="${owner.id}"]`).waitFor({ state: "attached" });
    assert.equal(await stageSelect.inputValue(), stage.id);
    assert.equal(await ownerSelect.inputValue(), owner.id);
    await page.unroute("**/api/contact-stages");
    await page.unroute("**/api/users?**");
    await page.unroute("**/api/users");
  });

  it("the new contact dialog's owner stays the one picked when the team's users are read again after a save", async () => {
    const api = pageApi(page);
    const users = (await api("GET", "/users")).body.users;
    const rep2 = users.find((u) => u.email === "rep2@demo.test");
    // Any contact with an address (the newest may have none: a LinkedIn-only one).
    const existing = (await api("GET", "/contacts?per_page=100")).body.contacts.find((c) => c.email);
    await page.goto(`${baseUrl}/contacts`);
    await page.getByTestId("new-contact").click();
    const dialog = page.getByTestId("new-contact-dialog");
    const owner = dialog.locator("#new-contact-owner");
    await owner.locator(`option[value="${rep2.id}"]`).waitFor({ state: "attached" });
    await owner.selectOption(rep2.id);
    // An address the team has: the answer names that contact and the dialog stays open, its lists read again (late).
    await dialog.locator('input[name="email"]').fill(existing.email);
    // The option shown now: read again, it is replaced by a new one (waited for below, not just the response).
    const before = await owner.locator(`option[value="${rep2.id}"]`).elementHandle();
    await late(page, "**/api/users");
    const reread = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/users");
    await dialog.getByRole("button", { name: "Create contact" }).click();
    await dialog.getByTestId("new-contact-exists").waitFor();
    await reread;
    await page.waitForFunction((el) => !el.isConnected, before);
    await owner.locator(`option[value="${rep2.id}"]`).waitFor({ state: "attached" });
    assert.equal(await owner.inputValue(), rep2.id);
    await page.unroute("**/api/users");
  });

  it("the Contacts tab's Send from stays the mailbox picked when the mailboxes are read again after a write", async () => {
    const api = pageApi(page);
    const { sequence, contact } = await taskFor(api, [{ type: "call", wait_amount: 0, wait_unit: "minutes" }], {
      first_name: "Late",
      last_name: `Mailbox${Date.now()}`,
      email: `late.mailbox.${Date.now()}@late.test`,
      phone: "+1 555 0160",
    });
    await page.goto(`${baseUrl}/sequences/${sequence.id}?tab=contacts`);
    await page.getByTestId("enrollments-table").getByText(contact.email).waitFor();
    await page.getByTestId("enrollments-table").locator("tbody input[type=checkbox]").first().check();
    const from = page.getByTestId("change-mailbox-select");
    await from.locator("option").nth(1).waitFor({ state: "attached" });
    // The last one listed: not the first option the select falls back to when its chosen option goes.
    const ids = await from.locator("option").evaluateAll((els) => els.map((e) => e.value).filter(Boolean));
    const pick = ids[ids.length - 1];
    await from.selectOption(pick);
    const before = await from.locator(`option[value="${pick}"]`).elementHandle();
    // Turning the sequence off is a write: the page reads its queries again, the mailboxes late.
    await late(page, "**/api/mailboxes");
    const reread = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/mailboxes");
    await page.getByTestId("sequence-active").click();
    await reread;
    await page.waitForFunction((el) => !el.isConnected, before);
    await from.locator(`option[value="${pick}"]`).waitFor({ state: "attached" });
    assert.equal(await from.inputValue(), pick);
    await page.unroute("**/api/mailboxes");
  });
});
