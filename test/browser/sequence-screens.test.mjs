// What the sequence screens offer must be true: a control the API refuses, or one missing when it is
// the way out, is a lie. Change mailbox with one usable mailbox; an archived sequence offers no edits.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4 (rep1 may edit it)
const SEQ2 = "0a0000000000000000000002"; // Webinar follow-up (admin may edit it; has finished contacts)

describe("sequence contacts: change mailbox", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    // Riley (a member) may send only from riley@demo.test: one usable mailbox.
    await signIn(page, "rep1@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("offers Change mailbox to one who has a single usable mailbox", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active`);
    const table = page.getByTestId("enrollments-table");
    await table.waitFor();
    await table.locator("tbody tr").first().getByRole("checkbox").check();
    const select = page.getByTestId("change-mailbox-select");
    await select.waitFor();
    const options = await select.locator("option").allTextContents();
    assert.deepEqual(options, ["Send from…", "riley@demo.test"]);
    await page.getByRole("button", { name: "Change mailbox" }).waitFor();
  });
});

describe("sequence contacts: the restart offered after a pause", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });
  const table = () => page.getByTestId("enrollments-table");

  it("offers no restart of one who replied; Restart refuses it, and Restart anyway restarts it", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=finished&reason=replied`);
    const row = table().locator("tbody tr", { hasText: "Contact replied" }).first();
    const name = (await row.locator(".cell-strong").textContent()).trim();
    await row.getByRole("checkbox").check();
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await page.getByText(/0 contacts paused .*Already finished \(Contact replied\)/).waitFor();
    assert.equal(await page.getByTestId("restart-unchanged").count(), 0);

    await table().locator("tbody tr", { hasText: name }).getByRole("checkbox").check();
    await page.getByRole("button", { name: "Restart", exact: true }).click();
    await page.getByText(/0 contacts restarted .*Contact replied: not restarted/).waitFor();
    await page.getByTestId("restart-anyway").click();
    await page.getByText(/1 contact restarted from step 1/).waitFor();
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&q=${encodeURIComponent(name)}`);
    await table().locator("tbody tr", { hasText: name }).waitFor();
  });

  it("offers a restart of one who went through every step", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ2}?tab=contacts&status=finished&reason=completed_all_steps`);
    await table().locator("tbody tr").first().getByRole("checkbox").check();
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await page.getByTestId("restart-unchanged").waitFor();
    assert.match(await page.getByTestId("restart-unchanged").textContent(), /Restart 1 of them from step 1/);
  });
});

describe("sequence contacts: what a paused or finished contact is said to be", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });
  const table = () => page.getByTestId("enrollments-table");

  it("a contact paused until a date says it resumes by itself then, not when someone resumes it", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&sort=name`);
    const row0 = table().locator("tbody tr").first();
    const name = (await row0.locator(".cell-strong").textContent()).trim();
    await row0.getByRole("checkbox").check();
    const day = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    await page.getByTestId("pause-until-date").fill(day);
    await page.getByRole("button", { name: "Pause until" }).click();
    await page.getByText(/1 contact paused until/).waitFor();
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=paused&q=${encodeURIComponent(name)}`);
    const badge = table().locator("tbody tr", { hasText: name }).locator("[title^='Paused']");
    await badge.waitFor();
    assert.match(await badge.getAttribute("title"), /^Paused until a date: resumes by itself on /);
  });

  it("finished contacts can be narrowed to those the archive, an unconfirmed delivery or a deletion finished", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=finished`);
    await page.getByTestId("reason-filter").waitFor();
    const values = await page
      .getByTestId("reason-filter")
      .locator("option")
      .evaluateAll((os) => os.map((o) => o.value));
    for (const code of ["sequence_archived", "delivery_unknown", "contact_deleted"]) assert.ok(values.includes(code), code);
  });
});

