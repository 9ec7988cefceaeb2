// Settings → API keys: the revoke dialog says how much work the key started is still to run (a scheduled
// add here), since revoking the key fails it; with none left, it says so.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("revoking an API key with work still to run", () => {
  const name = `Revoke check ${Date.now()}`;
  let admin;
  let key;
  let jobId;
  const api = async (method, path, body) => {
    const r = await fetch(`${baseUrl}/api${path}`, {
      method,
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  };

  before(async () => {
    admin = await launch();
    await signIn(admin.page, "admin@demo.test");
  });
  after(async () => {
    await admin?.browser.close();
  });

  it("counts the key's scheduled add in the dialog, and says none once it is cancelled", async () => {
    const { page } = admin;
    await page.goto(`${baseUrl}/settings?tab=api-keys`);
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Kind").selectOption("master");
    await page.getByRole("button", { name: "Create key" }).click();
    key = ((await page.getByTestId("new-api-key").textContent()) ?? "").trim();
    assert.match(key, /^sf_m_/);
    await page.getByRole("button", { name: "I've saved it" }).click();

    // An add scheduled a month ahead, made with the key.
    const { sequences } = await api("GET", "/sequences?status=active&per_page=1");
    const { contacts } = await api("GET", "/contacts?per_page=1");
    const added = await api("POST", `/sequences/${sequences[0].id}/add-contacts`, {
      source: { contact_ids: [contacts[0].id] },
      add_at: Date.now() + 30 * 24 * 3600 * 1000,
    });
    jobId = added.job?.id ?? added.id;
    assert.ok(jobId, JSON.stringify(added));

    await page.reload();
    await page.getByRole("button", { name: `Revoke API key ${name}` }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke this API key?" });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? "", /1 job made with this key is still to run\. Scheduled adds fail/);
    await page.screenshot({ path: "/tmp/f7-revoke-dialog.png" });
    await dialog.getByRole("button", { name: "Cancel" }).click();

    // Cancelled (so no other test's mailbox is held by it), nothing is left to end.
    await api("POST", `/jobs/${jobId}/cancel`);
    await page.reload();
    await page.getByRole("button", { name: `Revoke API key ${name}` }).click();
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? "", /No work it started is still waiting to run/);
    await dialog.getByRole("button", { name: "Revoke key" }).click();
    await dialog.waitFor({ state: "hidden" });
  });
});
