// A disabled user's contacts stay theirs, so they must stay findable, named and easy to hand over: the
// Contacts owner filter offers them (after the active users, marked "(disabled)") and its count is theirs,
// their contact's page names them, the report's "Added by" offers them, and disabling someone who owns
// contacts offers a link to hand them over (Contacts filtered by them: select all, then Owner → Change).
// Before, the filter read "Anyone" over only their 1,666 contacts and the owner was "A teammate".
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4 (seeded history)

describe("a disabled user's contacts", () => {
  let browser;
  let page;
  let api;
  let rep2;
  let admin;
  let workflow;
  const ownedBy = async (id) => (await api("GET", `/contacts?owner_id=${id}&per_page=1`)).body.pagination.total_entries;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    api = pageApi(page);
    const { body } = await api("GET", "/users");
    rep2 = body.users.find((u) => u.email === "rep2@demo.test");
    admin = body.users.find((u) => u.email === "admin@demo.test");
    assert.ok(rep2 && admin);
    // Made while rep2 is active (nobody disabled can be given one): theirs, and filtering on their contacts.
    const seq = (await api("POST", "/sequences", { name: `Sam's sequence ${Date.now()}` })).body.sequence;
    assert.equal((await api("PATCH", `/sequences/${seq.id}`, { owner_id: rep2.id })).status, 200);
    const made = await api("POST", "/workflows", {
      name: `Sam's contacts ${Date.now()}`,
      sequence_id: seq.id,
      trigger: { kind: "change", on: ["stage"], filters: { owner_ids: [rep2.id] } },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    workflow = made.body.workflow;
    const given = await api("PATCH", `/workflows/${workflow.id}`, { owner_id: rep2.id });
    assert.equal(given.status, 200, JSON.stringify(given.body));
  });
  after(async () => {
    // The rest of a run finds rep2 as seeded (their contacts stay handed over).
    if (api && workflow) await api("DELETE", `/workflows/${workflow.id}`);
    if (api && rep2) await api("PATCH", `/users/${rep2.id}`, { disabled: false });
    await browser?.close();
  });

  it("disabling someone who owns contacts says how many and offers to hand them over", async () => {
    const owned = await ownedBy(rep2.id);
    assert.ok(owned > 0, "the demo seed gives rep2 contacts");
    await page.goto(`${baseUrl}/settings?tab=team`);
    const row = page.getByTestId("team-users").locator(`tr[data-user-email="${rep2.email}"]`);
    await row.getByRole("button", { name: `Disable ${rep2.name}` }).click();
    const confirm = page.getByRole("dialog", { name: `Disable ${rep2.name}?` });
    await confirm
      .getByTestId("disable-owned-contacts")
      .getByText(`${rep2.name} owns ${owned.toLocaleString("en-US")} contacts`)
      .waitFor();
    assert.match((await confirm.textContent()) ?? "", /one they scheduled fails when its time comes/);
    await confirm.getByRole("button", { name: "Disable user" }).click();
    await row.getByText("Disabled").waitFor();

    const link = page.getByTestId("hand-over-contacts");
    assert.equal((await link.textContent())?.trim(), `Hand over their ${owned.toLocaleString("en-US")} contacts`);
    await link.click();
    await page.waitForURL((u) => u.pathname === "/contacts" && u.searchParams.get("owner_id") === rep2.id);
  });

  it("the Contacts owner filter names the disabled user, after the active ones, and its count is theirs", async () => {
    // Disabled whatever the test above did (each test here fails for its own reason).
    assert.equal((await api("PATCH", `/users/${rep2.id}`, { disabled: true })).status, 200);
    const owned = await ownedBy(rep2.id);
    const all = (await api("GET", "/contacts?per_page=1")).body.pagination.total_entries;
    assert.ok(owned < all);
    await page.goto(`${baseUrl}/contacts?owner_id=${rep2.id}`);
    await page.getByText(`${owned.toLocaleString("en-US")} contacts match the search and filters.`).waitFor();
    const filter = page.getByTestId("filter-owner");
    await page.waitForFunction(
      (want) => document.querySelector("[data-testid=filter-owner]")?.selectedOptions[0]?.textContent === want,
      `${rep2.name} (disabled)`,
    );
    // Listed last: after "Anyone", "Me", "Nobody" and every active user.
    const labels = await filter.locator("option").allTextContents();
    assert.equal(labels.at(-1), `${rep2.name} (disabled)`);
    assert.ok(labels.includes(admin.name));
    // Giving contacts to someone offers active users only.
    await page.getByTestId("contacts-table").locator("thead").getByRole("checkbox").check();
    const give = await page.getByTestId("bulk-owner").locator("option").allTextContents();
    assert.ok(give.includes(admin.name));
    assert.ok(!give.some((l) => l.startsWith(rep2.name)), `offered: ${give.join(", ")}`);
  });

  it("the disabled owner's contact page names them", async () => {
    await page.goto(`${baseUrl}/contacts?owner_id=${rep2.id}`);
    await page.getByTestId("contacts-table").locator("tbody tr").first().locator("a.cell-strong").click();
    await page.getByTestId("contact-details").waitFor();
    const owner = page.getByTestId("contact-details").locator("dt:text-is('Owner') + dd");
    await page.waitForFunction(
      (want) =>
        [...document.querySelectorAll("[data-testid=contact-details] dt")].some(
          (dt) => dt.textContent === "Owner" && dt.nextElementSibling?.textContent === want,
        ),
      `${rep2.name} (disabled)`,
    );
    assert.equal(await owner.textContent(), `${rep2.name} (disabled)`);
  });

  it("the sequence report's Added by offers the disabled user", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=report&added_by=${rep2.id}`);
    const select = page.getByRole("combobox", { name: "Added by" });
    await select.locator("option", { hasText: `${rep2.name} (disabled)` }).waitFor({ state: "attached" });
    const labels = await select.locator("option").allTextContents();
    assert.equal(labels.at(-1), `${rep2.name} (disabled)`);
  });

  it("a workflow's editor names its disabled owner, and its trigger's owner filter keeps them chosen", async () => {
    await page.goto(`${baseUrl}/workflows/${workflow.id}/edit`);
    const owner = page.getByTestId("wf-owner");
    await owner.locator(`option[value="${rep2.id}"]`, { hasText: `${rep2.name} (disabled)` }).waitFor({ state: "attached" });
    assert.equal(await owner.inputValue(), rep2.id);
    const owners = page.locator("#wf-owners");
    await owners.locator(`option[value="${rep2.id}"]`).waitFor({ state: "attached" });
    assert.deepEqual(await owners.evaluate((el) => [...el.selectedOptions].map((o) => o.textContent)), [`${rep2.name} (disabled)`]);
  });

  it("hands over every one of their contacts: select all matching, then a new owner", async () => {
    const owned = await ownedBy(rep2.id);
    const adminHad = await ownedBy(admin.id);
    // From the disabled user's row in Settings → Team.
    await page.goto(`${baseUrl}/settings?tab=team`);
    await page
      .getByTestId("team-users")
      .getByRole("link", { name: `Contacts of ${rep2.name}` })
      .click();
    await page.waitForURL((u) => u.pathname === "/contacts" && u.searchParams.get("owner_id") === rep2.id);
    await page.getByTestId("contacts-table").locator("tbody tr").first().waitFor();
    await page.getByTestId("contacts-table").locator("thead").getByRole("checkbox").check();
    await page.getByTestId("select-all-matching").click();
    await page
      .getByTestId("contacts-bulk")
      .getByText(`${owned.toLocaleString("en-US")} selected`)
      .waitFor();
    await page.getByTestId("bulk-owner").selectOption({ label: admin.name });
    await page.getByText(`${owned.toLocaleString("en-US")} reassigned.`).waitFor();
    // Read again from the API: nothing left with rep2, all of it with the admin.
    assert.equal(await ownedBy(rep2.id), 0);
    assert.equal(await ownedBy(admin.id), adminHad + owned);
  });
});
