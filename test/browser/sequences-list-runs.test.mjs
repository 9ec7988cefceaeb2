// The sequence list's status counts are runs (sequence_counts keeps one per enrollment, and a contact restarted
// or added again has several), and the list says so: its column and the count strip said contacts, so a list
// showed 1,389 contacts where the sequence's report, counting each contact once, showed 1,387.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("sequence list counts runs", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("names its status counts runs, the sum of the list's counts", async () => {
    const res = await page.request.get(`${baseUrl}/api/sequences?per_page=25`);
    assert.equal(res.status(), 200);
    const seq = (await res.json()).sequences.find((s) => Object.values(s.counts).some((n) => n > 0));
    assert.ok(seq, "the demo data has a sequence with contacts in it");
    const runs = Object.values(seq.counts).reduce((a, b) => a + b, 0);

    await page.goto(`${baseUrl}/sequences`);
    const table = page.getByTestId("sequences-table");
    const row = table.locator(`tr[data-sequence-id="${seq.id}"]`);
    await row.waitFor();
    const headers = (await table.locator("thead th").allTextContents()).map((t) => t.trim());
    assert.ok(headers.includes("Runs") && !headers.includes("Contacts"), headers.join(" | "));
    const strip = row.locator(".count-strip");
    assert.equal(await strip.getAttribute("aria-label"), `${runs} runs`);
    assert.match((await strip.getAttribute("title")) ?? "", /once for each run/);
  });
});
