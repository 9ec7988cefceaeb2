// The workflow editor offers every sequence the user can edit, not the first 100; a workflow whose sequence
// isn't listed (archived) still shows its name, and the editor doesn't take an unknown sequence for one that is on.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("workflow editor sequence options", () => {
  let browser;
  let page;
  const stamp = Date.now();
  const api = (path, init) =>
    page.evaluate(
      async ([path, init]) => {
        const me = await (await fetch("/api/me")).json();
        const r = await fetch(path, { ...init, headers: { "content-type": "application/json", "x-csrf-token": me.csrf_token } });
        return { status: r.status, body: await r.json() };
      },
      [path, init ?? {}],
    );
  const names = Array.from({ length: 101 }, (_, i) => `Paging ${stamp} ${String(i).padStart(3, "0")}`);

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    for (const name of names) {
      const r = await api("/api/sequences", { method: "POST", body: JSON.stringify({ name, schedule_id: null }) });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });
  after(async () => {
    await browser?.close();
  });

  it("lists every sequence the user can edit, past the first 100", async () => {
    await page.goto(`${baseUrl}/workflows/new`);
    await page.waitForFunction((n) => document.querySelectorAll("#wf-sequence-id option").length > n, 100);
    const options = await page.locator("#wf-sequence-id option").allTextContents();
    for (const name of names)
      assert.ok(
        options.some((o) => o.startsWith(name)),
        `${name} missing from ${options.length} options`,
      );
  });

  it("names a workflow's archived sequence, and doesn't offer turning a new one on for a sequence it doesn't know", async () => {
    const seqs = (await api("/api/sequences?per_page=100&status=all&q=" + encodeURIComponent(names[0]))).body.sequences;
    const seq = seqs.find((s) => s.name === names[0]);
    const made = await api("/api/workflows", {
      method: "POST",
      body: JSON.stringify({ name: `Archived ${stamp}`, sequence_id: seq.id, filters: {} }),
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal((await api(`/api/sequences/${seq.id}/archive`, { method: "POST", body: "{}" })).status, 200);
    await page.goto(`${baseUrl}/workflows/${made.body.workflow.id}/edit`);
    await page.waitForFunction((n) => document.querySelectorAll("#wf-sequence-id option").length > n, 100);
    const select = page.locator("#wf-sequence-id");
    assert.equal(await select.inputValue(), seq.id);
    assert.match((await select.locator("option:checked").textContent()) ?? "", new RegExp(names[0]));
    // A new workflow for a sequence that isn't listed (here archived, opened from its link): not offered on.
    await page.goto(`${baseUrl}/workflows/new?sequence_id=${seq.id}`);
    await page.waitForFunction((n) => document.querySelectorAll("#wf-sequence-id option").length > n, 100);
    assert.equal(await page.getByRole("checkbox", { name: /Turn it on now/ }).isDisabled(), true);
  });
});
