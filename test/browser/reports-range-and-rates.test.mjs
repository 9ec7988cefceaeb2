// The reports say which days they cover and round rates as Home does. Without a range the team report covers
// the last 30 days: its From/To boxes show those days (they were empty); the sequence report, all time, says
// "All time" (its Meetings said "booked in the range" with no range). A bounce rate reads the same on Home,
// the team report and the sequence report: one decimal (Home said 2.7% where the reports said 2.69%).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001";
const DAY = 86_400_000;
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
/** What Home's bounce alert shows for a rate: web/src/reports.ts pct(x, 1). */
const oneDecimal = (x) => `${(x * 100).toFixed(1)}%`;

describe("report ranges and rates", () => {
  let browser;
  let page;
  let api;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    api = pageApi(page);
  });
  after(async () => {
    await browser?.close();
  });

  it("the team report's date boxes show the last 30 days it counts", async () => {
    const { body } = await api("GET", "/reports/team");
    await page.goto(`${baseUrl}/reports`);
    await page.getByTestId("team-users").waitFor();
    assert.equal(await page.getByLabel("From (UTC)").inputValue(), day(body.report.from));
    assert.equal(await page.getByLabel("To (UTC)").inputValue(), day(body.report.to - DAY));
    assert.equal(Math.round((body.report.to - body.report.from) / DAY), 30);
  });

  it("the team report's bounce rates have Home's one decimal", async () => {
    const { body } = await api("GET", "/reports/team");
    await page.goto(`${baseUrl}/reports`);
    const table = page.getByTestId("team-sequences");
    await table.waitFor();
    const headers = (await table.locator("thead th").allTextContents()).map((t) => t.trim());
    const at = headers.indexOf("Bounce rate");
    assert.ok(at > 0, headers.join(" | "));
    const withMail = body.report.sequences.filter((s) => s.sent > 0);
    assert.ok(withMail.length > 0, "the demo data has emails in the last 30 days");
    for (const s of withMail) {
      const row = table.locator("tbody tr").filter({ hasText: s.name }).first();
      assert.equal(((await row.locator("th, td").nth(at).textContent()) ?? "").trim(), oneDecimal(s.bounce_rate), s.name);
    }
  });

  it("the sequence report without a range says it covers all time, and rounds its bounce rate as Home does", async () => {
    const { body } = await api("GET", `/sequences/${SEQ1}/report`);
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=report`);
    await page.getByTestId("report-meetings").waitFor();
    assert.equal(((await page.getByTestId("report-range-note").textContent()) ?? "").trim(), "All time");
    assert.doesNotMatch((await page.getByTestId("report-meetings").locator("xpath=..").textContent()) ?? "", /in the range/);
    assert.ok(body.report.totals.sent > 0);
    assert.equal(((await page.getByTestId("report-bounce-rate").textContent()) ?? "").trim(), oneDecimal(body.report.totals.bounce_rate));
  });
});
