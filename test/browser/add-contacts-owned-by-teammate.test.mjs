// Add contacts: a contact a teammate owns is a warning the review names ("Owned by a teammate"), with its
// count and its own "Add anyway", as DESIGN's step 3 says; before, the add took them without a word.
// Nothing is committed here: the worker tests add them (test/add-contacts/owned-by-teammate.test.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn, number, pageApi } from "./helpers.mjs";

describe("add contacts owned by a teammate", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("the review lists 'Owned by a teammate' with its count, held back until its Add anyway is on", async () => {
    const api = pageApi(page);
    const stamp = Date.now();
    const users = await api("GET", "/users");
    const rep1 = users.body.users.find((u) => u.email === "rep1@demo.test");
    assert.ok(rep1, "rep1 is a user of the demo team");
    const ids = [];
    for (const i of [1, 2]) {
      const made = await api("POST", "/contacts", {
        first_name: `Teammate${i}`,
        last_name: `Owned ${stamp}`,
        email: `teammate${i}.${stamp}@example.test`,
        email_status: "verified",
        company: "Teammate Owned Inc",
        owner_id: rep1.id,
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      ids.push(made.body.contact.id);
    }
    const list = await api("POST", "/lists", { name: `Rep1's ${stamp}` });
    assert.equal(list.status, 201);
    assert.equal((await api("POST", `/lists/${list.body.list.id}/members`, { contact_ids: ids })).status, 200);

    // The admin's own sequence, from its editor's "Add contacts".
    await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent("Enterprise outbound — Q4")}`);
    await page.getByRole("link", { name: "Enterprise outbound — Q4", exact: true }).click();
    await page.getByTestId("sequence-name").waitFor();
    await page.getByRole("link", { name: "Add contacts" }).click();
    await page.waitForURL(/\/sequences\/[^/]+\/add/);
    await page.getByRole("tab", { name: "Saved lists" }).click();
    await page.getByRole("checkbox", { name: new RegExp(`Rep1's ${stamp}`) }).check();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Review" }).click();
    const settled = () =>
      page.waitForFunction(() => {
        const b = document.querySelector('[data-testid="confirm-add"]');
        return (
          b && !/Updating preview/.test(b.textContent ?? "") && document.querySelector(".review")?.getAttribute("aria-busy") !== "true"
        );
      });
    await page.getByTestId("review-totals").waitFor();
    await settled();

    const row = page.getByTestId("warnings").locator('[data-category="owned_by_teammate"]');
    const text = (await row.textContent()) ?? "";
    assert.match(text, /Owned by a teammate/);
    assert.match(text, /2 held back/);
    assert.equal(await number(page.getByTestId("total-warned")), 2);
    assert.equal(await number(page.getByTestId("total-enrolled")), 0);

    const toggle = page.getByTestId("override-owned_by_teammate");
    assert.equal(await toggle.getAttribute("aria-checked"), "false");
    await toggle.click();
    await page.waitForFunction(
      () => Number((document.querySelector('[data-testid="total-enrolled"]')?.textContent ?? "").replace(/[^\d]/g, "")) === 2,
    );
    await settled();
    assert.equal(await page.getByTestId("override-owned_by_teammate").getAttribute("aria-checked"), "true");
    assert.match((await row.textContent()) ?? "", /2 allowed/);
    assert.equal(await number(page.getByTestId("total-warned")), 0);
  });
});
