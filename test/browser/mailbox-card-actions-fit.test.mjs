// A mailbox card's buttons stay inside the card at every width: its actions row wraps rather than running
// "Remove" past the card's right border (at 1440px the cards are narrow enough for that).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("a mailbox card's actions", () => {
  let browser;
  let page;
  const email = `actions-fit-${Date.now()}@demo.test`;
  const card = () => page.locator(`[data-testid="mailbox-card"][data-email="${email}"]`);

  before(async () => {
    ({ browser, page } = await launch({ width: 1440, height: 900 }));
    await signIn(page, "admin@demo.test");
    await page.goto(`${baseUrl}/mailboxes`);
    await page.getByRole("button", { name: "Connect mailbox" }).click();
    const dialog = page.getByRole("dialog", { name: "Connect a mailbox" });
    await dialog.getByLabel("Email address").fill(email);
    await dialog.getByLabel("Sender name").fill("Actions Fit");
    await dialog.getByRole("radio", { name: /Outbox/ }).check();
    await dialog.getByRole("button", { name: "Connect mailbox" }).click();
    await dialog.waitFor({ state: "hidden" });
    await card().waitFor();
  });
  after(async () => {
    await browser?.close();
  });

  for (const width of [1440, 1024, 390]) {
    it(`every button stays within its card at ${width}px wide`, async () => {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${baseUrl}/mailboxes`);
      await card().getByRole("button", { name: "Remove" }).waitFor();
      // All of an editable connected card's buttons are there, Remove last.
      const names = (await card().locator(".card-actions button").allTextContents()).map((t) => t.trim());
      assert.deepEqual(names, ["Scheduled", "Send test", "Edit", "Disconnect", "Remove"]);
      const overflow = await page.evaluate(() =>
        [...document.querySelectorAll('[data-testid="mailbox-card"]')].flatMap((c) => {
          const box = c.getBoundingClientRect();
          return [...c.querySelectorAll(".card-actions button")]
            .map((b) => ({ name: b.textContent.trim(), right: b.getBoundingClientRect().right, left: b.getBoundingClientRect().left }))
            .filter((b) => b.right > box.right + 0.5 || b.left < box.left - 0.5)
            .map((b) => `${c.getAttribute("data-email")}: ${b.name} ends at ${b.right.toFixed(0)} past the card's ${box.right.toFixed(0)}`);
        }),
      );
      assert.deepEqual(overflow, []);
    });
  }
});
