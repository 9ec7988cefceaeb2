// The app frame and shared components say only what is true and work from the keyboard: a failed page
// doesn't follow you to the next one, boxes and titles follow the URL, dialogs hand focus back, ids are
// unique, unavailable controls say why, and errors stay until read.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const nav = (page) => page.getByRole("navigation", { name: "Main" });

/** The first sequence of the list (the demo seed has several), by its id. */
async function firstSequenceId(page) {
  await page.goto(`${baseUrl}/sequences`);
  const link = page.locator("a.row-link").first();
  await link.waitFor();
  return ((await link.getAttribute("href")) ?? "").split("/").pop();
}

describe("app frame and shared components (admin)", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  // The router resets error boundaries on navigation: this guards that the frame keeps relying on it.
  it("a page that failed to load doesn't keep its error on the next page", async () => {
    await page.goto(`${baseUrl}/sequences/nope`);
    await page.locator(".error-panel").waitFor();
    await nav(page).getByRole("link", { name: "Contacts", exact: true }).click();
    await page.waitForURL(`${baseUrl}/contacts`);
    await page.getByTestId("contacts-table").locator("tbody tr").first().waitFor();
    assert.equal(await page.locator(".error-panel").count(), 0);
  });

  it("after a sidebar link, focus starts at the page", async () => {
    await page.goto(`${baseUrl}/contacts`);
    await nav(page).getByRole("link", { name: "Lists", exact: true }).click();
    await page.waitForURL(`${baseUrl}/lists`);
    await page.waitForFunction(() => document.activeElement?.id === "main", null, { timeout: 5_000 });
  });

  it("the search box empties when the URL's search is cleared", async () => {
    await page.goto(`${baseUrl}/contacts`);
    await page.getByLabel("Search contacts").fill("acme");
    await page.waitForURL(/[?&]q=acme/);
    await nav(page).getByRole("link", { name: "Contacts", exact: true }).click();
    await page.waitForURL(`${baseUrl}/contacts`);
    await page.waitForFunction(() => document.querySelector("#contact-search")?.value === "", null, { timeout: 5_000 });
  });

  it("titles the tab after the page: Home, a contact and a workflow by name", async () => {
    await nav(page).getByRole("link", { name: "Home", exact: true }).click();
    await page.waitForURL(`${baseUrl}/`);
    await page.waitForFunction(() => document.title === "Home · Seqflare", null, { timeout: 5_000 });

    await page.goto(`${baseUrl}/contacts?sort=name`);
    const link = page.getByTestId("contacts-table").locator("tbody tr").first().locator("a.cell-strong");
    const name = ((await link.textContent()) ?? "").trim();
    await link.click();
    await page.getByTestId("contact-details").waitFor();
    await page.waitForFunction((n) => document.title === `${n} · Seqflare`, name, { timeout: 5_000 });

    await nav(page).getByRole("link", { name: "Team report", exact: true }).click();
    await page.waitForURL(`${baseUrl}/reports`);
    await page.waitForFunction(() => document.title === "Team report · Seqflare", null, { timeout: 5_000 });

    // The demo has no workflow: make one.
    const wfName = `Title test ${Date.now()}`;
    await page.goto(`${baseUrl}/workflows/new`);
    await page.getByLabel("Name").fill(wfName);
    await page.getByLabel("Add to sequence").selectOption({ label: "Enterprise outbound — Q4" });
    await page.getByRole("button", { name: "Create workflow" }).click();
    await page.waitForURL(`${baseUrl}/workflows`);
    await page.goto(`${baseUrl}/workflows`);
    await page.locator(`[data-testid="workflow-card"][data-name="${wfName}"]`).locator("h2 a").click();
    await page.waitForURL(/\/workflows\/[^/]+$/);
    await page.waitForFunction((n) => document.title === `${n} · Seqflare`, wfName, { timeout: 5_000 });
  });

  it("closing the edit dialog with Escape gives focus back to the Edit button", async () => {
    await page.goto(`${baseUrl}/contacts?sort=name`);
    await page.getByTestId("contacts-table").locator("tbody tr").first().locator("a.cell-strong").click();
    await page.getByTestId("contact-edit").focus();
    await page.keyboard.press("Enter");
    await page.getByTestId("edit-contact-dialog").getByLabel("First name").waitFor();
    await page.keyboard.press("Escape");
    await page.getByTestId("edit-contact-dialog").getByLabel("First name").waitFor({ state: "detached" });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "contact-edit");
  });

  it("no two elements share an id on a sequence's Contacts tab", async () => {
    const id = await firstSequenceId(page);
    // Its "Scheduled" filter and the page's "Scheduled" tab are both there.
    await page.goto(`${baseUrl}/sequences/${id}?tab=contacts&status=scheduled`);
    await page.getByRole("tablist", { name: "Filter contacts by status" }).waitFor();
    const dupes = await page.evaluate(() => {
      const seen = new Map();
      for (const el of document.querySelectorAll("[id]")) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
      return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
    });
    assert.deepEqual(dupes, []);
    // Each tab names a panel that is there, labelled by it, or none.
    const broken = await page.evaluate(() =>
      [...document.querySelectorAll('[role="tabpanel"]')]
        .filter((p) => document.getElementById(p.getAttribute("aria-labelledby") ?? "")?.getAttribute("aria-controls") !== p.id)
        .map((p) => p.id),
    );
    assert.deepEqual(broken, []);
  });

  it("the sequence overview says it couldn't load the contact counts, not 'Loading…' for ever", async () => {
    const id = await firstSequenceId(page);
    await page.route(`**/api/sequences/${id}/report*`, (route) =>
      route.fulfill({
        status: 500,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "internal", message: "Something went wrong" } }),
      }),
    );
    try {
      await page.goto(`${baseUrl}/sequences/${id}`);
      const overview = page.getByRole("complementary", { name: "Sequence overview" });
      await overview.getByText("Couldn't load the contact counts").waitFor();
      assert.equal(await overview.getByText("Loading…").count(), 0);
      // The schedule card still says what it knows.
      assert.equal(await overview.getByText("Couldn't load the sending schedule").count(), 0);
    } finally {
      await page.unroute(`**/api/sequences/${id}/report*`);
    }
  });

  it("an error toast stays until dismissed", async () => {
    const id = await firstSequenceId(page);
    await page.goto(`${baseUrl}/sequences/${id}`);
    const toggle = page.getByRole("switch", { name: "Finish on reply" });
    await toggle.waitFor();
    await page.route(`**/api/sequences/${id}`, (route) =>
      route.request().method() === "GET"
        ? route.fallback()
        : route.fulfill({
            status: 500,
            contentType: "application/json",
            body: JSON.stringify({ error: { code: "internal", message: "Something went wrong" } }),
          }),
    );
    try {
      await toggle.click();
      const toast = page.locator(".toast-danger");
      await toast.waitFor();
      await page.waitForTimeout(9_000);
      assert.equal(await toast.count(), 1, "still shown after 9 s");
      await toast.getByRole("button", { name: "Dismiss" }).click();
      await toast.waitFor({ state: "detached" });
    } finally {
      await page.unroute(`**/api/sequences/${id}`);
    }
  });

  it("the credits period picker moves with the arrow keys, one tab stop", async () => {
    await page.goto(`${baseUrl}/credits`);
    const group = page.getByRole("radiogroup", { name: "Period" });
    await group.waitFor();
    assert.equal(await group.locator('[role="radio"][tabindex="0"]').count(), 1);
    await group.getByRole("radio", { checked: true }).focus();
    const before = await group.getByRole("radio", { checked: true }).textContent();
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction(
      (b) => document.activeElement?.getAttribute("aria-checked") === "true" && document.activeElement.textContent !== b,
      before,
    );
    assert.match(page.url(), /[?&]days=\d+/);
    assert.equal(await group.locator('[role="radio"][tabindex="0"]').count(), 1);
  });
});

