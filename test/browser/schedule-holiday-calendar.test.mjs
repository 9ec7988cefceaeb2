// The schedule form picks a built-in holiday calendar by country (searchable) and, where the country
// has them, by state or region; the year's public holidays of the pick are listed, and the saved
// schedule keeps the state's code.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("schedule holiday calendar", () => {
  let browser;
  let page;
  const name = `Munich ${Date.now()}`;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("picks Germany, then Bavaria, and lists Epiphany only for Bavaria", async () => {
    await page.goto(`${baseUrl}/settings?tab=schedules`);
    await page.getByRole("button", { name: "New schedule" }).click();
    const dialog = page.getByTestId("schedule-dialog");
    await dialog.getByLabel("Name").fill(name);
    const country = dialog.getByLabel("Holiday calendar");
    // The box searches the countries by name (a datalist); typing the whole name picks it.
    assert.ok((await page.locator("#sched-cal-countries option").count()) > 150, "every country is offered");
    await country.fill("Germany");
    const region = dialog.getByLabel("State or region");
    await region.waitFor();
    assert.equal(await region.inputValue(), "DE", "the whole country first");
    const list = dialog.locator(".holiday-list");
    await list.locator("summary").click();
    const year = new Date().getFullYear();
    await list.getByText(`${year}`).first().waitFor();
    await list.locator("li", { hasText: /National Holiday/ }).waitFor();
    assert.equal(await list.locator("li", { hasText: /Epiphany/ }).count(), 0, "no Epiphany for all of Germany");

    await region.selectOption({ label: "Bayern" });
    await list.locator("li", { hasText: /Epiphany/ }).waitFor();
    assert.match((await dialog.textContent()) ?? "", /Public holidays only/);

    await dialog.getByRole("button", { name: "Create schedule" }).click();
    const row = page.getByTestId("schedule-row").filter({ hasText: name });
    await row.getByText("Holidays: Germany: Bayern").waitFor();
  });
});
