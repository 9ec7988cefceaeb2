// Gmail / Microsoft 365 on the Mailboxes screen, on a server without OAuth apps configured (as
// `npm start` runs): the connect buttons say what an admin must set, and a sign-in that came back with
// an error code shows that code's words (never the URL's text).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("connecting Gmail and Microsoft 365", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("explains what to configure when the server has no Google OAuth app", async () => {
    await page.goto(`${baseUrl}/mailboxes`);
    await page.getByRole("button", { name: "Connect Gmail" }).click();
    const help = page.getByRole("status").filter({ hasText: "Google sign-in is not configured" });
    await help.waitFor();
    const text = (await help.textContent()) ?? "";
    assert.match(text, /GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET/);
    assert.match(text, /\/api\/oauth\/google\/callback/);
    await page.getByRole("button", { name: "Connect Microsoft 365" }).click();
    await page.getByRole("status").filter({ hasText: "MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET" }).waitFor();
  });

  it("shows why a sign-in that came back failed, in its own words only", async () => {
    await page.goto(`${baseUrl}/mailboxes?connect_error=denied`);
    await page.getByText("Mailbox not connected: Access was not allowed on the sign-in screen.").first().waitFor();
    // A crafted link's text never reaches the screen.
    await page.goto(`${baseUrl}/mailboxes?connect_error=${encodeURIComponent("Your account is locked: call +1 555 0100")}`);
    await page.getByText("Mailbox not connected: The sign-in did not complete. Try Connect again.").first().waitFor();
    assert.doesNotMatch((await page.locator("body").textContent()) ?? "", /555 0100/);
  });
});
