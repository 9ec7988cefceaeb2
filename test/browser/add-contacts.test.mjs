// "Add contacts" end to end, as a person does it: choose people (Prospect Searcher) or saved lists,
// review the dry run (credits, warnings by category), confirm, watch the job finish, read the result.
// Each describe signs in on its own browser and adds to its own sequence, so they don't depend on each other.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn, number, pageApi } from "./helpers.mjs";

/** Opens the flow from the sequence's editor, through its "Add contacts" button. */
async function openFlow(page, sequenceName) {
  await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent(sequenceName)}`);
  await page.getByRole("link", { name: sequenceName, exact: true }).click();
  await page.getByTestId("sequence-name").waitFor();
  await page.getByRole("link", { name: "Add contacts" }).click();
  await page.waitForURL(/\/sequences\/[^/]+\/add/);
  await page.getByRole("heading", { name: "Add contacts", level: 1 }).waitFor();
}

/** Waits until the review shows the answer to the current options (the preview is debounced). */
async function settledReview(page) {
  await page.getByTestId("review-totals").waitFor();
  await page.waitForFunction(() => {
    const b = document.querySelector('[data-testid="confirm-add"]');
    return b && !/Updating preview/.test(b.textContent ?? "") && document.querySelector(".review")?.getAttribute("aria-busy") !== "true";
  });
}

describe("add contacts from the Prospect Searcher", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("picks 3 net-new verified people from a filtered search, shows their credits, adds them and reports the job", async () => {
    await openFlow(page, "Enterprise outbound — Q4");

    // Filter: VPs with a verified email who are not contacts yet.
    const total = page.getByTestId("people-total");
    await total.waitFor();
    const before = await number(total);
    await page.getByLabel("Job title contains").fill("VP");
    await page.getByLabel("Job title contains").press("Enter");
    await page.locator("summary", { hasText: "Email status" }).click();
    await page.getByRole("checkbox", { name: /^Verified\b/ }).check();
    await page.getByRole("radio", { name: "Net new" }).click();
    await page.waitForFunction((n) => {
      const t = document.querySelector('[data-testid="people-total"]')?.textContent ?? "";
      return (
        Number(t.replace(/[^\d]/g, "")) > 0 &&
        Number(t.replace(/[^\d]/g, "")) < n &&
        !document.querySelector(".table-card[aria-busy='true']")
      );
    }, before);

    const rows = page.getByTestId("people-table").locator("tbody tr");
    for (let i = 0; i < 3; i++) {
      const row = rows.nth(i);
      assert.match((await row.textContent()) ?? "", /VP/);
      assert.match((await row.textContent()) ?? "", /Verified/);
      assert.doesNotMatch((await row.textContent()) ?? "", /Saved/, "net-new people only");
      await row.getByRole("checkbox").check();
    }
    assert.equal(await page.getByTestId("selection-summary").textContent(), "3 people picked");

    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Send from" }).waitFor();
    await page.getByRole("button", { name: "Review" }).click();
    await settledReview(page);

    assert.equal(await number(page.getByTestId("total-enrolled")), 3);
    assert.equal(await number(page.getByTestId("credits-exact")), 3, "1 credit per net-new verified contact");
    assert.match((await page.getByTestId("review-credits").textContent()) ?? "", /This batch costs\s*3 credits/);
    assert.equal(await page.getByTestId("review-table").locator("tbody tr").count(), 3);
    assert.match((await page.getByTestId("capacity-forecast").textContent()) ?? "", /Everyone new gets step 1 by/);

    const confirm = page.getByTestId("confirm-add");
    assert.equal((await confirm.textContent())?.trim(), "Add 3 contacts");
    await confirm.click();

    const panel = page.getByTestId("job-panel");
    await panel.waitFor();
    assert.match(page.url(), /[?&]job=/);
    await page.locator('[data-testid="job-panel"][data-status="completed"]').waitFor({ timeout: 30_000 });
    const bar = page.getByTestId("job-progress");
    assert.equal(await bar.getAttribute("role"), "progressbar");
    assert.equal(await bar.getAttribute("aria-valuenow"), "3");
    assert.equal(await bar.getAttribute("aria-valuemax"), "3");
    assert.equal(await number(page.getByTestId("job-enrolled")), 3);
    assert.match((await page.getByTestId("job-title").textContent()) ?? "", /3 contacts added to Enterprise outbound — Q4/);
    assert.equal(await number(page.getByTestId("job-credits")), 3);
    // The outcomes table loads after the job completes: wait for its rows before counting them.
    const outcomeRows = page.getByTestId("outcomes-table").locator("tbody tr");
    await outcomeRows.nth(2).waitFor({ timeout: 15_000 });
    assert.equal(await outcomeRows.count(), 3);

    // The job is listed on the sequence's Imports tab, linked to its page.
    await page.getByRole("link", { name: "Back to the sequence" }).click();
    await page.getByRole("tab", { name: "Imports" }).click();
    const jobRow = page.getByTestId("jobs-table").locator("tbody tr").first();
    await jobRow.waitFor();
    assert.match((await jobRow.textContent()) ?? "", /3 people picked.*Completed/s);
    await jobRow.getByRole("link", { name: /View job/ }).click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    await page.locator('[data-testid="job-panel"][data-status="completed"]').waitFor();
  });
});

describe("add contacts from a saved list with warnings", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    // Webinar follow-up is owned by Riley (rep1) and shared with the admin for editing.
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("groups warnings by category, adds one category anyway, and reports the result with a CSV of outcomes", async () => {
    await openFlow(page, "Webinar follow-up");
    await page.getByRole("tab", { name: "Saved lists" }).click();
    await page.getByRole("checkbox", { name: /Q4 Enterprise targets/ }).check();
    assert.match((await page.getByTestId("selection-summary").textContent()) ?? "", /^1 list \([\d,]+ contacts\)$/);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Review" }).click();
    await settledReview(page);

    // Warnings, one row per category, each with its own "Add anyway".
    const warnings = page.getByTestId("warnings");
    const categories = await warnings.locator("[data-category]").evaluateAll((els) => els.map((e) => e.getAttribute("data-category")));
    assert.ok(categories.includes("unverified_email"), `unverified emails are a category (got ${categories})`);
    assert.ok(categories.includes("active_in_other_sequence"), "contacts active in Enterprise outbound are a category");
    assert.equal(new Set(categories).size, categories.length, "each category once");
    const held = await number(page.getByTestId("total-warned"));
    const enrolledBefore = await number(page.getByTestId("total-enrolled"));
    assert.ok(held > 0, "some contacts are held back");
    assert.ok((await number(page.getByTestId("total-skipped"))) > 0, "some contacts are skipped (unsubscribed, bounced…)");
    assert.match((await page.getByTestId("skipped-reasons").textContent()) ?? "", /Unsubscribed/);
    // The button adds them in one click, so it says so; the held-back ones are counted beside it.
    assert.equal(
      ((await page.getByTestId("confirm-add").textContent()) ?? "").trim(),
      `Add ${enrolledBefore.toLocaleString("en-US")} ${enrolledBefore === 1 ? "contact" : "contacts"}`,
    );
    assert.equal(
      ((await page.locator(".flow-hint").textContent()) ?? "").trim(),
      `${held.toLocaleString("en-US")} ${held === 1 ? "contact" : "contacts"} held back by warnings won't be added.`,
    );

    // Add the unverified ones anyway: more contacts will be added, fewer held back.
    const toggle = page.getByTestId("override-unverified_email");
    assert.equal(await toggle.getAttribute("aria-checked"), "false");
    await toggle.click();
    await page.waitForFunction(
      (n) => Number((document.querySelector('[data-testid="total-enrolled"]')?.textContent ?? "").replace(/[^\d]/g, "")) > n,
      enrolledBefore,
    );
    await settledReview(page);
    assert.equal(await page.getByTestId("override-unverified_email").getAttribute("aria-checked"), "true");
    const enrolled = await number(page.getByTestId("total-enrolled"));
    assert.ok((await number(page.getByTestId("total-warned"))) < held);

    await page.getByTestId("confirm-add").click();
    await page.locator('[data-testid="job-panel"][data-status="completed"]').waitFor({ timeout: 60_000 });
    assert.equal(await number(page.getByTestId("job-enrolled")), enrolled, "the job added what the review promised");
    assert.ok((await number(page.getByTestId("job-warned"))) > 0);
    assert.ok((await number(page.getByTestId("job-skipped"))) > 0);

    // Outcomes: filterable, with reasons in words, and the whole set as CSV.
    await page.getByRole("tab", { name: /^Held back/ }).click();
    const firstHeld = page.getByTestId("outcomes-table").locator("tbody tr").first();
    await firstHeld.waitFor();
    assert.match((await firstHeld.textContent()) ?? "", /Held back/);
    const csv = page.getByTestId("outcomes-csv");
    assert.match((await csv.textContent()) ?? "", /Download outcomes \(CSV\)/);
    const href = await csv.getAttribute("href");
    assert.match(href ?? "", /^\/api\/jobs\/[^/]+\/outcomes\.csv$/);
    const res = await page.request.get(`${baseUrl}${href}`);
    assert.equal(res.status(), 200);
    assert.match(res.headers()["content-type"] ?? "", /text\/csv/);
    const lines = (await res.text()).trim().split(/\r\n/);
    assert.match(lines[0] ?? "", /^contact_id,person_id,name,email,outcome,reasons/);
    assert.ok(lines.length > enrolled, "one line per contact");
  });
});

