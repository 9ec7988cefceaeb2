// New contact: the Contacts page's "New contact" dialog creates a contact by hand and opens its page; the
// same address again makes no second contact, and the dialog says which contact has it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("New contact", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const countWith = (email) =>
    page.evaluate(async (q) => {
      const r = await fetch(`/api/contacts?q=${encodeURIComponent(q)}`);
      return (await r.json()).pagination.total_entries;
    }, email);

  it("creates a contact and opens its page; the same email again is told it exists, with a link, and makes no second contact", async () => {
    const email = `new.contact.${Date.now()}@example.org`;
    await page.goto(`${baseUrl}/contacts`);
    await page.getByTestId("new-contact").click();
    const dialog = page.getByTestId("new-contact-dialog");
    await dialog.getByLabel("First name", { exact: true }).fill("Nora");
    await dialog.getByLabel("Last name", { exact: true }).fill("Newman");
    await dialog.getByLabel("Email", { exact: true }).fill(email);
    await dialog.getByLabel("Title", { exact: true }).fill("VP Sales");
    await dialog.getByLabel("Company", { exact: true }).fill("Newco");
    await dialog.getByRole("button", { name: "Create contact" }).click();
    await page.waitForURL(/\/contacts\/[^/]+$/);
    const contactPath = new URL(page.url()).pathname;
    await page.getByRole("heading", { name: "Nora Newman", level: 1 }).waitFor();
    assert.equal(await countWith(email), 1);

    await page.goto(`${baseUrl}/contacts`);
    await page.getByTestId("new-contact").click();
    await dialog.getByLabel("First name", { exact: true }).fill("Nora");
    await dialog.getByLabel("Email", { exact: true }).fill(email.toUpperCase());
    await dialog.getByRole("button", { name: "Create contact" }).click();
    const told = dialog.getByTestId("new-contact-exists");
    await told.waitFor();
    assert.match((await told.textContent()) ?? "", /already has a contact with this email/);
    assert.equal(await told.getByRole("link", { name: "Nora Newman" }).getAttribute("href"), contactPath);
    assert.equal(await countWith(email), 1, "no second contact");
  });

  it("a bad address is refused next to its field, and nothing is created", async () => {
    await page.goto(`${baseUrl}/contacts`);
    await page.getByTestId("new-contact").click();
    const dialog = page.getByTestId("new-contact-dialog");
    await dialog.getByLabel("First name", { exact: true }).fill("Bad");
    await dialog.getByLabel("Email", { exact: true }).evaluate((el) => el.setAttribute("type", "text"));
    await dialog.getByLabel("Email", { exact: true }).fill("not-an-address");
    await dialog.getByRole("button", { name: "Create contact" }).click();
    await page.locator("#new-contact-email-error").filter({ hasText: /./ }).waitFor();
    assert.equal(await page.locator("#new-contact-email").getAttribute("aria-invalid"), "true");
    assert.match(page.url(), /\/contacts$/);
  });
});
