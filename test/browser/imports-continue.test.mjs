// An upload left before saving (the wizard keeps its id in memory only) is continued from the Imports page:
// "Continue" opens the chosen sequence's Upload CSV step at that file's mapping, and it saves from there.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("continue an import not saved", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("reopens the mapping of an uploaded file from the Imports page and saves it", async () => {
    const tag = Date.now().toString(36);
    const file = `later-${tag}.csv`;
    await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent("Enterprise outbound — Q4")}`);
    await page.getByRole("link", { name: "Enterprise outbound — Q4", exact: true }).click();
    await page.getByTestId("sequence-name").waitFor();
    await page.getByRole("link", { name: "Add contacts" }).click();
    await page.waitForURL(/\/sequences\/[^/]+\/add/);
    await page.getByRole("tab", { name: "Upload CSV" }).click();
    const csv = ["Email,First Name,Last Name,Company", `eve.${tag}@csv.test,Eve,Stone,Acme`, `fay.${tag}@csv.test,Fay,Ng,Acme`].join(
      "\r\n",
    );
    await page.getByTestId("csv-file").setInputFiles({ name: file, mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByTestId("csv-mapping").waitFor();

    // Left before saving: the Imports page offers to continue it. The page is loaded afresh, and the contact
    // fields the mapping offers arrive late (as on a slow network): each column must still show its field once
    // they do, not "Don't import" because its option wasn't there when the select was drawn.
    await page.route("**/api/imports/fields", async (route) => {
      await new Promise((r) => setTimeout(r, 1_500));
      await route.continue();
    });
    await page.goto(`${baseUrl}/imports`);
    const row = page.getByTestId("imports-table").locator("tbody tr", { hasText: file });
    await row.waitFor();
    assert.match((await row.textContent()) ?? "", /Not saved/);
    await row.getByTestId("import-continue").click();
    const picker = page.getByTestId("sequence-picker");
    await picker.getByTestId("sequence-search").fill("Enterprise outbound — Q4");
    await picker.getByRole("button", { name: "Enterprise outbound — Q4", exact: true }).click();
    await page.waitForURL(/\/sequences\/[^/]+\/add$/);

    // The same file at its mapping, not yet a source to add.
    await page.getByTestId("csv-mapping").waitFor();
    assert.match((await page.getByTestId("csv-summary").textContent()) ?? "", /2 rows/);
    const email = page.getByLabel("Field for column Email");
    await email.locator('option[value="email"]').waitFor({ state: "attached" });
    assert.equal(await email.inputValue(), "email");
    assert.equal(await page.getByLabel("Field for column Company").inputValue(), "company");
    await page.unroute("**/api/imports/fields");
    assert.equal(await page.getByTestId("selection-summary").count(), 0);
    await page.getByTestId("csv-save").click();
    const result = page.getByTestId("csv-result");
    await result.waitFor({ timeout: 30_000 });
    assert.match((await result.textContent()) ?? "", /2 contacts ready/);
    assert.match((await page.getByTestId("selection-summary").textContent()) ?? "", /CSV file/);

    await page.goto(`${baseUrl}/imports`);
    const saved = page.getByTestId("imports-table").locator("tbody tr", { hasText: file });
    await saved.waitFor();
    assert.match((await saved.textContent()) ?? "", /Ready/);
    assert.equal(await saved.getByTestId("import-continue").count(), 0);
  });
});
