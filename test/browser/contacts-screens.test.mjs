// What the Contacts screen says must be true: a list's page speaks of the list, and a selection never
// outlives the filters it was made under (a bulk action would hit contacts no longer shown).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("contacts screen: lists and selection", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("an empty list's page says the list has no contacts, not that the team has none", async () => {
    const name = `Empty list ${Date.now()}`;
    await page.goto(`${baseUrl}/lists`);
    await page.getByTestId("new-list").click();
    const dialog = page.getByTestId("list-name-dialog");
    await dialog.getByLabel("Name").fill(name);
    await dialog.getByRole("button", { name: "Create list" }).click();
    await page.getByText(`List “${name}” created`).waitFor();
    await page.goto(`${baseUrl}/lists?q=${encodeURIComponent(name)}`);
    await page.getByRole("link", { name }).click();
    await page.waitForURL(/list_id=/);
    await page.getByText("0 contacts in this list.").waitFor();
    await page.getByText("No contacts in this list").waitFor();
    assert.equal(await page.getByText("No contacts yet").count(), 0);
    assert.equal(await page.getByText(/saved by your team/).count(), 0);
  });

  it("changing a filter clears the selection", async () => {
    await page.goto(`${baseUrl}/contacts?sort=name`);
    const rows = page.getByTestId("contacts-table").locator("tbody tr");
    await rows.first().getByRole("checkbox").check();
    await page.getByTestId("contacts-bulk").waitFor();
    const stage = await page.getByTestId("filter-stage").locator("option").nth(1).getAttribute("value");
    await page.getByTestId("filter-stage").selectOption(stage);
    await page.waitForURL(/stage_id=/);
    await page.getByTestId("contacts-bulk").waitFor({ state: "detached" });
  });

  it("changes a contact's stage from its profile, warning first when the stage is Do Not Contact", async () => {
    await page.goto(`${baseUrl}/contacts?sort=name`);
    await page.getByTestId("contacts-table").locator("tbody tr").first().locator("a.cell-strong").click();
    await page.getByTestId("contact-details").waitFor();
    const stageOf = () => page.getByTestId("contact-details").locator("dt:text-is('Stage') + dd").textContent();
    const before = await stageOf();
    const to = before === "Interested" ? "Unresponsive" : "Interested";

    await page.getByTestId("contact-edit").click();
    const dialog = page.getByTestId("edit-contact-dialog");
    await dialog.getByLabel("Stage").selectOption({ label: "Do Not Contact" });
    await dialog.getByTestId("edit-contact-stage-dnc").waitFor();
    // What it would do, counted before saving.
    await dialog
      .getByText(
        /^1 contact moves to Do Not Contact\. (They are in no sequence now|Their (\d+ )?open sequence runs? ends?|\d+ open sequence runs? ends?)/,
      )
      .waitFor();
    await dialog.getByLabel("Stage").selectOption({ label: to });
    await dialog.getByTestId("edit-contact-stage-dnc").waitFor({ state: "detached" });
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByText("Contact saved").waitFor();
    await page.waitForFunction(
      (want) =>
        [...document.querySelectorAll("[data-testid=contact-details] dt")].some(
          (dt) => dt.textContent === "Stage" && dt.nextElementSibling?.textContent === want,
        ),
      to,
    );
    // Read again from the server.
    await page.reload();
    await page.getByTestId("contact-details").waitFor();
    assert.equal(await stageOf(), to);
  });

  it("gives a contact to another owner from its profile", async () => {
    await page.goto(`${baseUrl}/contacts?sort=name`);
    await page.getByTestId("contacts-table").locator("tbody tr").nth(1).locator("a.cell-strong").click();
    await page.getByTestId("contact-details").waitFor();
    const ownerOf = () => page.getByTestId("contact-details").locator("dt:text-is('Owner') + dd").textContent();
    const to = (await ownerOf()) === "Sam Patel" ? "Riley Chen" : "Sam Patel";
    await page.getByTestId("contact-edit").click();
    const dialog = page.getByTestId("edit-contact-dialog");
    await dialog.getByLabel("Owner").selectOption({ label: to });
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByText("Contact saved").waitFor();
    await page.reload();
    await page.getByTestId("contact-details").waitFor();
    await page.waitForFunction(
      (want) =>
        [...document.querySelectorAll("[data-testid=contact-details] dt")].some(
          (dt) => dt.textContent === "Owner" && dt.nextElementSibling?.textContent === want,
        ),
      to,
    );
  });
});
