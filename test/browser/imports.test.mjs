// "Add contacts → Upload CSV" end to end: a file with a few bad rows is uploaded, mapped, saved (the
// result says what was not imported and links the error report), then added through the shared
// options and review like any other source.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("add contacts from a CSV file", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("uploads a file with bad rows, explains them, and adds the good ones through the review", async () => {
    const tag = Date.now().toString(36);
    await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent("Enterprise outbound — Q4")}`);
    await page.getByRole("link", { name: "Enterprise outbound — Q4", exact: true }).click();
    await page.getByTestId("sequence-name").waitFor();
    await page.getByRole("link", { name: "Add contacts" }).click();
    await page.waitForURL(/\/sequences\/[^/]+\/add/);
    await page.getByRole("tab", { name: "Upload CSV" }).click();

    const csv = [
      "Work Email;Full Name;Organization;Job Title",
      `ann.${tag}@csv.test;Ann Lee;Acme;CEO`,
      `bo.${tag}@csv.test;Bo Chen;Acme;CTO`,
      "not-an-email;Cy Dee;Acme;CFO",
      `ann.${tag}@csv.test;Ann Again;Acme;CEO`,
      `di.${tag}@csv.test;Di Fox;Acme;VP`,
    ].join("\r\n");
    await page.getByTestId("csv-file").setInputFiles({ name: "leads.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    const mapping = page.getByTestId("csv-mapping");
    await mapping.waitFor();
    assert.match((await page.getByTestId("csv-summary").textContent()) ?? "", /5 rows, “;” separated, UTF-8/);
    assert.equal(await page.getByLabel("Field for column Work Email").inputValue(), "email");
    assert.equal(await page.getByLabel("Field for column Full Name").inputValue(), "full_name");

    // Without an email column a name + company still finds one; without both, the screen names what is missing.
    const remap = async (column, field) => {
      const saved = page.waitForResponse((r) => /\/api\/imports\/[^/]+$/.test(r.url()) && r.request().method() === "PATCH");
      await page.getByLabel(`Field for column ${column}`).selectOption(field);
      await saved;
    };
    await remap("Work Email", "");
    await remap("Organization", "");
    await page.getByTestId("mapping-problem").waitFor();
    assert.match((await page.getByTestId("mapping-problem").textContent()) ?? "", /missing: company/);
    assert.equal(await page.getByTestId("csv-save").isDisabled(), true);
    await remap("Work Email", "email");
    await remap("Organization", "company");
    await page.getByTestId("mapping-problem").waitFor({ state: "detached" });

    await page.getByTestId("csv-save").click();
    const result = page.getByTestId("csv-result");
    await result.waitFor({ timeout: 30_000 });
    assert.match((await result.textContent()) ?? "", /3 contacts ready .*2 rows not imported/);
    const report = await page.getByTestId("csv-errors").getAttribute("href");
    const res = await page.request.get(`${baseUrl}${report}`);
    const text = await res.text();
    // A BOM for Excel, then the reasons and each row's own cells under the file's headers.
    assert.match(text, /^\uFEFFrow,column,value,reason,Work Email,Full Name,Organization,Job Title\r\n/);
    assert.match(text, /4,Work Email,not-an-email,Not a valid email address/);
    assert.match(text, /5,,ann\.[a-z0-9]+@csv\.test,Same contact as row 2/);
    assert.match((await page.getByTestId("selection-summary").textContent()) ?? "", /CSV file/);

    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Send from" }).waitFor();
    await page.getByRole("button", { name: "Review" }).click();
    await page.getByTestId("review-totals").waitFor();
    await page.waitForFunction(() => /3/.test(document.querySelector('[data-testid="review-totals"]')?.textContent ?? ""));

    // The Imports page lists the file with what it saved and a link to the rows it did not.
    await page.getByRole("link", { name: "Imports", exact: true }).click();
    const row = page.getByTestId("imports-table").locator("tbody tr").first();
    await row.waitFor();
    assert.match((await row.textContent()) ?? "", /leads\.csv.*Ready.*5.*3.*2/s);
  });
  it("adds a saved import to a sequence from the Imports page", async () => {
    await page.goto(`${baseUrl}/imports`);
    const row = page.getByTestId("imports-table").locator("tbody tr", { hasText: "leads.csv" }).first();
    await row.getByTestId("import-add-to-sequence").click();
    const picker = page.getByTestId("sequence-picker");
    await picker.getByTestId("sequence-search").fill("Enterprise outbound — Q4");
    await picker.getByRole("button", { name: "Enterprise outbound — Q4", exact: true }).click();
    await page.waitForURL(/\/sequences\/[^/]+\/add\?step=options/);
    await page.getByRole("heading", { name: "Send from" }).waitFor();
    assert.match((await page.getByTestId("selection-summary").textContent()) ?? "", /CSV file/);
    await page.getByRole("button", { name: "Review" }).click();
    await page.getByTestId("review-totals").waitFor();
    await page.waitForFunction(() => /3/.test(document.querySelector('[data-testid="review-totals"]')?.textContent ?? ""));
  });

  it("offers 'Save again' on an import whose saving stopped, and sends the save for it", async () => {
    // A failed import can't be made from the browser (a part must exhaust its queue retries): the
    // list answer is taken from the real one with its first row turned into a failed save at part 1 of 2.
    let saved = null;
    await page.route(/\/api\/imports\?/, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      const first = body.imports[0];
      Object.assign(first, {
        status: saved ? "saving" : "failed",
        progress: { parts: 2, parts_done: 1 },
        summary: null,
        error: "Saving stopped at part 2; save again to continue",
      });
      await route.fulfill({ status: 200, json: body });
    });
    await page.route(/\/api\/imports\/[^/]+\/save$/, async (route) => {
      saved = route.request().url();
      await route.fulfill({ status: 202, json: { import: { file_name: "leads.csv" } } });
    });
    try {
      await page.goto(`${baseUrl}/imports`);
      const row = page.getByTestId("imports-table").locator("tbody tr").first();
      await row.getByText("Saving stopped at part 2").waitFor();
      const id = await row.getAttribute("data-import-id");
      await row.getByRole("button", { name: /again from where it stopped/ }).click();
      await page.getByText("Saving leads.csv again from where it stopped").waitFor();
      assert.match(saved, new RegExp(`/api/imports/${id}/save$`));
    } finally {
      await page.unroute(/\/api\/imports\?/);
      await page.unroute(/\/api\/imports\/[^/]+\/save$/);
    }
  });

  it("deletes an import's data from the Imports page; its contacts stay", async () => {
    await page.goto(`${baseUrl}/imports`);
    const row = page.getByTestId("imports-table").locator("tbody tr", { hasText: "leads.csv" }).first();
    const id = await row.getAttribute("data-import-id");
    await row.getByTestId("import-delete").click();
    const deleted = page.waitForResponse((r) => r.url().endsWith(`/api/imports/${id}`) && r.request().method() === "DELETE");
    await page.getByRole("button", { name: "Delete", exact: true }).last().click();
    assert.equal((await deleted).status(), 200);
    await page.getByText("Deleted leads.csv; its contacts stay").waitFor();
    await page.locator(`[data-import-id="${id}"]`).waitFor({ state: "detached" });
    assert.equal((await page.request.get(`${baseUrl}/api/imports/${id}`)).status(), 404);
  });

  it("shows the mapping and settings of an import saved part-way read-only, saying why", async () => {
    // A failed save at part 2 of 2 can't be made from the browser: the upload's answer is made into one.
    await page.route(/\/api\/imports$/, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      Object.assign(body.import, {
        status: "failed",
        progress: { parts: 2, parts_done: 1 },
        error: "Saving stopped at part 2; save again to continue",
      });
      await route.fulfill({ status: 201, json: body });
    });
    try {
      await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent("Enterprise outbound — Q4")}`);
      await page.getByRole("link", { name: "Enterprise outbound — Q4", exact: true }).click();
      await page.getByRole("link", { name: "Add contacts" }).click();
      await page.getByRole("tab", { name: "Upload CSV" }).click();
      const csv = "Email,Company\r\nlocked@csv.test,Acme\r\n";
      await page.getByTestId("csv-file").setInputFiles({ name: "part.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
      await page.getByTestId("csv-locked").waitFor();
      assert.match((await page.getByTestId("csv-locked").textContent()) ?? "", /already saved .* can't change now/);
      assert.equal(await page.getByLabel("Field for column Email").isDisabled(), true);
      assert.equal(await page.getByLabel("Owner of new contacts").isDisabled(), true);
      assert.equal(await page.getByTestId("csv-save").isDisabled(), false);
    } finally {
      await page.unroute(/\/api\/imports$/);
    }
  });
});
