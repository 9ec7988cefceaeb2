// The Imports page's "Not imported" link downloads the error report, which holds the rows saved with a
// warning too: it says how many of each, where it said "1,000" for a file of 6,500 rows.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("the Imports page's report link", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("counts the rows not imported and the warnings the report holds", async () => {
    // An import with both can't be made quickly from the browser: the list answer is taken from the real
    // one (an upload made here) with its counts turned into a saved import's with both kinds of row.
    const tag = Date.now().toString(36);
    await page.goto(`${baseUrl}/imports`);
    const up = await page.evaluate(async (name) => {
      const form = new FormData();
      form.append("file", new File([`Email\nann@${name}.test\n`], `${name}.csv`));
      const me = await (await fetch("/api/me")).json();
      const r = await fetch("/api/imports", { method: "POST", body: form, headers: { "x-csrf-token": me.csrf_token } });
      return r.status;
    }, `warn-${tag}`);
    assert.equal(up, 201);
    await page.route(/\/api\/imports\?/, async (route) => {
      const body = await (await route.fetch()).json();
      for (const i of body.imports)
        if (i.file_name === `warn-${tag}.csv`)
          Object.assign(i, { status: "ready", row_count: 6500, saved: 5500, created: 5500, failed: 1000, warned: 5500, summary: "" });
        else if (i.failed > 0) Object.assign(i, { warned: 0 });
      await route.fulfill({ status: 200, json: body });
    });
    try {
      await page.goto(`${baseUrl}/imports`);
      const row = page.getByTestId("imports-table").locator("tbody tr", { hasText: `warn-${tag}.csv` });
      await row.waitFor();
      const link = row.locator(`a[href$="/errors.csv"]`).first();
      assert.equal((await link.textContent())?.trim(), "1,000 + 5,500 warnings");
      assert.match((await link.getAttribute("aria-label")) ?? "", /1000 rows not imported and 5500 saved with a warning/);
    } finally {
      await page.unroute(/\/api\/imports\?/);
    }
  });
});
