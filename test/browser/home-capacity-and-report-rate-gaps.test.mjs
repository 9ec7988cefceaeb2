// Home's capacity card counts a rolling 24 hours (capacity.used_last_24h) and said "Today's"; the sequence
// report's daily rate chart drew a day with nothing sent as 0% instead of leaving it out.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001";
const REPORT = new RegExp(`/api/sequences/${SEQ1}/report(\\?.*)?$`);

describe("Home's capacity words and the report's rates on empty days", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("Home's capacity card says it counts the last 24 hours", async () => {
    await page.goto(`${baseUrl}/`);
    await page.locator("#capacity-title").waitFor();
    assert.equal(((await page.locator("#capacity-title").textContent()) ?? "").trim(), "Sending capacity (last 24 hours)");
    const first = page.getByTestId("home-capacity").locator("li").first();
    await first.waitFor();
    const text = (await page.getByTestId("home-capacity").textContent()) ?? "";
    assert.match(text, /\d+ sent in the last 24 hours · \d+ left of \d+/);
    assert.doesNotMatch(text, /Today/);
  });

  it("the daily rates leave a day with nothing sent empty, not 0%", async () => {
    let empty = "";
    let full = "";
    // The seeded report, with its first day emptied and its second day sending (whatever the seed's dates).
    await page.route(REPORT, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      const [a, b] = body.report.daily;
      Object.assign(a, { sent: 0, replied: 0, out_of_office: 0, bounced: 0 });
      Object.assign(b, { sent: 20, replied: 3, out_of_office: 0, bounced: 1 });
      empty = a.day;
      full = b.day;
      await route.fulfill({ response, json: body });
    });
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=report`);
    const chart = page.getByTestId("chart-rates");
    await chart.locator("canvas").first().waitFor();
    await chart.getByText("Show as table").click();
    const row = (day) => chart.locator("table tbody tr", { hasText: day }).first();
    const cells = async (day) => (await row(day).locator("th, td").allTextContents()).map((t) => t.trim());
    assert.deepEqual((await cells(empty)).slice(1, 3), ["—", "—"]);
    // 3 replies of 19 delivered, 1 bounce of 20 sent.
    const [reply, bounce] = (await cells(full)).slice(1, 3);
    assert.match(reply, /^15\.8/);
    assert.match(bounce, /^5(\.0+)?%$/);
    await page.unroute(REPORT);
  });
});
