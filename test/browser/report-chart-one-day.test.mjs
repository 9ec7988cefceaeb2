// A sequence's first day of sending: its report has one day of data. "Emails per day" and the rates chart
// drew an x-axis from years before to years after that day and no visible point (a line through one point
// draws nothing). Now the axis spans a week around the day and each value is a dot, in the series' colour.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001";
const REPORT = new RegExp(`/api/sequences/${SEQ1}/report(\\?.*)?$`);

/** Pixels of the chart's canvas within a few levels of the colour `hex`, and where they sit across the plot (0..1). */
const pixelsOf = (chart, hex) =>
  chart.locator("canvas").evaluate((c, hex) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const { data, width } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
    const xs = [];
    for (let i = 0; i < data.length; i += 4)
      if (Math.abs(data[i] - r) < 12 && Math.abs(data[i + 1] - g) < 12 && Math.abs(data[i + 2] - b) < 12 && data[i + 3] > 200)
        xs.push(((i / 4) % width) / width);
    return { count: xs.length, meanX: xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : null };
  }, hex);

describe("a report chart with one day of data", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    // The seeded sequence's report, cut to its busiest day: what a new sequence's first day looks like.
    await page.route(REPORT, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      const busiest = body.report.daily.reduce((a, d) => (d.sent > a.sent ? d : a));
      await route.fulfill({ response, json: { ...body, report: { ...body.report, daily: [busiest] } } });
    });
  });
  after(async () => {
    await browser?.close();
  });

  it("shows the day's values as dots in the middle of a week-wide axis", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=report`);
    const daily = page.getByTestId("chart-daily");
    await daily.locator("canvas").waitFor();
    const sent = await pixelsOf(daily, "#4f46e5");
    assert.ok(sent.count > 10, `the Sent value is drawn (${sent.count} pixels of its colour)`);
    // The plot's area starts after the y-axis: the middle of the canvas is a little right of 0.5.
    assert.ok(sent.meanX > 0.4 && sent.meanX < 0.75, `the day is in the middle of the axis (at ${sent.meanX?.toFixed(2)})`);

    const rates = page.getByTestId("chart-rates");
    const reply = await pixelsOf(rates, "#067647");
    assert.ok(reply.count > 10, `the reply rate is drawn (${reply.count} pixels of its colour)`);
  });
});
