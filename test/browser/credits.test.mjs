// The Credits page: its three stat cards in a row of three, and how an operator adds credits (nothing in
// the app sells or grants them).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("credits page", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("lays its three stat cards out in three columns and says how credits are added", async () => {
    await page.goto(`${baseUrl}/credits`);
    await page.getByTestId("credits-balance").waitFor();
    const row = page.locator(".stat-row", { has: page.getByTestId("credits-balance") });
    assert.equal(await row.locator(".stat-card").count(), 3);
    // Three cards, three equal columns: one row, no empty fourth column.
    const boxes = await row.locator(".stat-card").evaluateAll((cards) => cards.map((c) => c.getBoundingClientRect().toJSON()));
    assert.ok(
      boxes.every((b) => Math.abs(b.top - boxes[0].top) < 1),
      JSON.stringify(boxes),
    );
    const rowBox = await row.boundingBox();
    assert.ok(boxes[2].right > rowBox.x + rowBox.width - 2, `the third card ends at the row's edge: ${JSON.stringify(boxes)}`);
    assert.match((await page.getByTestId("credits-top-up").textContent()) ?? "", /npm run credits:grant -- --email .* --credits N/);
  });
});