/** Archive the sequence open on the page (as its owner or an admin), unless it already is. */
async function archiveOpenSequence(page) {
  await page.getByTestId("sequence-name").waitFor();
  if (!(await page.getByText("This sequence is archived.").count())) {
    await page.getByRole("button", { name: "Archive", exact: true }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Archive", exact: true }).click();
  }
  await page.getByText("This sequence is archived.").waitFor();
}

describe("an archived sequence", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("offers no edits, contact actions or Add contacts once archived", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ2}`);
    await archiveOpenSequence(page);

    // Steps tab: the settings and the schedule can't be changed.
    assert.equal(await page.getByRole("switch", { name: "Finish on reply" }).isDisabled(), true);
    assert.equal(await page.getByRole("switch", { name: "Allow contacts owned by teammates" }).isDisabled(), true);
    assert.equal(await page.locator("#set-colleague").isDisabled(), true);
    assert.equal(await page.locator("#seq-schedule").isDisabled(), true);

    // Contacts tab: rows can't be picked, so no Pause, Restart, Move or Remove.
    await page.goto(`${baseUrl}/sequences/${SEQ2}?tab=contacts`);
    const table = page.getByTestId("enrollments-table");
    await table.locator("tbody tr").first().waitFor();
    assert.equal(await table.getByRole("checkbox").count(), 0);
    assert.equal(await page.getByRole("toolbar", { name: "Bulk actions" }).count(), 0);

    // An archived sequence with no contacts: its empty state offers no "Add contacts" (the API refuses it).
    await page.goto(`${baseUrl}/sequences`);
    await page.getByRole("button", { name: "New sequence" }).click();
    const dialog = page.getByRole("dialog", { name: "New sequence" });
    await dialog.getByLabel("Name").fill(`Empty archived ${Date.now()}`);
    await dialog.getByRole("button", { name: "Create and add steps" }).click();
    await page.waitForURL(/\/sequences\/[^/?]+$/);
    const empty = new URL(page.url()).pathname;
    await archiveOpenSequence(page);
    await page.goto(`${baseUrl}${empty}?tab=contacts`);
    await page.getByText("No contacts in this sequence yet").waitFor();
    assert.equal(await page.getByRole("link", { name: "Add contacts" }).count(), 0);
  });
});

describe("share dialog: a disabled owner", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("shows the current owner, marked disabled, when they are disabled", async () => {
    // Sam Patel owns "Re-engage closed-lost".
    await page.goto(`${baseUrl}/settings?tab=team`);
    const row = page.getByTestId("team-users").locator(`tr[data-user-email="rep2@demo.test"]`);
    await row.getByRole("button", { name: "Disable Sam Patel" }).click();
    await page.getByRole("dialog", { name: "Disable Sam Patel?" }).getByRole("button", { name: "Disable user" }).click();
    await row.getByText("Disabled").waitFor();
    try {
      await page.goto(`${baseUrl}/sequences/0a0000000000000000000003`);
      await page.getByRole("button", { name: "Share", exact: true }).click();
      const owner = page.locator("#share-owner");
      await owner.waitFor();
      const shown = await owner.evaluate((el) => el.options[el.selectedIndex]?.textContent ?? "");
      assert.equal(shown, "Sam Patel (disabled)");
    } finally {
      await page.goto(`${baseUrl}/settings?tab=team`);
      await row.getByRole("button", { name: "Enable Sam Patel" }).click();
      await page.getByRole("dialog", { name: "Enable Sam Patel?" }).getByRole("button", { name: "Enable user" }).click();
      await row.getByRole("button", { name: "Disable Sam Patel" }).waitFor();
    }
  });
});

describe("the sequences list says what a sequence turned off does", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("calls the contacts of a sequence turned off waiting, not active, on the list and the Contacts tab, and active again once it is on", async () => {
    await page.goto(`${baseUrl}/sequences`);
    const name = "Enterprise outbound — Q4";
    const toggle = page.getByRole("switch", { name: `${name} active`, exact: true });
    const row = page.locator("tr, li, article", { has: toggle }).last();
    await toggle.waitFor();
    assert.equal(await toggle.getAttribute("aria-checked"), "true");
    await row
      .locator(".count-strip")
      .getByText(/^active$|\bactive\b/)
      .waitFor();
    await toggle.click();
    await page.getByText(`“${name}” is now inactive`).waitFor();
    await row.locator(".count-strip").getByText("waiting (sequence off)").waitFor();
    assert.equal(
      await row
        .locator(".count-strip")
        .getByText(/\bactive\b/)
        .count(),
      0,
    );
    // The Contacts tab words them the same (enrollments.ts shownStatus): a chip and a badge of their own, none Active.
    const href = await row.getByRole("link", { name, exact: true }).first().getAttribute("href");
    await page.goto(`${baseUrl}${href}?tab=contacts`);
    await page.getByRole("tab", { name: /^Waiting \(sequence off\) [1-9]/ }).waitFor();
    await page.getByRole("tab", { name: /^Active 0$/ }).waitFor();
    await page.locator("table tbody").getByText("Waiting (sequence off)", { exact: true }).first().waitFor();
    assert.equal(await page.locator("table tbody").getByText("Active", { exact: true }).count(), 0);
    await page.goto(`${baseUrl}/sequences`);
    await toggle.waitFor();
    await toggle.click();
    await page.getByText(`“${name}” is now active`).waitFor();
    await row
      .locator(".count-strip")
      .getByText(/\bactive\b/)
      .waitFor();
    assert.equal(await row.locator(".count-strip").getByText("waiting (sequence off)").count(), 0);
  });
});