describe("add contacts lacking a value the emails use", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("the review warns how many have no company and what their emails will do, as the API's preview says", async () => {
    const api = pageApi(page);
    const stamp = Date.now();
    const made = await api("POST", "/contacts", {
      first_name: "Nocompany",
      last_name: "Browser",
      email: `nocompany.${stamp}@example.test`,
      email_status: "verified",
    });
    assert.equal(made.status, 201);
    const list = await api("POST", "/lists", { name: `No company ${stamp}` });
    assert.equal(list.status, 201);
    assert.equal((await api("POST", `/lists/${list.body.list.id}/members`, { contact_ids: [made.body.contact.id] })).status, 200);

    await openFlow(page, "Webinar follow-up");
    const sequenceId = /\/sequences\/([^/]+)\/add/.exec(page.url())[1];
    await page.getByRole("tab", { name: "Saved lists" }).click();
    await page.getByRole("checkbox", { name: new RegExp(`No company ${stamp}`) }).check();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Review" }).click();
    await settledReview(page);

    const answer = await api("POST", `/sequences/${sequenceId}/add-contacts/preview`, { source: { list_ids: [list.body.list.id] } });
    const expected = answer.body.missing_variables;
    assert.ok(
      expected.some((m) => m.variable === "company" && m.count === 1),
      `the API counts the contact without a company (got ${JSON.stringify(expected)})`,
    );
    const rows = page.getByTestId("warnings").locator("[data-variable]");
    assert.deepEqual(
      await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-variable"))),
      expected.map((m) => m.variable),
    );
    const company = page.getByTestId("warnings").locator('[data-variable="company"]');
    const text = (await company.textContent()) ?? "";
    assert.ok(text.includes(expected.find((m) => m.variable === "company").message), `the row says the API's words (got ${text})`);
    assert.match(text, /No value for \{\{company\}\}/);
    // A warning, not a hold: the contact is still added.
    assert.equal(await number(page.getByTestId("total-enrolled")), 1);
  });
});

