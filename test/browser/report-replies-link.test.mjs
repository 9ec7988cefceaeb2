// A sequence report's "Replies" link lands on the inbox listing that sequence's replies: the demo's past replies
// are inbound emails too (worker/seed/history.ts), so the inbox holds as many as the report counts, not an
// empty page under a report of 119.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

const SEQ2 = "0a0000000000000000000002"; // Webinar follow-up (seeded history)

describe("the report's Replies link", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("opens the inbox on the sequence's replies (the seeded ones are inbound emails too)", async () => {
    const api = pageApi(page);
    const { report } = (await api("GET", `/sequences/${SEQ2}/report`)).body;
    assert.ok(report.totals.replied > 0, "the seeded sequence has replies");
    const replies = (await api("GET", `/replies?sequence_id=${SEQ2}&classification=reply&per_page=1`)).body;
    // Equal on a fresh seed (test/replies/seed-history-replies.test.ts holds that); here other browser tests answer
    // this sequence's emails too (a second reply to one email is one more inbox row, not one more replied email).
    assert.ok(replies.pagination.total_entries >= 100, `inbox replies: ${replies.pagination.total_entries}`);

    await page.goto(`${baseUrl}/sequences/${SEQ2}?tab=report`);
    await page.getByTestId("sequence-report").waitFor();
    await page.getByTestId("sequence-replies-link").click();
    await page.waitForURL((u) => u.pathname === "/replies" && u.searchParams.get("sequence_id") === SEQ2);
    await page.locator("[data-reply]").first().waitFor();
    assert.ok((await page.locator("[data-reply]").count()) > 0);
    assert.equal(await page.getByText("No replies match these filters").count(), 0);
    // The rows are the sequence's (its filter is selected), each a seeded contact's answer.
    await page.waitForFunction((id) => document.querySelector("[data-testid=reply-sequence]")?.value === id, SEQ2);
  });
});