describe("shared components as a member", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "rep1@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("the edit dialog doesn't offer to give away a teammate's contact, and says why", async () => {
    await page.goto(`${baseUrl}/contacts?sort=name`);
    await page.getByTestId("filter-owner").selectOption({ label: "Sam Patel" });
    await page.waitForURL(/owner_id=/);
    await page.getByTestId("contacts-table").locator("tbody tr").first().locator("a.cell-strong").click();
    await page.getByTestId("contact-details").waitFor();
    await page.getByTestId("contact-edit").click();
    const dialog = page.getByTestId("edit-contact-dialog");
    const owner = dialog.getByLabel("Owner");
    await owner.waitFor();
    assert.equal(await owner.isDisabled(), true);
    await dialog.getByText("Only the contact's owner (Sam Patel) or an admin can give it to someone else").waitFor();
    assert.match((await owner.getAttribute("aria-describedby")) ?? "", /edit-contact-owner-why/);
    await dialog.getByRole("button", { name: "Cancel" }).click();

    // Their own contact: they may give it to anyone.
    await page.goto(`${baseUrl}/contacts?sort=name`);
    await page.getByTestId("filter-owner").selectOption({ label: "Riley Chen" });
    await page.waitForURL(/owner_id=/);
    await page.getByTestId("contacts-table").locator("tbody tr").first().locator("a.cell-strong").click();
    await page.getByTestId("contact-details").waitFor();
    await page.getByTestId("contact-edit").click();
    await owner.waitFor();
    assert.equal(await owner.isDisabled(), false);
    assert.ok((await owner.locator("option").count()) >= 3, "Nobody and the team's users");
  });
});

describe("unavailable controls say why (a member who may only view a sequence)", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    // In the demo, Sam Patel sees "Enterprise outbound — Q4" without edit rights.
    await signIn(page, "rep2@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("a switch they can't use stays focusable and says why", async () => {
    await page.goto(`${baseUrl}/sequences`);
    await page.locator("a.row-link").first().waitFor();
    const locked = page.locator('[role="switch"][aria-disabled="true"]');
    assert.ok((await locked.count()) > 0, "a sequence they can't edit");
    assert.equal(await page.locator('[role="switch"][disabled]').count(), 0);
    const first = locked.first();
    const why = await first.getAttribute("aria-describedby");
    assert.ok(why, "described by its reason");
    const text = await page.evaluate(
      (ids) =>
        ids
          .split(" ")
          .map((i) => document.getElementById(i)?.textContent ?? "")
          .join(" "),
      why,
    );
    assert.match(text, /\w/);
    const checked = await first.getAttribute("aria-checked");
    await first.click({ force: true });
    assert.equal(await first.getAttribute("aria-checked"), checked, "clicking it changes nothing");
  });
});
