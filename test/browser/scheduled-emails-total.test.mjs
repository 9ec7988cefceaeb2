// Scheduled emails say how many there are over every page ("N scheduled"), as Apollo and Outreach do:
// the number in the table's header is the API's total for the same filter, and more than one page's rows.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4 (seeded contacts)

describe("scheduled emails' total", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("shows the sequence's scheduled emails over every page in the header, as the API counts them", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=scheduled`);
    const table = page.getByTestId("scheduled-table");
    await table.locator("tbody tr").first().waitFor();
    const shown = (await page.getByTestId("scheduled-total").textContent()).trim();
    const rows = await table.locator("tbody tr").count();
    // Paged to the end, the API's rows are its total.
    let cursor = null;
    let all = 0;
    let total = null;
    do {
      const r = await page.evaluate(
        async (p) => (await fetch(p)).json(),
        `/api/scheduled-emails?sequence_id=${SEQ1}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      all += r.scheduled.length;
      total = r.total;
      cursor = r.next_cursor;
    } while (cursor);
    assert.equal(total, all);
    assert.equal(shown, `${total.toLocaleString("en-US")} scheduled`);
    assert.ok(total >= rows, `the total (${total}) counts at least the page's ${rows} rows`);
  });
});
