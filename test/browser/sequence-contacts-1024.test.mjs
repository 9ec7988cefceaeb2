// The sequence's Contacts tab in a 1024 px window: its "Next action / why not" and Mailbox columns were cut
// off, the table scrolling sideways in its box. Now every column is within the window: below 1280 px the
// mailbox folds into the next-action cell ("From …") and the contact's address wraps.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001";

describe("the sequence Contacts tab at 1024 px", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch({ width: 1024, height: 800 }));
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const table = () => page.getByTestId("enrollments-table");

  it("shows every column within the window, the mailbox under the next action", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts`);
    await table().locator("tbody tr").first().waitFor();
    const fit = await table().evaluate((t) => {
      const wrap = t.parentElement;
      const visible = [...t.querySelectorAll("thead th")].filter((th) => th.getBoundingClientRect().width > 0);
      return {
        window: window.innerWidth,
        overflow: wrap.scrollWidth - wrap.clientWidth,
        wrapRight: wrap.getBoundingClientRect().right,
        headers: visible.map((th) => ({ text: th.textContent.trim(), right: th.getBoundingClientRect().right })),
      };
    });
    assert.ok(fit.overflow <= 1, `the table doesn't scroll sideways (${fit.overflow}px wider than its box)`);
    for (const h of fit.headers)
      assert.ok(h.right <= Math.min(fit.window, fit.wrapRight) + 1, `"${h.text}" ends at ${h.right}px, within ${fit.wrapRight}px`);
    assert.ok(
      fit.headers.some((h) => h.text.startsWith("Next action")),
      "the Next action column is shown",
    );

    // The mailbox is still said, in the next action's cell.
    const from = table().getByTestId("next-mailbox").first();
    assert.equal(await from.isVisible(), true);
    assert.match((await from.textContent()) ?? "", /^From \S+@\S+/);
    const cell = await from.boundingBox();
    assert.ok(cell && cell.x + cell.width <= fit.window, "the mailbox line is within the window");
  });

  it("keeps the Mailbox column in a wide window", async () => {
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts`);
    await table().locator("tbody tr").first().waitFor();
    assert.equal(await table().getByRole("columnheader", { name: "Mailbox" }).isVisible(), true);
    assert.equal(await table().getByTestId("next-mailbox").first().isVisible(), false);
  });
});
