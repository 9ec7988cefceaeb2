// The shared page header's actions stay on screen at a phone's width: they go under the title and wrap
// among themselves (at 390px "Connect Gmail" on Mailboxes ran past the right edge). On a wide screen they
// stay on the title's line.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("the page header's actions", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch({ width: 390, height: 844 }));
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const measure = () =>
    page.evaluate(() => {
      const header = document.querySelector(".page-header");
      // The title and its description: the actions go under it, or beside it.
      const title = header.firstElementChild.getBoundingClientRect();
      const box = header.getBoundingClientRect();
      const buttons = [...header.querySelectorAll(".page-actions button, .page-actions a")].map((b) => {
        const r = b.getBoundingClientRect();
        return { name: b.textContent.trim(), left: r.left, right: r.right, top: r.top };
      });
      return { viewport: document.documentElement.clientWidth, header: { left: box.left, right: box.right }, title, buttons };
    });

  for (const [path, first] of [
    ["/mailboxes", "Connect mailbox"],
    ["/contacts", "New contact"],
  ]) {
    it(`${path}: every action is inside the header and the screen at 390px, under the title`, async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${baseUrl}${path}`);
      await page.locator(".page-actions").getByText(first, { exact: false }).first().waitFor();
      const m = await measure();
      assert.ok(m.buttons.length >= 2, `${path} has its actions: ${JSON.stringify(m.buttons)}`);
      const outside = m.buttons
        .filter((b) => b.right > Math.min(m.viewport, m.header.right) + 0.5 || b.left < m.header.left - 0.5)
        .map(
          (b) =>
            `${b.name}: ${b.left.toFixed(0)}-${b.right.toFixed(0)} outside ${m.header.left.toFixed(0)}-${Math.min(m.viewport, m.header.right).toFixed(0)}`,
        );
      assert.deepEqual(outside, []);
      assert.ok(
        m.buttons.every((b) => b.top >= m.title.bottom - 0.5),
        `actions under the title: ${JSON.stringify(m.buttons.map((b) => b.top))} vs ${m.title.bottom}`,
      );
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), m.viewport);
    });
  }

  it("/mailboxes: at 1440px the actions stay on the title's line", async () => {
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`${baseUrl}/mailboxes`);
    await page.locator(".page-actions").getByText("Connect mailbox").waitFor();
    const m = await measure();
    assert.ok(
      m.buttons.every((b) => b.top < m.title.bottom),
      `actions beside the title: ${JSON.stringify(m.buttons.map((b) => b.top))} vs ${m.title.bottom}`,
    );
  });
});
