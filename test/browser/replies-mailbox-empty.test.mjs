// The replies inbox filtered to a mailbox with no replies says the filters match nothing, not "No replies yet" (the
// team has replies; this mailbox's filter hides them), and the Outbox keeps a mailbox in its URL it can't list
// selected, by id, as the inbox does, rather than showing "All mailboxes" over a filtered list.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("mailbox filters", () => {
  let browser;
  let page;
  let cleanup = async () => {};

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await cleanup();
    await browser?.close();
  });

  it("a mailbox with no replies: the inbox's empty state names the filters", async () => {
    const api = pageApi(page);
    const all = (await api("GET", "/replies?per_page=1")).body;
    assert.ok(all.pagination.total_entries > 0, "the demo team has replies");
    // A mailbox of its own, which sent nothing and so has no replies (every demo mailbox has some); removed after.
    const made = await api("POST", "/mailboxes", { email: `zz-no-replies-${Date.now()}@demo.test`, sender_name: "No replies" });
    assert.equal(made.status, 201);
    const quiet = made.body.mailbox;
    cleanup = () => api("DELETE", `/mailboxes/${quiet.id}`);
    assert.equal((await api("GET", `/replies?per_page=1&mailbox_id=${quiet.id}`)).body.pagination.total_entries, 0);

    await page.goto(`${baseUrl}/replies?mailbox_id=${quiet.id}`);
    await page.getByText("No replies match these filters").waitFor();
    assert.equal(await page.getByText("No replies yet").count(), 0);
    await page.waitForFunction((id) => document.querySelector("[data-testid=reply-mailbox]")?.value === id, quiet.id);
  });

  it("the Outbox keeps a mailbox it can't list selected, by id", async () => {
    await page.goto(`${baseUrl}/outbox?mailbox=mbx_not_yours`);
    const select = page.locator("label.inline-select", { hasText: "Mailbox" }).locator("select");
    await page.waitForFunction(() => {
      const s = [...document.querySelectorAll("label.inline-select select")].find((el) =>
        el.closest("label")?.textContent?.includes("Mailbox"),
      );
      return s?.selectedOptions[0]?.textContent?.trim() === "A mailbox you can't see";
    });
    assert.equal(await select.inputValue(), "mbx_not_yours");
  });
});
