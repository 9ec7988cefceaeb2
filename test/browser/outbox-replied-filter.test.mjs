// The Outbox's Replied filter: choosing Replied in the status menu lists only the emails the contact answered
// (each with its Replied badge), the ones the API's status=replied answers, with their count.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("outbox: the Replied filter", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("lists only the replied emails, each marked Replied, and says how many", async () => {
    const api = pageApi(page);
    const r = await api("GET", "/messages?status=replied&per_page=50");
    assert.equal(r.status, 200);
    const replied = r.body.messages;
    assert.ok(replied.length > 0, "the demo data has emails the contacts replied to");
    assert.ok(
      replied.every((m) => m.replied_at !== null),
      "every email the filter answers was replied to",
    );
    const every = await api("GET", "/messages?per_page=1");
    assert.ok(r.body.pagination.total_entries < every.body.pagination.total_entries, "fewer than every email");

    await page.goto(`${baseUrl}/outbox`);
    await page.getByTestId("outbox-list").waitFor();
    await page.getByTestId("outbox-status").selectOption({ label: "Replied" });
    await page.waitForURL((u) => u.searchParams.get("status") === "replied");
    const rows = page.getByTestId("outbox-list").locator(".mail-row");
    await rows.nth(replied.length - 1).waitFor();
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=outbox-list] .mail-row").length === n, replied.length);
    for (const [i, m] of replied.entries()) {
      const row = rows.nth(i);
      assert.ok((await row.textContent()).includes(m.to_email), `row ${i} is ${m.to_email}`);
      assert.equal(await row.getByTestId("outbox-replied").count(), 1, `row ${i} is marked Replied`);
    }
    const total = r.body.pagination.total_entries;
    await page.getByText(`${total.toLocaleString("en-US")} ${total === 1 ? "email" : "emails"}`, { exact: true }).waitFor();
  });
});
