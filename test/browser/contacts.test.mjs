// Contacts: rows open a contact's page (details, their sequences, "Add to sequence" through the
// sequence picker into that sequence's add-contacts flow); rows can be checked for bulk actions.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn, number } from "./helpers.mjs";

describe("Contacts and a contact's page", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("opens a contact, shows their details and sequences, and adds them to a picked sequence through the same review", async () => {
    await page.goto(`${baseUrl}/contacts?sort=score`);
    const first = page.locator("table tbody tr").first().getByRole("link");
    await first.waitFor();
    const name = ((await first.textContent()) ?? "").trim();
    await first.click();
    await page.waitForURL(/\/contacts\/[^/]+$/);
    await page.getByRole("heading", { name, level: 1 }).waitFor();
    await page.getByTestId("contact-details").waitFor();
    assert.match((await page.getByTestId("contact-details").textContent()) ?? "", /Owner/);
    await page.getByRole("heading", { name: "Sequences" }).waitFor();

    await page.getByTestId("contact-add-to-sequence").click();
    const picker = page.getByTestId("sequence-picker");
    await picker.getByTestId("sequence-options").waitFor();
    await picker.getByTestId("sequence-search").fill("Enterprise outbound");
    await picker.getByRole("button", { name: "Enterprise outbound — Q4" }).click();
    await page.waitForURL(/\/sequences\/[^/]+\/add\?step=options/);
    await page.getByRole("button", { name: "Review" }).click();
    await page.getByTestId("review-totals").waitFor();
    await page.waitForFunction(() => {
      const b = document.querySelector('[data-testid="confirm-add"]');
      return b && !/Updating preview/.test(b.textContent ?? "") && document.querySelector(".review")?.getAttribute("aria-busy") !== "true";
    });
    const sum =
      (await number(page.getByTestId("total-enrolled"))) +
      (await number(page.getByTestId("total-warned"))) +
      (await number(page.getByTestId("total-skipped")));
    assert.equal(sum, 1, "the one contact is the selection");
  });

  it("edits a contact's title and a custom field from their page; a bad time zone is refused next to its field", async () => {
    await page.goto(`${baseUrl}/contacts?sort=name`);
    const first = page.locator("table tbody tr").first().getByRole("link");
    await first.waitFor();
    await first.click();
    await page.waitForURL(/\/contacts\/[^/]+$/);
    await page.getByTestId("contact-edit").click();
    const dialog = page.getByTestId("edit-contact-dialog");
    await dialog.getByLabel("Time zone (IANA, e.g. Europe/Berlin)").fill("Mars/Olympus");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByText("Unknown IANA time zone").waitFor();
    const title = `Head of Growth ${Date.now()}`;
    await dialog.getByLabel("Time zone (IANA, e.g. Europe/Berlin)").fill("");
    await dialog.getByLabel("Title").fill(title);
    await dialog.getByTestId("edit-contact-custom-add").click();
    const row = dialog.getByTestId("edit-contact-custom-row").last();
    await row.getByLabel(/key$/).fill("plan");
    await row.getByLabel(/value$/).fill("enterprise");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByText(title).first().waitFor();
    const details = (await page.getByTestId("contact-details").textContent()) ?? "";
    assert.match(details, /plan\s*enterprise/);
  });

  it("checks two contacts and moves them to another stage in one action", async () => {
    await page.goto(`${baseUrl}/contacts?sort=name`);
    const rows = page.locator("table tbody tr");
    await rows.first().waitFor();
    await rows.nth(0).getByRole("checkbox").check();
    await rows.nth(1).getByRole("checkbox").check();
    const bar = page.getByTestId("contacts-bulk");
    await bar.waitFor();
    assert.match((await bar.textContent()) ?? "", /2 selected/);
    const stage = bar.getByTestId("bulk-stage");
    const option = await stage.locator("option").nth(1).getAttribute("value");
    await stage.selectOption(option);
    await page.getByText(/2 moved\./).waitFor();
    await bar.waitFor({ state: "detached" });
  });

  it("creates a list, fills it from Contacts, opens it, removes a member, renames and deletes it", async () => {
    const name = `Browser list ${Date.now()}`;
    await page.goto(`${baseUrl}/lists`);
    await page.getByTestId("new-list").click();
    const dialog = page.getByTestId("list-name-dialog");
    await dialog.getByLabel("Name").fill(name);
    await dialog.getByRole("button", { name: "Create list" }).click();
    await page.getByText(`List “${name}” created`).waitFor();

    await page.goto(`${baseUrl}/contacts?sort=name`);
    const rows = page.locator("table tbody tr");
    await rows.first().waitFor();
    await rows.nth(0).getByRole("checkbox").check();
    await rows.nth(1).getByRole("checkbox").check();
    await page.getByTestId("bulk-list").selectOption({ label: name });
    await page.getByText(/2 added to the list\./).waitFor();

    await page.goto(`${baseUrl}/lists?q=${encodeURIComponent(name)}`);
    await page.getByRole("link", { name }).click();
    await page.waitForURL(/list_id=/);
    await page.getByRole("heading", { name, level: 1 }).waitFor();
    assert.equal(await page.locator("table tbody tr").count(), 2);
    await page.locator("table tbody tr").first().getByRole("checkbox").check();
    await page.getByTestId("bulk-remove-from-list").click();
    await page.getByText(/1 removed from the list/).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("table tbody tr").length === 1);

    await page.goto(`${baseUrl}/lists?q=${encodeURIComponent(name)}`);
    await page.getByRole("button", { name: `Rename ${name}` }).click();
    await page.getByTestId("list-name-dialog").getByLabel("Name").fill(`${name} renamed`);
    await page.getByTestId("list-name-dialog").getByRole("button", { name: "Rename" }).click();
    await page.getByText(`Renamed to “${name} renamed”`).waitFor();
    await page.goto(`${baseUrl}/lists?q=${encodeURIComponent(`${name} renamed`)}`);
    await page.getByRole("button", { name: `Delete ${name} renamed` }).click();
    await page.getByRole("button", { name: "Delete list" }).click();
    await page.getByText(/deleted; its contacts stay/).waitFor();
  });

  it("the New list dialog opens empty every time: a name typed and cancelled is not created", async () => {
    const name = `Cancelled ${Date.now()}`;
    await page.goto(`${baseUrl}/lists`);
    await page.getByTestId("new-list").click();
    await page.getByTestId("list-name-dialog").getByLabel("Name").fill(name);
    await page.getByTestId("list-name-dialog").getByRole("button", { name: "Cancel" }).click();
    await page.getByTestId("new-list").click();
    const dialog = page.getByTestId("list-name-dialog");
    assert.equal(await dialog.getByLabel("Name").inputValue(), "");
    await dialog.getByRole("button", { name: "Create list" }).click();
    await dialog.getByText("Give the list a name").waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    const found = await page.evaluate(
      async (n) => (await (await fetch(`/api/lists?q=${encodeURIComponent(n)}`)).json()).lists.length,
      name,
    );
    assert.equal(found, 0);
  });

  it("a page of lists past the last one says so and offers the last page, instead of 'No lists yet'", async () => {
    await page.goto(`${baseUrl}/lists?page=999`);
    await page.getByText("Nothing on this page").waitFor();
    assert.equal(await page.getByText("No lists yet").count(), 0);
    await page.getByTestId("go-to-last-page").click();
    await page.getByTestId("lists-table").waitFor();
  });

  it("a member sees Rename and Delete only on their own lists", async () => {
    const name = `Admin's ${Date.now()}`;
    const made = await page.evaluate(async (n) => {
      const me = await (await fetch("/api/me")).json();
      const r = await fetch("/api/lists", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": me.csrf_token },
        body: JSON.stringify({ name: n }),
      });
      return r.status;
    }, name);
    assert.equal(made, 201);
    const rep = await launch();
    try {
      await signIn(rep.page, "rep1@demo.test");
      await rep.page.goto(`${baseUrl}/lists?q=${encodeURIComponent(name)}`);
      await rep.page.getByRole("link", { name }).waitFor();
      assert.equal(await rep.page.getByRole("button", { name: `Delete ${name}` }).count(), 0);
      assert.equal(await rep.page.getByRole("button", { name: `Rename ${name}` }).count(), 0);
      await rep.page.getByText("Its creator or an admin can rename or delete it").waitFor();
    } finally {
      await rep.browser.close();
    }
  });

  it("selects the page, then every contact matching, for one bulk action", async () => {
    await page.goto(`${baseUrl}/contacts`);
    await page.locator("table tbody tr").first().waitFor();
    await page.getByRole("checkbox", { name: "Select every contact on this page" }).check();
    const bar = page.getByTestId("contacts-bulk");
    assert.match((await bar.textContent()) ?? "", /25 selected/);
    const total = Number(((await page.locator(".page-description").textContent()) ?? "").replace(/[^\d]/g, ""));
    await bar.getByTestId("select-all-matching").click();
    await page.waitForFunction(
      (n) => (document.querySelector('[data-testid="contacts-bulk"]')?.textContent ?? "").includes(`${n.toLocaleString("en-US")} selected`),
      total,
    );
    await bar.getByRole("button", { name: "Clear" }).click();
    await bar.waitFor({ state: "detached" });
  });

  it("filters by stage and by owner from the toolbar (kept in the URL), every row in the chosen stage", async () => {
    await page.goto(`${baseUrl}/contacts`);
    await page.locator("table tbody tr").first().waitFor();
    const all = Number(((await page.locator(".page-description").textContent()) ?? "").replace(/[^\d]/g, ""));
    const stage = page.getByTestId("filter-stage");
    const label = ((await stage.locator("option").nth(1).textContent()) ?? "").trim();
    await stage.selectOption({ label });
    await page.waitForURL(/stage_id=/);
    await page.waitForFunction(
      ([n, l]) => {
        const d = Number((document.querySelector(".page-description")?.textContent ?? "").replace(/[^\d]/g, ""));
        const cells = [...document.querySelectorAll('[data-testid="contact-stage"]')].map((c) => c.textContent?.trim());
        return d < n && (d === 0 || (cells.length > 0 && cells.every((c) => c === l)));
      },
      [all, label],
    );
    await page.getByTestId("filter-owner").selectOption({ index: 3 });
    await page.waitForURL(/owner_id=/);
    await page.getByTestId("filter-clear").click();
    await page.waitForFunction(
      (n) => Number((document.querySelector(".page-description")?.textContent ?? "").replace(/[^\d]/g, "")) === n,
      all,
    );
  });

  it("filters on the contacts you own and the ones nobody owns (Me, Nobody), as the API counts them", async () => {
    const totalOf = (owner) =>
      page.evaluate(async (o) => (await (await fetch(`/api/contacts?owner_id=${o}&per_page=1`)).json()).pagination.total_entries, owner);
    const shown = async () => Number(((await page.locator(".page-description").textContent()) ?? "").replace(/[^\d]/g, ""));
    for (const [label, owner] of [
      ["Me", "me"],
      ["Nobody", "none"],
    ]) {
      await page.goto(`${baseUrl}/contacts`);
      await page.locator("table tbody tr").first().waitFor();
      const all = await shown();
      const expected = await totalOf(owner);
      assert.ok(expected < all, `${label}: ${expected} of ${all}`);
      await page.getByTestId("filter-owner").selectOption({ label });
      await page.waitForURL(new RegExp(`owner_id=${owner}`));
      await page.waitForFunction(
        (n) => Number((document.querySelector(".page-description")?.textContent ?? "").replace(/[^\d]/g, "")) === n,
        expected,
      );
    }
  });
});
