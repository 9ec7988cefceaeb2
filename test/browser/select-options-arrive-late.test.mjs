// A select whose options come from the API showed its first option ("Any stage", "Anyone") when the page was
// opened with a filter in its address and the options arrived after the select was drawn: the list was
// filtered, the control said it wasn't. Each option now says itself whether it is the chosen one.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

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
});
