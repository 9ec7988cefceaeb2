// Export CSV on the Contacts page: the file holds exactly the contacts the table's search and filters match.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("Contacts export", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("exports the searched contacts: one row each, with the search in the link", async () => {
    await page.goto(`${baseUrl}/contacts`);
    const first = page.locator("table tbody tr").first().getByRole("link");
    await first.waitFor();
    const name = ((await first.textContent()) ?? "").trim();
    await page.goto(`${baseUrl}/contacts?q=${encodeURIComponent(name)}`);
    await page.locator("table tbody tr").first().waitFor();
    const shown = await page.locator("table tbody tr").count();
    const link = page.getByTestId("contacts-export");
    const href = await link.getAttribute("href");
    assert.match(href ?? "", /^\/api\/contacts\/export\?q=/);
    const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
    const rows = csv.split("\r\n").filter(Boolean);
    assert.match(rows[0] ?? "", /^(\uFEFF)?id,first_name,last_name,email/);
    assert.equal(rows.length - 1, shown);
  });
});
