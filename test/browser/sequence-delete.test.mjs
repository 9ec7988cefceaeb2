// Deleting a sequence from its menu, on the Sequences list and in the editor: one nobody was added to goes
// after a confirm that says what goes; one with contacts offers "Archive instead" and says why.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, pathOf, signIn } from "./helpers.mjs";

describe("deleting a sequence", () => {
  let browser;
  let page;
  let api;
  const stamp = Date.now();

  /** A sequence made by mistake: one call step, nobody added. */
  async function made(name) {
    const { body } = await api("POST", "/sequences", { name });
    const step = await api("POST", `/sequences/${body.sequence.id}/steps`, {
      type: "call",
      position: 1,
      wait_amount: 0,
      wait_unit: "days",
      note: "Call",
    });
    assert.equal(step.status, 201);
    return body.sequence.id;
  }

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    api = pageApi(page);
  });
  after(async () => {
    await browser?.close();
  });

  it("from the list: the row's menu deletes one nobody was added to, after saying what goes", async () => {
    const name = `Delete me ${stamp}`;
    const id = await made(name);
    await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent(String(stamp))}`);
    const row = page.locator(`tr[data-sequence-id="${id}"]`);
    await row.waitFor();
    await row.getByRole("button", { name: `Actions for “${name}”` }).click();
    const item = page.getByRole("menuitem", { name: /Delete…/ });
    assert.match((await item.textContent()) ?? "", /Nobody was ever added to it: it can go for good/);
    await item.click();
    const dialog = page.getByRole("dialog", { name: `Delete “${name}”?` });
    assert.match(
      (await dialog.textContent()) ?? "",
      /It goes for good: its step with their email variants, its settings and who it is shared with\. Nobody was ever added to it, so no contacts, reports or replies are lost\.This can't be undone\./,
    );
    await dialog.getByRole("button", { name: "Delete sequence" }).click();
    await dialog.waitFor({ state: "hidden" });
    await row.waitFor({ state: "detached" });
    await page.getByText(`Deleted “${name}”`).waitFor();
    assert.equal((await api("GET", `/sequences/${id}`)).status, 404);
  });

  it("from the list: one with contacts offers Archive instead, saying why", async () => {
    const { body } = await api("GET", "/sequences?status=active&per_page=100");
    const used = body.sequences.find((s) => s.in_use === "contacts" && s.can_manage);
    assert.ok(used, "a demo sequence with contacts");
    await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent(used.name)}`);
    const row = page.locator(`tr[data-sequence-id="${used.id}"]`);
    await row.getByRole("button", { name: `Actions for “${used.name}”` }).click();
    const items = page.getByRole("menuitem");
    assert.equal(await items.count(), 1);
    assert.match(
      (await items.first().textContent()) ?? "",
      /Archive instead.*Contacts were added to it, so it can't be deleted: archiving stops it and keeps its reports and replies/,
    );
    await items.first().click();
    const dialog = page.getByRole("dialog", { name: `Archive “${used.name}”?` });
    await dialog.waitFor();
    // Not archived here: the demo's sequence stays as it is for the other tests.
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal((await api("GET", `/sequences/${used.id}`)).body.sequence.archived_at, null);
  });

  it("from the editor: More actions deletes it and goes back to the list", async () => {
    const name = `Editor delete ${stamp}`;
    const id = await made(name);
    await page.goto(`${baseUrl}/sequences/${id}`);
    await page.getByRole("button", { name: "More actions for this sequence" }).click();
    await page.getByRole("menuitem", { name: /Delete…/ }).click();
    const dialog = page.getByRole("dialog", { name: `Delete “${name}”?` });
    await dialog.getByRole("button", { name: "Delete sequence" }).click();
    await page.waitForURL((u) => u.pathname === "/sequences");
    assert.equal(pathOf(page), "/sequences");
    await page.getByText(`Deleted “${name}”`).waitFor();
    assert.equal((await api("GET", `/sequences/${id}`)).status, 404);
  });
});
