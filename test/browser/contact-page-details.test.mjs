// A contact's page shows what a call or LinkedIn step needs (phone, LinkedIn, time zone) and deletes the
// contact after the same confirmation the Contacts page asks.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("contact page: details and delete", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("shows the phone, LinkedIn and time zone, and deletes the contact once confirmed", async () => {
    const api = pageApi(page);
    const last = `Details ${Date.now()}`;
    const made = await api("POST", "/contacts", {
      first_name: "Page",
      last_name: last,
      phone: "+1 415 555 0100",
      linkedin_url: "https://www.linkedin.com/in/page-details",
      time_zone: "America/Los_Angeles",
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = made.body.contact.id;
    await page.goto(`${baseUrl}/contacts/${id}`);
    const details = page.getByTestId("contact-details");
    await details.waitFor();
    assert.equal(await details.locator("dt:text-is('Phone') + dd").textContent(), "+1 415 555 0100");
    assert.equal(await details.locator("dt:text-is('Phone') + dd a").getAttribute("href"), "tel:+14155550100");
    assert.equal(await details.locator("dt:text-is('LinkedIn') + dd").textContent(), "https://www.linkedin.com/in/page-details");
    assert.equal(await details.locator("dt:text-is('Time zone') + dd").textContent(), "America/Los_Angeles");

    await page.getByTestId("contact-delete").click();
    const confirm = page.getByRole("dialog", { name: "Delete 1 contact?" });
    await confirm.getByText("They leave every list and are never emailed again by any sequence.").waitFor();
    await confirm.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await api("GET", `/contacts/${id}`)).status, 200);
    await page.getByTestId("contact-delete").click();
    await page.getByRole("dialog", { name: "Delete 1 contact?" }).getByRole("button", { name: "Delete" }).click();
    try {
      await page.waitForURL((u) => u.pathname === "/contacts", { waitUntil: "commit" });
    } catch (e) {
      // What the screen said instead (a refusal toast, an error panel).
      throw new Error(`${e.message}\n${page.url()}\n${await page.locator("body").innerText()}`);
    }
    assert.equal((await api("GET", `/contacts/${id}`)).status, 404);
  });
});
