// The app shell end to end: sign in, the frame, contacts, API keys, sign out, sign-in errors.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pathOf, signIn } from "./helpers.mjs";

describe("app shell", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
  });
  after(async () => {
    await browser?.close();
  });

  it("signs in through the form and shows the frame with the user and team", async () => {
    await signIn(page, "admin@demo.test");
    // Home (the dashboard) is the landing page after sign-in.
    await page.waitForURL(`${baseUrl}/`);
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const label of ["Sequences", "Contacts", "Lists", "Mailboxes", "Workflows", "Credits", "Settings"]) {
      assert.equal(await nav.getByRole("link", { name: label, exact: true }).count(), 1, `nav has ${label}`);
    }
    assert.equal(await page.getByTestId("user-email").textContent(), "admin@demo.test");
    assert.match((await page.getByTestId("team-name").textContent()) ?? "", /Demo/);
    assert.match((await page.getByTestId("credit-balance").textContent()) ?? "", /^[\d,.\s]+$/);
  });

  it("lists contacts in a paginated table", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Contacts" }).click();
    await page.waitForURL(`${baseUrl}/contacts`);
    const rows = page.locator("table tbody tr");
    await rows.first().waitFor();
    assert.ok((await rows.count()) > 0, "at least one contact row");
    const summary = (await page.locator(".pagination-summary").textContent()) ?? "";
    assert.match(summary, /^1–\d[\d,]* of \d[\d,]*$/);

    const next = page.getByRole("button", { name: "Next page" });
    if (await next.isEnabled()) {
      const firstRow = await rows.first().textContent();
      await next.click();
      await page.waitForURL(/[?&]page=2/);
      await page.waitForFunction((prev) => document.querySelector("table tbody tr")?.textContent !== prev, firstRow);
      assert.match((await page.locator(".pagination-summary").textContent()) ?? "", /^\d[\d,]*–/);
    }
  });

  it("creates a standard API key, shows it once, and revokes it", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    await page.getByRole("tab", { name: "API keys" }).click();
    const name = `browser test ${Date.now()}`;
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Kind").selectOption("standard");
    await page.getByRole("button", { name: "Create key" }).click();

    const secret = ((await page.getByTestId("new-api-key").textContent()) ?? "").trim();
    assert.match(secret, /^sf_s_/);
    assert.match((await page.getByRole("region", { name: /created/ }).textContent()) ?? "", /won't be shown again/);
    await page.getByRole("button", { name: "I've saved it" }).click();
    await page.getByTestId("new-api-key").waitFor({ state: "detached" });
    assert.ok(!(await page.content()).includes(secret), "the key is not shown again");

    const row = page.locator("tr", { hasText: name });
    await row.getByText("Active").waitFor();
    assert.match((await row.textContent()) ?? "", /Standard/);

    await page.getByRole("button", { name: `Revoke API key ${name}` }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke this API key?" });
    await dialog.getByRole("button", { name: "Revoke key" }).click();
    await dialog.waitFor({ state: "hidden" });
    await row.getByText("Revoked").waitFor();
    assert.equal(await page.getByRole("button", { name: `Revoke API key ${name}` }).count(), 0);
  });

  it("signs out back to the sign-in page and ends the session", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${baseUrl}/login`);
    await page.goto(`${baseUrl}/contacts`);
    await page.waitForURL(/\/login\?next=%2Fcontacts$/);
    assert.equal(pathOf(page), "/login");
  });
});

describe("sign-in errors", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
  });
  after(async () => {
    await browser?.close();
  });

  it("shows the API's message for a wrong email or password", async () => {
    // An address nobody has: the API answers exactly as for a wrong password (no user enumeration),
    // and the failure doesn't count towards locking out a demo account shared with other tests.
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel("Work email").fill(`nobody-${Date.now()}@demo.test`);
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? "", /Email or password is incorrect/);
    assert.equal(pathOf(page), "/login");
  });

  it("shows the rate-limit message when sign-in is throttled", async () => {
    // Simulated: really tripping the limiter would lock out the shared local IP for 15 minutes.
    await page.route("**/api/auth/login", (route) =>
      route.fulfill({
        status: 429,
        contentType: "application/json",
        headers: { "retry-after": "900" },
        body: JSON.stringify({
          error: { code: "rate_limited", message: "Too many failed sign-in attempts. Wait 15 minutes and try again." },
        }),
      }),
    );
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel("Work email").fill("admin@demo.test");
    await page.getByLabel("Password").fill("demo1234");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? "", /Too many failed sign-in attempts/);
    await page.unroute("**/api/auth/login");
  });
});
