// The Imports page says how many contacts an import matched by name and company and gave their address
// (where they were counted as "updated" alone), and offers the report that notes each of them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("the Imports page: contacts matched by name and company", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch({ width: 1280, height: 800 }));
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("the summary counts the one whose address was filled in apart from the new one, and links the report", async () => {
    const api = pageApi(page);
    const tag = Date.now().toString(36);
    const made = await api("POST", "/contacts", { first_name: "Nora", last_name: `Filled${tag}`, company: `Fillco ${tag}` });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await page.goto(`${baseUrl}/imports`);
    const csv = `Email,First Name,Last Name,Company\nnora.${tag}@fillco.test,Nora,Filled${tag},Fillco ${tag}\nnew.${tag}@fillco.test,Newt,Person${tag},Fillco ${tag}\n`;
    const up = await page.evaluate(
      async ({ name, csv }) => {
        const form = new FormData();
        form.append("file", new File([csv], name));
        const me = await (await fetch("/api/me")).json();
        const r = await fetch("/api/imports", { method: "POST", body: form, headers: { "x-csrf-token": me.csrf_token } });
        return { status: r.status, body: await r.json() };
      },
      { name: `filled-${tag}.csv`, csv },
    );
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const id = up.body.import.id;
    assert.equal((await api("POST", `/imports/${id}/save`)).status, 202);
    for (let i = 0; i < 120 && (await api("GET", `/imports/${id}`)).body.import.status !== "ready"; i++)
      await new Promise((r) => setTimeout(r, 250));

    await page.goto(`${baseUrl}/imports`);
    const row = page.getByTestId("imports-table").locator(`tr[data-import-id="${id}"]`);
    await row.waitFor();
    const summary = row.getByTestId("import-summary");
    assert.match(
      (await summary.textContent()) ?? "",
      /^2 contacts ready \(1 new, 0 updated, 1 matched by name and company \(address filled in\), 0 unchanged\)/,
    );
    assert.equal(await summary.getByRole("link", { name: "Download the report" }).getAttribute("href"), `/api/imports/${id}/errors.csv`);
    // The contact was filled in, not made twice.
    const found = (await api("GET", `/contacts?q=Filled${tag}`)).body.contacts;
    assert.deepEqual(
      found.map((c) => c.email),
      [`nora.${tag}@fillco.test`],
    );
  });
});
