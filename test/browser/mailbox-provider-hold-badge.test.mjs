// A connected mailbox held by its provider's limit (capacity.hold) sends nothing until the hold ends: its
// card's badge says it is held and until when, in amber, never a green Connected.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const LIST = /\/api\/mailboxes(\?.*)?$/;

describe("a mailbox held by its provider", () => {
  let browser;
  let page;
  const held = `provider-hold-${Date.now()}@demo.test`;
  const card = () => page.locator(`[data-testid="mailbox-card"][data-email="${held}"]`);
  const badge = () => card().locator(".mailbox-badges .badge").first();

  /** Answers the mailbox list as the server does, with this test's mailbox held for `cause` until `until`. */
  async function holdFor(cause, until) {
    await page.unroute(LIST);
    await page.route(LIST, async (route) => {
      if (route.request().method() !== "GET") return route.fallback();
      const response = await route.fetch();
      const body = await response.json();
      body.mailboxes.find((m) => m.email === held).capacity.hold = { cause, until, reason: "The provider refused more email for now." };
      await route.fulfill({ response, json: body });
    });
  }
  /** The hold's end as the page's locale writes a time of day. */
  const clock = (ms) => page.evaluate((t) => new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" }).format(t), ms);

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    await page.goto(`${baseUrl}/mailboxes`);
    await page.getByRole("button", { name: "Connect mailbox" }).click();
    const dialog = page.getByRole("dialog", { name: "Connect a mailbox" });
    await dialog.getByLabel("Email address").fill(held);
    await dialog.getByLabel("Sender name").fill("Provider Hold");
    await dialog.getByRole("radio", { name: /Outbox/ }).check();
    await dialog.getByRole("button", { name: "Connect mailbox" }).click();
    await dialog.waitFor({ state: "hidden" });
    await card().waitFor();
    assert.equal(((await badge().textContent()) ?? "").trim(), "Connected");
  });
  after(async () => {
    await browser?.close();
  });

  it("says Held: provider limit until its end, in amber, with the hold explained below", async () => {
    // Five minutes on: still today (but for a run in the last minutes before midnight, which the label then dates).
    const until = Date.now() + 5 * 60_000;
    await holdFor("rate_limited", until);
    await page.goto(`${baseUrl}/mailboxes`);
    await card()
      .getByText(/limit reached: sending resumes at/)
      .waitFor();
    const text = ((await badge().textContent()) ?? "").trim();
    assert.match(text, /^Held: provider limit until /);
    assert.ok(text.endsWith(await clock(until)), `"${text}" ends with the hold's end`);
    assert.match((await badge().getAttribute("class")) ?? "", /badge-warning/);
    assert.doesNotMatch((await card().locator(".mailbox-badges").textContent()) ?? "", /Connected/);

    // On a phone the long badge leaves the address its room (it wraps below rather than squeezing it away).
    await page.setViewportSize({ width: 390, height: 900 });
    const name = await card().locator(".mailbox-who").boundingBox();
    assert.ok(name && name.width >= 160, `the address has ${name?.width.toFixed(0)}px beside the badge`);
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it("says Held: sign-in when the provider's sign-in could not be refreshed", async () => {
    const until = Date.now() + 5 * 60_000;
    await holdFor("sign_in", until);
    await page.goto(`${baseUrl}/mailboxes`);
    await card()
      .getByText(/sign-in could not be refreshed: sending resumes at/)
      .waitFor();
    const text = ((await badge().textContent()) ?? "").trim();
    assert.match(text, /^Held: sign-in failing until /);
    assert.match((await badge().getAttribute("class")) ?? "", /badge-warning/);
    await page.unroute(LIST);
  });

  it("says Connected again once the hold is over", async () => {
    await page.goto(`${baseUrl}/mailboxes`);
    await card().waitFor();
    assert.equal(((await badge().textContent()) ?? "").trim(), "Connected");
    assert.match((await badge().getAttribute("class")) ?? "", /badge-success/);
  });
});
