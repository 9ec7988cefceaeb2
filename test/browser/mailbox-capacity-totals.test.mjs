// Capacity as Home and the Mailboxes header tell it: a held mailbox says it is held (not what is "left"),
// and "Sent, last 24 hours" counts sends and limits over the same mailboxes (the connected ones).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const LIST = /\/api\/mailboxes(\?.*)?$/;

describe("mailbox capacity on Home and the Mailboxes header", () => {
  let browser;
  let page;
  const stamp = Date.now();
  const held = `held-${stamp}@demo.test`;
  const until = Date.now() + 3 * 3600_000;

  /** Answers the mailbox list as the server does, then changed by `edit`. */
  async function rewrite(edit) {
    await page.unroute(LIST);
    await page.route(LIST, async (route) => {
      if (route.request().method() !== "GET") return route.fallback();
      const response = await route.fetch();
      const body = await response.json();
      edit(body.mailboxes);
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
    await dialog.getByLabel("Sender name").fill("Held Test");
    await dialog.getByRole("radio", { name: /Outbox/ }).check();
    await dialog.getByRole("button", { name: "Connect mailbox" }).click();
    await dialog.waitFor({ state: "hidden" });
  });
  after(async () => {
    await browser?.close();
  });

  it("Home names a held mailbox's hold and when it ends, in the Mailboxes card's words, instead of what is left", async () => {
    await rewrite((list) => {
      const m = list.find((x) => x.email === held);
      m.capacity.hold = { cause: "rate_limited", until, reason: "The provider refused more email for now." };
    });
    await page.goto(`${baseUrl}/`);
    const row = page.getByTestId("home-capacity").locator("li", { hasText: held });
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    assert.match(text, /Outbox \(test\) limit reached: held until/);
    assert.doesNotMatch(text, /left of/);
    const time = row.locator("time");
    assert.equal(await time.getAttribute("datetime"), new Date(until).toISOString());

    await page.goto(`${baseUrl}/mailboxes`);
    const card = page.locator(`[data-testid="mailbox-card"][data-email="${held}"]`);
    await card.waitFor();
    assert.match((await card.textContent()) ?? "", /Outbox \(test\) limit reached: sending resumes at/);
    await page.unroute(LIST);
  });

  it("the header's sent total counts the connected mailboxes' sends against their limits, not a disconnected one's sends", async () => {
    await rewrite((list) => {
      const base = list.find((x) => x.email === held);
      const on = structuredClone(base);
      on.capacity = { ...on.capacity, used_last_24h: 10, hold: null };
      on.daily_limit = 50;
      on.status = "connected";
      const off = structuredClone(base);
      off.id = `${base.id}-off`;
      off.email = `off-${stamp}@demo.test`;
      off.status = "disconnected";
      off.capacity = { ...off.capacity, used_last_24h: 110, hold: null };
      off.daily_limit = 50;
      list.splice(0, list.length, on, off);
    });
    await page.goto(`${baseUrl}/mailboxes`);
    const sent = page.locator(".stat-card", { hasText: "Sent, last 24 hours" });
    await sent.waitFor();
    const text = ((await sent.textContent()) ?? "").replace(/\s+/g, " ");
    assert.match(text, /Sent, last 24 hours ?10 of 50/);
    assert.match((await sent.getAttribute("title")) ?? "", /connected mailboxes/);
    await page.unroute(LIST);
  });
});
