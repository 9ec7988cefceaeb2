// Removing a mailbox from the Mailboxes screen: the dialog says what ends, and when contacts still send
// from it (the API's 409 mailbox_in_use) shows how many and where and offers only mailboxes they can move to.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("removing a mailbox", () => {
  let browser;
  let page;
  const stamp = Date.now();
  const gone = `remove-${stamp}@demo.test`;
  const keep = `keep-${stamp}@demo.test`;
  const off = `off-${stamp}@demo.test`;
  const card = (email) => page.locator(`[data-testid="mailbox-card"][data-email="${email}"]`);

  async function connect(email) {
    await page.getByRole("button", { name: "Connect mailbox" }).click();
    const dialog = page.getByRole("dialog", { name: "Connect a mailbox" });
    await dialog.getByLabel("Email address").fill(email);
    await dialog.getByLabel("Sender name").fill("Remove Test");
    await dialog.getByRole("radio", { name: /Outbox/ }).check();
    await dialog.getByRole("button", { name: "Connect mailbox" }).click();
    await dialog.waitFor({ state: "hidden" });
    await card(email).waitFor();
  }

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    await page.goto(`${baseUrl}/mailboxes`);
    for (const e of [gone, keep, off]) await connect(e);
    await card(off).getByRole("button", { name: "Disconnect" }).click();
    const confirm = page.getByRole("dialog", { name: `Disconnect ${off}?` });
    await confirm.getByRole("button", { name: "Disconnect" }).click();
    await confirm.waitFor({ state: "hidden" });
    await card(off).getByRole("button", { name: "Reconnect" }).waitFor();
  });
  after(async () => {
    await browser?.close();
  });

  it("says what removal ends; while contacts use it, shows where and moves them to a connected mailbox first", async () => {
    await card(gone).getByRole("button", { name: "Remove" }).click();
    const dialog = page.getByRole("dialog", { name: `Remove ${gone}?` });
    assert.match(
      (await dialog.textContent()) ?? "",
      /Sending from it stops for good, replies to it are no longer read, .*You can connect this address again later as a new mailbox\./,
    );
    assert.equal(await dialog.getByLabel("Move them to").count(), 0);

    // The first removal is answered as the API answers a mailbox contacts still send from.
    const deletes = [];
    await page.route(/\/api\/mailboxes\/[^/?]+(\?.*)?$/, async (route) => {
      if (route.request().method() !== "DELETE") return route.fallback();
      deletes.push(route.request().url());
      if (deletes.length > 1) return route.fallback();
      await route.fulfill({
        status: 409,
        json: {
          error: {
            code: "mailbox_in_use",
            message: "3 contacts still send from it",
            details: {
              enrollments: 3,
              sequences: [
                { id: "s1", name: "Q1 outbound", contacts: 2 },
                { id: null, name: null, contacts: 1 },
              ],
            },
          },
        },
      });
    });
    await dialog.getByRole("button", { name: "Remove mailbox" }).click();
    const picker = dialog.getByLabel("Move them to");
    await picker.waitFor();
    const text = (await dialog.textContent()) ?? "";
    assert.match(text, /3 contacts still send from it/);
    assert.match(text, /“Q1 outbound”: 2/);
    assert.match(text, /A sequence you can't see: 1/);
    // Only mailboxes they can move to: not the one removed, not a disconnected one.
    const options = await picker.locator("option").allTextContents();
    assert.ok(options.includes(keep), options.join());
    assert.ok(!options.includes(gone) && !options.includes(off), options.join());

    await picker.selectOption({ label: keep });
    await dialog.getByRole("button", { name: "Move contacts and remove" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal(deletes.length, 2);
    const keepId = await card(keep).getAttribute("aria-labelledby");
    assert.equal(new URL(deletes[1]).searchParams.get("reassign_to"), keepId.replace(/^mb-/, ""));
    await card(gone).waitFor({ state: "detached" });
    await page.unroute(/\/api\/mailboxes\/[^/?]+(\?.*)?$/);

    await page.reload();
    await card(keep).waitFor();
    assert.equal(await card(gone).count(), 0);
  });

  it("while an add-contacts job is still to run, shows the server's words and links the job instead of offering a move", async () => {
    const deletes = [];
    const message = `1 add-contacts job still to run sends from ${keep}: “Q2 outbound” (scheduled for 2030-01-01 09:00 UTC, job j-pending); cancel it (a scheduled add) or wait until it has run`;
    await page.route(/\/api\/mailboxes\/[^/?]+(\?.*)?$/, async (route) => {
      if (route.request().method() !== "DELETE") return route.fallback();
      deletes.push(route.request().url());
      await route.fulfill({
        status: 409,
        json: {
          error: {
            code: "mailbox_in_use",
            message,
            details: {
              jobs: [
                { id: "j-pending", status: "scheduled", run_at: Date.parse("2030-01-01T09:00:00Z"), sequence: "Q2 outbound" },
                { id: null, status: "running", run_at: null, sequence: null },
              ],
              fix: "Cancel the scheduled add on its job page, or remove the mailbox once the add has run (moving its contacts with reassign_to)",
            },
          },
        },
      });
    });
    await card(keep).getByRole("button", { name: "Remove" }).click();
    const dialog = page.getByRole("dialog", { name: `Remove ${keep}?` });
    await dialog.getByRole("button", { name: "Remove mailbox" }).click();
    const pending = dialog.getByRole("alert");
    await pending.waitFor();
    const text = (await dialog.textContent()) ?? "";
    assert.ok(text.includes(message), text);
    assert.doesNotMatch(text, /NaN|contacts? still sends? from it/);
    assert.equal(await dialog.getByLabel("Move them to").count(), 0);
    assert.equal(await pending.getByRole("link", { name: "Adding contacts to “Q2 outbound”" }).getAttribute("href"), "/jobs/j-pending");
    assert.match(text, /An add-contacts job you can't see/);
    assert.equal(await dialog.getByRole("button", { name: "Move contacts and remove" }).count(), 0);

    // Nothing to retry from here: Close closes without asking the server again.
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal(deletes.length, 1);
    await page.unroute(/\/api\/mailboxes\/[^/?]+(\?.*)?$/);
    assert.equal(await card(keep).count(), 1);
  });

  it("removes an unused mailbox at once, and its address can be connected again", async () => {
    await card(off).getByRole("button", { name: "Remove" }).click();
    const dialog = page.getByRole("dialog", { name: `Remove ${off}?` });
    await dialog.getByRole("button", { name: "Remove mailbox" }).click();
    await dialog.waitFor({ state: "hidden" });
    await card(off).waitFor({ state: "detached" });
    await connect(off);
    assert.match((await card(off).textContent()) ?? "", /Connected/);
  });
});
