// A mailbox held for its reply check after a reconnect sends nothing: its Mailboxes card badge says it is
// held (or that the check is failing), never a green Connected, and Home's capacity row says it waits.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const LIST = /\/api\/mailboxes(\?.*)?$/;

describe("a mailbox held for its reply check", () => {
  let browser;
  let page;
  const stamp = Date.now();
  const held = `reply-check-${stamp}@demo.test`;
  const since = Date.now() - 20 * 60_000;
  const card = () => page.locator(`[data-testid="mailbox-card"][data-email="${held}"]`);
  const badge = () => card().locator(".mailbox-badges .badge").first();

  /** Answers the mailbox list as the server does, with this test's mailbox signed in with Gmail and held. */
  async function holdFor(error) {
    await page.unroute(LIST);
    await page.route(LIST, async (route) => {
      if (route.request().method() !== "GET") return route.fallback();
      const response = await route.fetch();
      const body = await response.json();
      Object.assign(
        body.mailboxes.find((m) => m.email === held),
        { transport: "gmail", smtp: null, reply_check: { checked_at: null, error }, held_for_reply_check: { since, error } },
      );
      await route.fulfill({ response, json: body });
    });
  }

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    await page.goto(`${baseUrl}/mailboxes`);
    await page.getByRole("button", { name: "Connect mailbox" }).click();
    const dialog = page.getByRole("dialog", { name: "Connect a mailbox" });
    await dialog.getByLabel("Email address").fill(held);
    await dialog.getByLabel("Sender name").fill("Reply Check");
    await dialog.getByRole("radio", { name: /Outbox/ }).check();
    await dialog.getByRole("button", { name: "Connect mailbox" }).click();
    await dialog.waitFor({ state: "hidden" });
    await card().waitFor();
    assert.equal(((await badge().textContent()) ?? "").trim(), "Connected");
  });
  after(async () => {
    await browser?.close();
  });

  it("says Held: checking replies, in amber, while the check has not read the inbox", async () => {
    await holdFor(null);
    await page.goto(`${baseUrl}/mailboxes`);
    await card().getByTestId("mailbox-held-for-reply-check").waitFor();
    assert.equal(((await badge().textContent()) ?? "").trim(), "Held: checking replies");
    assert.match((await badge().getAttribute("class")) ?? "", /badge-warning/);
    assert.doesNotMatch((await card().locator(".mailbox-badges").textContent()) ?? "", /Connected/);

    await page.goto(`${baseUrl}/`);
    const row = page.getByTestId("home-capacity").locator("li", { hasText: held });
    await row.getByTestId("home-mailbox-reply-check").waitFor();
    assert.match((await row.textContent()) ?? "", /Checking for replies after the reconnect: sending waits/);
    assert.doesNotMatch((await row.textContent()) ?? "", /left of/);
  });

  it("says Reply check failing when the check has an error", async () => {
    await holdFor("Gmail refused the inbox read (403).");
    await page.goto(`${baseUrl}/mailboxes`);
    await card().getByTestId("mailbox-held-for-reply-check").waitFor();
    assert.equal(((await badge().textContent()) ?? "").trim(), "Reply check failing");
    assert.match((await badge().getAttribute("class")) ?? "", /badge-danger/);
    assert.doesNotMatch((await card().locator(".mailbox-badges").textContent()) ?? "", /Connected/);

    await page.goto(`${baseUrl}/`);
    const row = page.getByTestId("home-capacity").locator("li", { hasText: held });
    await row.getByTestId("home-mailbox-reply-check").waitFor();
    assert.match((await row.textContent()) ?? "", /Reply check failing after the reconnect/);
    await page.unroute(LIST);
  });

  it("says Connected again once the check has read the inbox", async () => {
    await page.goto(`${baseUrl}/mailboxes`);
    await card().waitFor();
    assert.equal(((await badge().textContent()) ?? "").trim(), "Connected");
    assert.match((await badge().getAttribute("class")) ?? "", /badge-success/);
  });
});
