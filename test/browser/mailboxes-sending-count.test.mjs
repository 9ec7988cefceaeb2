// The Mailboxes header counts what sends: a connected mailbox held (by its provider's limit or by its reply
// check after a reconnect) sends nothing, so it is counted as held, not among the sending.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const LIST = /\/api\/mailboxes(\?.*)?$/;

describe("the Mailboxes header's count", () => {
  let browser;
  let page;
  const stamp = Date.now();
  const base = `count-${stamp}@demo.test`;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    await page.goto(`${baseUrl}/mailboxes`);
    await page.getByRole("button", { name: "Connect mailbox" }).click();
    const dialog = page.getByRole("dialog", { name: "Connect a mailbox" });
    await dialog.getByLabel("Email address").fill(base);
    await dialog.getByLabel("Sender name").fill("Count Test");
    await dialog.getByRole("radio", { name: /Outbox/ }).check();
    await dialog.getByRole("button", { name: "Connect mailbox" }).click();
    await dialog.waitFor({ state: "hidden" });
  });
  after(async () => {
    await browser?.close();
  });

  it("says how many of all send and how many connected ones are held", async () => {
    // Five mailboxes: two sending, one held by its provider, one held for its reply check, one disconnected.
    await page.route(LIST, async (route) => {
      if (route.request().method() !== "GET") return route.fallback();
      const response = await route.fetch();
      const body = await response.json();
      const mine = body.mailboxes.find((m) => m.email === base);
      const make = (n, change) => {
        const m = structuredClone(mine);
        m.id = `${mine.id}-${n}`;
        m.email = `count-${n}-${stamp}@demo.test`;
        m.status = "connected";
        m.held_for_reply_check = null;
        m.capacity = { ...m.capacity, hold: null };
        change(m);
        return m;
      };
      body.mailboxes = [
        make("a", () => {}),
        make("b", () => {}),
        make("c", (m) => (m.capacity.hold = { cause: "rate_limited", until: Date.now() + 3_600_000, reason: "Too many." })),
        make("d", (m) => (m.held_for_reply_check = { since: Date.now() - 60_000, error: null })),
        make("e", (m) => (m.status = "disconnected")),
      ];
      await route.fulfill({ response, json: body });
    });
    await page.goto(`${baseUrl}/mailboxes`);
    // The header's first figure (by position, so a page without this count's test id shows what it says instead).
    const stat = page.locator(".stat-row .stat-card").first();
    await stat.waitFor();
    const text = ((await stat.textContent()) ?? "").replace(/\s+/g, " ").trim();
    assert.match(text, /2 of 5 sending · 2 held/);
    assert.doesNotMatch(text, /Connected/);
    assert.equal(await stat.getAttribute("data-testid"), "mailboxes-sending");
    await page.unroute(LIST);
  });
});
