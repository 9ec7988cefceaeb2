// Words an outside review found wrong: a sequence you can't open said "Couldn't load this" with a Try again
// that could only fail again; "(1 blank rows ignored)" and "1 employees"; and the sequence's schedule showed its
// windows (the schedule's zone) over "until Today 10:00 PM" (the viewer's zone) with no zone named.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001";

describe("wording: not found, plurals, time zones", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("a sequence that isn't there (or isn't shared) says so, with nothing to retry", async () => {
    await page.goto(`${baseUrl}/sequences/0a00000000000000000000ff`);
    const alert = page.locator(".error-panel");
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? "", /Not found, or not shared with you/);
    assert.equal(await alert.getByRole("button", { name: "Try again" }).count(), 0);
  });

  it("a CSV with one blank row says 1 blank row", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}/add`);
    await page.getByRole("tab", { name: "Upload CSV" }).click();
    const tag = Date.now().toString(36);
    const csv = ["Email,Full Name", `ann.${tag}@csv.test,Ann Lee`, "", `bo.${tag}@csv.test,Bo Chen`].join("\r\n");
    await page.getByTestId("csv-file").setInputFiles({ name: "blank.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    const summary = page.getByTestId("csv-summary");
    await summary.waitFor();
    const text = (await summary.textContent()) ?? "";
    assert.match(text, /\(1 blank row ignored\)/);
  });

  it("a company of one says 1 employee", async () => {
    await page.route(/\/api\/people\/search/, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.people[0].employees = 1;
      await route.fulfill({ response, json: body });
    });
    await page.goto(`${baseUrl}/people`);
    const first = page.getByTestId("people-table").locator("tbody tr").first();
    await first.waitFor();
    const text = (await first.textContent()) ?? "";
    assert.match(text, /· 1 employee(?!s)/);
    await page.unroute(/\/api\/people\/search/);
  });

  it("the sequence's schedule names the zone of its windows and of the times shown", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}`);
    const windows = page.getByTestId("schedule-windows");
    await windows.waitFor();
    assert.match((await windows.textContent()) ?? "", /\d{2}:\d{2}.*\([A-Za-z_]+\/[A-Za-z_]+/);
    const mine = await page.evaluate(() => new Intl.DateTimeFormat().resolvedOptions().timeZone);
    assert.ok(((await page.getByTestId("schedule-window-now").textContent()) ?? "").endsWith(`(your time, ${mine})`));
  });
});