describe("add contacts some of which teammates own", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("the review says how many of the contacts to be added teammates own, as the API's preview counts them, and nothing when none", async () => {
    const api = pageApi(page);
    const stamp = Date.now();
    const users = (await api("GET", "/users")).body.users;
    const me = users.find((u) => u.email === "admin@demo.test").id;
    const rep1 = users.find((u) => u.email === "rep1@demo.test").id;
    // Two of Riley's (rep1), one of the admin's: Webinar follow-up takes teammates' contacts (the default).
    const ids = [];
    for (const [i, owner] of [rep1, rep1, me].entries()) {
      const made = await api("POST", "/contacts", {
        first_name: `Owned${i}`,
        last_name: "Browser",
        email: `owned${i}.${stamp}@example.test`,
        email_status: "verified",
        company: `Owned Co ${stamp}`,
        owner_id: owner,
      });
      assert.equal(made.status, 201);
      ids.push(made.body.contact.id);
    }
    const listOf = async (name, members) => {
      const list = await api("POST", "/lists", { name });
      assert.equal(list.status, 201);
      assert.equal((await api("POST", `/lists/${list.body.list.id}/members`, { contact_ids: members })).status, 200);
      return list.body.list.id;
    };
    const mixed = await listOf(`Owned mix ${stamp}`, ids);
    await listOf(`Owned mine ${stamp}`, [ids[2]]);

    await openFlow(page, "Webinar follow-up");
    const sequenceId = /\/sequences\/([^/]+)\/add/.exec(page.url())[1];
    await page.getByRole("tab", { name: "Saved lists" }).click();
    await page.getByRole("checkbox", { name: new RegExp(`Owned mix ${stamp}`) }).check();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Review" }).click();
    await settledReview(page);

    const answer = await api("POST", `/sequences/${sequenceId}/add-contacts/preview`, { source: { list_ids: [mixed] } });
    assert.equal(answer.body.totals.owned_by_teammates, 2, `the API counts Riley's two (got ${JSON.stringify(answer.body.totals)})`);
    assert.equal(await number(page.getByTestId("total-enrolled")), 3);
    assert.equal(
      ((await page.getByTestId("owned-by-teammates").textContent()) ?? "").trim(),
      "2 of the 3 contacts to be added are owned by teammates; this sequence takes teammates' contacts, so they will be added.",
    );

    // Only the admin's own contact: nothing to say.
    await page.getByRole("button", { name: /^Choose contacts/ }).click();
    await page.getByRole("tab", { name: "Saved lists" }).click();
    await page.getByRole("checkbox", { name: new RegExp(`Owned mix ${stamp}`) }).uncheck();
    await page.getByRole("checkbox", { name: new RegExp(`Owned mine ${stamp}`) }).check();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Review" }).click();
    await settledReview(page);
    await page.waitForFunction(() => document.querySelector('[data-testid="total-enrolled"]')?.textContent?.trim() === "1");
    assert.equal(await page.getByTestId("owned-by-teammates").count(), 0);
  });
});
