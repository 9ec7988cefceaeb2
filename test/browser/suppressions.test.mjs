// Settings → Do not email: an admin sees the team's suppressed addresses, adds one by hand, finds it and
// removes it; an unsubscribe is only removed with the person's consent ticked; a contact whose address is
// on the list says so on its profile; a member is told only admins manage the list.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("the Do not email list", () => {
  const address = `dne-${Date.now()}@example.test`;
  let admin;

  before(async () => {
    admin = await launch();
    await signIn(admin.page, "admin@demo.test");
  });
  after(async () => {
    await admin?.browser.close();
  });

  it("an admin adds an address by hand, finds it by search and removes it", async () => {
    const { page } = admin;
    await page.goto(`${baseUrl}/settings?tab=do-not-email`);
    await page.getByRole("tab", { name: "Do not email", selected: true }).waitFor();
    const table = page.getByTestId("suppressions-table");
    await table.locator("tbody tr").first().waitFor();

    await page.getByLabel("Email addresses").fill(address.toUpperCase());
    await page.getByRole("button", { name: "Add to Do not email" }).click();
    const row = table.locator(`tr[data-email="${address}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? "", /Added by hand/);

    await page.getByLabel("Search addresses").fill(address);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="suppressions-table"] tbody tr').length === 1);
    await row.getByRole("button", { name: `Remove ${address} from Do not email` }).click();
    const dialog = page.getByRole("dialog", { name: "Email this address again?" });
    await dialog.getByRole("button", { name: "Remove from Do not email" }).click();
    await row.waitFor({ state: "detached" });
    await page.getByText(`No address matches “${address}”`).waitFor();
  });

  it("an admin blocks a whole domain, sees it listed as all of the domain, and lifts it", async () => {
    const { page } = admin;
    const domain = `dne-${Date.now()}.example.test`;
    await page.goto(`${baseUrl}/settings?tab=do-not-email`);
    const table = page.getByTestId("suppressions-table");
    await table.locator("tbody tr").first().waitFor();

    // With an @ it is refused, naming the domain field.
    await page.getByLabel("Domain", { exact: true }).fill(`@${domain}`);
    await page.getByRole("button", { name: "Block a domain" }).click();
    await page
      .locator("#suppression-domain-error")
      .getByText(/without @/)
      .waitFor();

    await page.getByLabel("Domain", { exact: true }).fill(domain.toUpperCase());
    await page.getByRole("button", { name: "Block a domain" }).click();
    const row = table.locator(`tr[data-email="@${domain}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? "", new RegExp(`All of @${domain.replace(/\./g, "\\.")}`));

    await row.getByRole("button", { name: `Remove All of @${domain} from Do not email` }).click();
    const dialog = page.getByRole("dialog", { name: "Email this domain again?" });
    assert.match((await dialog.textContent()) ?? "", /Every address at @/);
    await dialog.getByRole("button", { name: "Remove from Do not email" }).click();
    await row.waitFor({ state: "detached" });
  });

  it("an unsubscribe stays until the admin ticks that the person asked to hear from them again", async () => {
    const { page } = admin;
    await page.goto(`${baseUrl}/settings?tab=do-not-email`);
    const table = page.getByTestId("suppressions-table");
    const row = table.locator("tbody tr", { hasText: "Unsubscribed" }).first();
    await row.waitFor();
    const email = await row.getAttribute("data-email");
    await row.getByRole("button", { name: /^Remove / }).click();
    const dialog = page.getByRole("dialog", { name: "Email this address again?" });
    assert.match((await dialog.textContent()) ?? "", /This person unsubscribed/);
    await dialog.getByRole("button", { name: "Remove from Do not email" }).click();
    await dialog.getByRole("alert").waitFor();
    assert.match((await dialog.getByRole("alert").textContent()) ?? "", /unsubscribed/i);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    assert.equal(await table.locator(`tr[data-email="${email}"]`).count(), 1);
  });

  it("a contact whose address is on the list says so on its profile", async () => {
    const { page } = admin;
    const id = await page.evaluate(async () => {
      for (let p = 1; p <= 20; p++) {
        const r = await (await fetch(`/api/contacts?per_page=100&page=${p}`)).json();
        const hit = r.contacts.find((c) => c.suppressed);
        if (hit) return hit.id;
      }
      return null;
    });
    assert.ok(id, "the demo has a contact whose address is suppressed");
    await page.goto(`${baseUrl}/contacts/${id}`);
    const flag = page.getByTestId("contact-suppressed");
    await flag.waitFor();
    assert.match((await flag.textContent()) ?? "", /Do not email list/);
  });

  it("a member is told only admins manage the list", async () => {
    const member = await launch();
    try {
      await signIn(member.page, "rep1@demo.test");
      await member.page.goto(`${baseUrl}/settings?tab=do-not-email`);
      await member.page.getByText("Only team admins manage the Do not email list.").waitFor();
      assert.equal(await member.page.getByTestId("suppressions-table").count(), 0);
    } finally {
      await member.browser.close();
    }
  });
});
