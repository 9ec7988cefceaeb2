// The sign-in page: a local server (where the demo workspace is seeded) lists the demo accounts to pick
// from; a server that says it has none (a deployment) shows no account and no password.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pathOf } from "./helpers.mjs";

describe("sign-in page", () => {
  let b;
  before(async () => {
    b = await launch();
  });
  after(async () => {
    await b?.browser.close();
  });

  it("locally lists the demo accounts; picking one fills the form and signs in", async () => {
    const { page } = b;
    await page.goto(`${baseUrl}/login`);
    await page.getByRole("heading", { name: "Local demo accounts" }).waitFor();
    await page.getByRole("button", { name: /rep1@demo\.test/ }).click();
    assert.equal(await page.getByLabel("Work email").inputValue(), "rep1@demo.test");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    assert.equal(pathOf(page), "/");
  });

  it("a server without the demo accounts shows neither them nor their password", async () => {
    const page = await b.browser.newPage();
    await page.route("**/api/auth/options", (route) => route.fulfill({ json: { demo_accounts: false } }));
    const answered = page.waitForResponse("**/api/auth/options");
    await page.goto(`${baseUrl}/login`);
    await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
    // The answer has come and been drawn: the form is there, the hint is not.
    await answered;
    await page.waitForTimeout(300);
    assert.equal(await page.getByText("Local demo accounts").count(), 0);
    assert.equal(await page.getByText("demo1234").count(), 0);
    await page.close();
  });
});
