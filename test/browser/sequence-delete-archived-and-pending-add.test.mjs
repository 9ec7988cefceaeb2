// The sequence menu for a sequence nobody is in: an archived one nobody was added to offers Delete… (on the
// list and in the editor) with the same confirm, and goes; one with only a scheduled add says an add is
// scheduled (not that contacts were added), and once that add is cancelled, that one was cancelled.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("deleting a sequence nobody is in", () => {
  let browser;
  let page;
  let api;
  const stamp = Date.now();

  /** A sequence with one call step, nobody added; archived when asked. */
  async function made(name, { archived = false, on = false } = {}) {
    const { body } = await api("POST", "/sequences", { name });
    const id = body.sequence.id;
    const step = await api("POST", `/sequences/${id}/steps`, {
      type: "call",
      position: 1,
      wait_amount: 0,
      wait_unit: "days",
      note: "Call",
    });
    assert.equal(step.status, 201);
    if (on) assert.equal((await api("PATCH", `/sequences/${id}`, { active: true })).status, 200);
    if (archived) assert.equal((await api("POST", `/sequences/${id}/archive`)).status, 200);
    return id;
  }

  /** The one item of a row's menu on the list, its text. */
  async function rowItem(id, name, status) {
    await page.goto(`${baseUrl}/sequences?${status ? `status=${status}&` : ""}q=${encodeURIComponent(name)}`);
    const row = page.locator(`tr[data-sequence-id="${id}"]`);
    await row.waitFor();
    await row.getByRole("button", { name: `Actions for “${name}”` }).click();
    const items = page.getByRole("menuitem");
    assert.equal(await items.count(), 1);
    return { row, item: items.first(), text: (await items.first().textContent()) ?? "" };
  }

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    api = pageApi(page);
  });
  after(async () => {
    await browser?.close();
  });

  it("an archived sequence nobody was added to: the list's menu offers Delete…, confirms, and it goes", async () => {
    const name = `Archived unused ${stamp}`;
    const id = await made(name, { archived: true });
    const { row, item, text } = await rowItem(id, name, "archived");
    assert.match(text, /Delete….*Nobody was ever added to it: it can go for good/);
    await item.click();
    const dialog = page.getByRole("dialog", { name: `Delete “${name}”?` });
    assert.match((await dialog.textContent()) ?? "", /It goes for good: its step with their email variants.*This can't be undone\./);
    await dialog.getByRole("button", { name: "Delete sequence" }).click();
    await row.waitFor({ state: "detached" });
    await page.getByText(`Deleted “${name}”`).waitFor();
    assert.equal((await api("GET", `/sequences/${id}`)).status, 404);
  });

  it("an archived sequence nobody was added to: the editor's More actions deletes it", async () => {
    const name = `Archived editor ${stamp}`;
    const id = await made(name, { archived: true });
    await page.goto(`${baseUrl}/sequences/${id}`);
    await page.getByText("This sequence is archived.").waitFor();
    await page.getByRole("button", { name: "More actions for this sequence" }).click();
    await page.getByRole("menuitem", { name: /Delete…/ }).click();
    const dialog = page.getByRole("dialog", { name: `Delete “${name}”?` });
    await dialog.getByRole("button", { name: "Delete sequence" }).click();
    await page.waitForURL((u) => u.pathname === "/sequences");
    await page.getByText(`Deleted “${name}”`).waitFor();
    assert.equal((await api("GET", `/sequences/${id}`)).status, 404);
  });

  it("one with only a scheduled add says an add is scheduled, not that contacts were added; cancelled, it says so", async () => {
    const name = `Scheduled add ${stamp}`;
    const id = await made(name, { on: true });
    const { body } = await api("GET", "/contacts?per_page=1");
    const added = await api("POST", `/sequences/${id}/add-contacts`, {
      source: { contact_ids: [body.contacts[0].id] },
      add_at: Date.now() + 30 * 24 * 3600 * 1000,
    });
    assert.equal(added.status, 202, JSON.stringify(added.body));
    try {
      const pending = await rowItem(id, name);
      assert.match(
        pending.text,
        /Archive instead.*An add of contacts to it is scheduled or under way \(nobody is in it yet\), so it can't be deleted/,
      );
      assert.doesNotMatch(pending.text, /Contacts were added/);
      await page.keyboard.press("Escape");
    } finally {
      // Cancelled, so no other test's mailbox is held by it.
      assert.equal((await api("POST", `/jobs/${added.body.job.id}/cancel`)).status, 200);
    }
    const cancelled = await rowItem(id, name);
    assert.match(
      cancelled.text,
      /Archive instead.*An add of contacts to it finished or was cancelled \(nobody is in it\), so it can't be deleted/,
    );
    await page.keyboard.press("Escape");
    assert.equal((await api("GET", `/sequences/${id}`)).body.sequence.in_use, "add_history");
  });
});
