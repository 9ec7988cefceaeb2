// The reports say which days they cover and round rates as Home does. Without a range the team report covers
// the last 30 days: its From/To boxes show those days (they were empty); the sequence report, all time, says
// "All time" (its Meetings said "booked in the range" with no range). A bounce rate reads the same on Home,
// the team report and the sequence report: one decimal (Home said 2.7% where the reports said 2.69%), more only
// beside the limit, where one decimal would hide which side of it a rate is on.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001";
const DAY = 86_400_000;
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
/**
 * What Home's bounce alert shows for a bounce rate (web/src/reports.ts rateText with the limit): one decimal,
 * more only where one would read as the limit itself (2.04% is over a 2% limit; "2.0%" said otherwise).
 */
const LIMIT = 0.02;
const oneDecimal = (x) => {
  let d = 1;
  while (d < 4 && x !== LIMIT && (x * 100).toFixed(d) === (LIMIT * 100).toFixed(d)) d++;
  return `${(x * 100).toFixed(d)}%`;
};

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

  it("a bounce rate beside the limit shows which side of it it is on", async () => {
    const { body } = await api("GET", `/sequences/${SEQ1}/report`);
    assert.equal(body.report.thresholds.bounce_rate_max, LIMIT);
    // The same report with its totals set beside the limit: 1 of 49 (2.04%, over), 1 of 51 (1.96%, under), 1 of 50.
    const shown = async (sent) => {
      const totals = { ...body.report.totals, sent, bounced: 1, bounce_rate: 1 / sent };
      await page.route(`**/api/sequences/${SEQ1}/report*`, (route) =>
        route.fulfill({ json: { ...body, report: { ...body.report, totals } } }),
      );
      await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=report`);
      await page.getByTestId("report-bounce-rate").waitFor();
      const rate = ((await page.getByTestId("report-bounce-rate").textContent()) ?? "").trim();
      const note = ((await page.getByTestId("report-bounce-note").textContent()) ?? "").trim();
      await page.unroute(`**/api/sequences/${SEQ1}/report*`);
      return { rate, note };
    };
    const over = await shown(49);
    assert.equal(over.rate, "2.04%");
    assert.match(over.note, /over the 2% limit/);
    const under = await shown(51);
    assert.equal(under.rate, "1.96%");
    assert.match(under.note, /under the 2% limit/);
    const at = await shown(50);
    assert.equal(at.rate, "2.0%");
    assert.match(at.note, /at the 2% limit/);
  });
});
