// The Sequences page's Replied column: each row shows the sequence's replies and reply rate, the same
// figures as that sequence's report (the list had no replies at all, and its Sent was counted differently).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("sequences list: Replied", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("shows each sequence's sent, replies and reply rate as its report has them", async () => {
    const api = pageApi(page);
    const list = await api("GET", "/sequences?per_page=25");
    assert.equal(list.status, 200);
    // A sequence of the demo team that has sent and been answered, so the figures are not all zero.
    const seq = list.body.sequences.find((s) => s.replied > 0 && s.sent > s.bounced);
    assert.ok(seq, "the demo data has a sequence with replies");
    const { report } = (await api("GET", `/sequences/${seq.id}/report`)).body;

    await page.goto(`${baseUrl}/sequences`);
    const table = page.getByTestId("sequences-table");
    const row = table.locator(`tr[data-sequence-id="${seq.id}"]`);
    // The rows, not the loading skeleton, before the header is read.
    await row.waitFor();
    const headers = (await table.locator("thead th").allTextContents()).map((t) => t.trim());
    const sentAt = headers.indexOf("Sent");
    const repliedAt = headers.indexOf("Replied");
    assert.ok(sentAt >= 0 && repliedAt >= 0, `Sent and Replied columns, got ${headers.join(" | ")}`);
    const cells = row.locator("td");
    const sent = Number(((await cells.nth(sentAt).textContent()) ?? "").replace(/[^\d]/g, ""));
    const replied = cells.nth(repliedAt);
    assert.equal(sent, report.totals.sent, "Sent is the report's sent");
    // The count, then the rate under it.
    const rate = (await replied.locator("div").textContent()) ?? "";
    const shown = ((await replied.textContent()) ?? "").replace(rate, "").trim();
    assert.equal(Number(shown.replace(/[^\d]/g, "")), report.totals.replied, "Replied is the report's replies");
    assert.equal(rate.trim(), `${(report.totals.reply_rate * 100).toFixed(1)}%`, "the rate is the report's reply rate");
  });
});
