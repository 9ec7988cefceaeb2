// The contacts tab's bulk actions (issue 12 items 2, 7, 9): pause-until, resume and restart on a
// selection of several contacts, "all matching this filter", and moving contacts to another sequence.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, number, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4 (active contacts)
const SEQ2 = "0a0000000000000000000002"; // Webinar follow-up (finished contacts)
const SEQ3 = "0a0000000000000000000003"; // Re-engage closed-lost (its history: many finished)

describe("bulk actions in a sequence's contacts tab", () => {
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
  const rows = () => table().locator("tbody tr");
  const nameOf = async (row) => (await row.locator(".cell-strong").textContent()).trim();
  const headline = () => page.getByTestId("enrollment-action-headline");

  it("pauses two selected contacts until a date, both show it, then resumes both", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active`);
    await table().waitFor();
    const picked = [rows().nth(2), rows().nth(3)];
    const names = [await nameOf(picked[0]), await nameOf(picked[1])];
    for (const r of picked) await r.getByRole("checkbox").check();
    await page.getByTestId("selection-count").getByText("2 contacts selected").waitFor();
    const day = new Date(Date.now() + 12 * 86_400_000).toISOString().slice(0, 10);
    await page.getByTestId("pause-until-date").fill(day);
    await page.getByRole("button", { name: "Pause until" }).click();
    await headline()
      .getByText(/^2 contacts paused until/)
      .waitFor();

    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=paused`);
    await table().waitFor();
    for (const n of names) {
      const row = rows().filter({ hasText: n });
      await row.getByTestId("paused-until").waitFor();
      assert.match(await row.getByTestId("paused-until").textContent(), /Paused until/);
      await row.getByRole("checkbox").check();
    }
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await headline()
      .getByText(/^2 contacts resumed/)
      .waitFor();
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active`);
    for (const n of names) await rows().filter({ hasText: n }).first().waitFor();
  });

  it("restarts two selected finished contacts from step 1: both are active again at step 1", async () => {
    // Two who went through every step and are in no other sequence now: the API refuses, without
    // restart_anyway, to restart those who replied, were moved or are running elsewhere (the seed
    // puts some finished ones in other sequences), and which rows come first depends on the seed's clock.
    await page.goto(`${baseUrl}/sequences/${SEQ2}?tab=contacts&status=finished&reason=completed_all_steps`);
    await table().waitFor();
    const shown = await rows().locator(".cell-strong").allTextContents();
    const names = await page.evaluate(
      async ({ seq, shown }) => {
        const get = (path) => fetch(path).then((r) => r.json());
        const out = [];
        for (const name of shown.map((n) => n.trim())) {
          const { enrollments } = await get(`/api/sequences/${seq}/enrollments?status=finished&q=${encodeURIComponent(name)}`);
          const e = enrollments.find((x) => x.contact.name === name);
          if (!e) continue;
          const { sequences } = await get(`/api/contacts/${e.contact.id}/sequences`);
          if (sequences.every((x) => x.sequence_id === seq || !x.active)) out.push(name);
          if (out.length === 2) break;
        }
        return out;
      },
      { seq: SEQ2, shown },
    );
    assert.equal(names.length, 2, "two of the first page's contacts are in no other sequence");
    for (const n of names) await rows().filter({ hasText: n }).first().getByRole("checkbox").check();
    await page.getByRole("button", { name: "Restart", exact: true }).click();
    await headline()
      .getByText(/^2 contacts restarted from step 1/)
      .waitFor();
    for (const n of names) {
      await page.goto(`${baseUrl}/sequences/${SEQ2}?tab=contacts&status=active&q=${encodeURIComponent(n)}`);
      const row = rows().filter({ hasText: n }).first();
      await row.waitFor();
      assert.match(await row.locator(".step-chip").textContent(), /Step 1/);
    }
  });

  it("selects all contacts matching the filter (more than a page); resuming them says each is finished and offers restart", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ3}?tab=contacts&status=finished`);
    await table().waitFor();
    const total = await number(page.getByRole("tab", { name: /^Finished/ }));
    assert.ok(total > 25, `the seed has more than a page of finished contacts in “Re-engage” (${total})`);
    await table().getByRole("checkbox", { name: "Select all contacts on this page" }).check();
    await page.getByTestId("selection-count").getByText("25 contacts selected").waitFor();
    await page.getByRole("button", { name: /^Select all .* matching this filter$/ }).click();
    await page
      .getByTestId("selection-count")
      .getByText(`All ${total.toLocaleString("en-US")} contacts matching this filter selected`)
      .waitFor();
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await headline()
      // Grouped by why each finished (the reason is named: "Already finished (Went through every step): restart it …").
      .getByText(/^0 contacts resumed · [\d,]+ unchanged: Already finished \(/)
      .waitFor();
    await page.getByTestId("restart-unchanged").waitFor();
    // The offer counts only those a restart would take: not those who replied, booked or were moved (the
    // seed has replied contacts here), whom the API refuses without restart_anyway.
    const offered = Number(
      (await page.getByTestId("restart-unchanged").textContent()).match(/Restart ([\d,]+) of them/)[1].replace(/,/g, ""),
    );
    assert.ok(offered > 0 && offered < total, `offered ${offered} of ${total}`);
    // Nothing changed: the same number is finished.
    assert.equal(await number(page.getByRole("tab", { name: /^Finished/ })), total);
  });

  it("narrows the Finished tab to one reason: every row says it, and the count is that reason's", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=finished`);
    await table().waitFor();
    const all = await number(page.getByRole("tab", { name: /^Finished/ }));
    await page.getByTestId("reason-filter").selectOption("replied");
    await page.waitForURL(/reason=replied/);
    await table().locator("tbody tr").first().getByText("Contact replied").waitFor();
    const replied = await number(page.getByRole("tab", { name: /^Finished/ }));
    assert.ok(replied > 0 && replied < all, `replied ${replied} of ${all} finished`);
    for (const text of await page.getByTestId("enrollment-reason").allTextContents()) assert.equal(text.trim(), "Contact replied");
  });

  it("an action on a filter of more than 1,000 runs as a job: its progress, then what it did, show above the table", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=finished`);
    await table().waitFor();
    const total = await number(page.getByRole("tab", { name: /^Finished/ }));
    assert.ok(total > 1000, `more than 1,000 finished contacts in “Enterprise outbound” (${total})`);
    await table().getByRole("checkbox", { name: "Select all contacts on this page" }).check();
    await page.getByRole("button", { name: /^Select all .* matching this filter$/ }).click();
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    const job = page.getByTestId("enrollment-action-job");
    await job.waitFor();
    await job.getByText("0 contacts resumed").waitFor({ timeout: 60_000 });
    const outcomes = await job.getByTestId("enrollment-job-outcomes").textContent();
    assert.match(outcomes, /finished/);
    // Each contact's outcome and why, as the direct answer gives it (the first page of the job's outcomes).
    await job.locator("summary", { hasText: "Each contact" }).click();
    const each = job.getByTestId("enrollment-action-each").locator("li");
    assert.ok((await each.count()) > 0);
    assert.match(await each.first().textContent(), /^.+: finished · Already finished/);
    // Every contact of the job, not just a first page: the pager walks them 50 at a time.
    const pager = job.getByRole("navigation", { name: "Pagination" });
    assert.equal((await pager.locator(".pagination-summary").textContent()).trim(), `1–50 of ${total.toLocaleString("en-US")}`);
    const first = await job.getByTestId("enrollment-action-each").textContent();
    await pager.getByRole("button", { name: "Next page" }).click();
    await pager.getByText(/^51–100 of/).waitFor();
    assert.notEqual(await job.getByTestId("enrollment-action-each").textContent(), first);
    await pager.getByRole("button", { name: "Previous page" }).click();
    await pager.getByText(/^1–50 of/).waitFor();
    assert.equal(await job.getByTestId("enrollment-action-each").textContent(), first);
    assert.equal(await number(page.getByRole("tab", { name: /^Finished/ })), total);
  });

  it("narrows the Not sent tab to one reason, kept in the URL, and every row listed says that reason", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=not_sent`);
    await page.getByTestId("reason-filter").waitFor();
    await page.getByTestId("reason-filter").selectOption("mailbox_disconnected");
    await page.waitForURL(/reason=mailbox_disconnected/);
    await page.getByRole("tab", { name: /^Not sent/ }).waitFor();
    const n = await number(page.getByRole("tab", { name: /^Not sent/ }));
    await page.waitForFunction(() => !document.querySelector(".data-table[aria-busy]"));
    const reasons = await page.getByTestId("enrollment-reason").allTextContents();
    assert.equal(reasons.length, Math.min(n, 25));
    for (const text of reasons) assert.match(text, /disconnected/i);
  });

  /** An active contact here, by name, whose email has this status and who was never in the target. */
  const activeContact = async (emailStatus) => {
    const get = async (path) => (await page.request.get(`${baseUrl}${path}`)).json();
    const { enrollments } = await get(`/api/sequences/${SEQ1}/enrollments?status=active&sort=name&per_page=100`);
    for (const e of enrollments) {
      if ((await get(`/api/contacts/${e.contact.id}`)).contact.email_status !== emailStatus) continue;
      const there = await get(`/api/sequences/${SEQ2}/enrollments?status=all&q=${encodeURIComponent(e.contact.email)}`);
      if (there.pagination.total_entries === 0) return e.contact.name;
    }
    throw new Error(`no active contact with a ${emailStatus} email in the seed`);
  };
  const moveToSeq2 = async (name) => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&q=${encodeURIComponent(name)}`);
    const row = rows().filter({ hasText: name }).first();
    await row.waitFor();
    await row.getByRole("checkbox").check();
    await page.getByTestId("move-to-sequence").click();
    const picker = page.getByTestId("sequence-picker");
    await picker.waitFor();
    assert.equal(await picker.getByText("Enterprise outbound — Q4").count(), 0, "the sequence they are in is not offered");
    await picker.getByTestId(`pick-sequence-${SEQ2}`).click();
  };

  it("moves a contact to another sequence: the answer says it moved, the target shows it arriving, its job checks it, and it leaves this sequence", async () => {
    const name = await activeContact("verified");
    await moveToSeq2(name);
    await headline().getByText("1 contact moved to “Webinar follow-up”").waitFor();
    assert.match(await page.getByTestId("enrollment-action-each").textContent(), new RegExp(`${name}: moved`));
    const jobHref = await page.getByTestId("move-job-link").getAttribute("href");
    assert.match(jobHref, /^\/jobs\//);

    // Straight to the target, before its job has reached the contact (the queue hands it over about a
    // second later): the tab lists them once the job ends, without a reload. It used to show the page
    // as read on arrival, without them, until reloaded.
    await page.goto(`${baseUrl}/sequences/${SEQ2}?tab=contacts&status=all&q=${encodeURIComponent(name)}`);
    await rows().filter({ hasText: name }).first().waitFor();
    // The note about the job leaves once it ends (polled: no reload).
    await page.getByTestId("adding-now").waitFor({ state: "detached" });

    await page.goto(`${baseUrl}${jobHref}`);
    await page.locator('[data-testid="job-panel"][data-status="completed"]').waitFor();
    assert.equal((await page.getByTestId("job-enrolled").textContent()).trim(), "1");

    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=finished&q=${encodeURIComponent(name)}`);
    const moved = rows().filter({ hasText: name }).first();
    await moved.waitFor();
    assert.match(await moved.textContent(), /Moved/i);
  });

  it("the move's answer follows the target's job until it has added the contact, and the contact has left this tab", async () => {
    const name = await activeContact("verified");
    await moveToSeq2(name);
    await headline().getByText("1 contact moved to “Webinar follow-up”").waitFor();
    await page.getByText("Done: 1 contact added to “Webinar follow-up”").waitFor();
    // The Active tab, searched for them, read again when the job ended: they are gone from it.
    await rows().filter({ hasText: name }).first().waitFor({ state: "detached" });
  });

  it("a contact the target holds back (a guessed email) is not moved: the answer says why and it stays active here", async () => {
    const name = await activeContact("guessed");
    await moveToSeq2(name);
    await headline()
      .getByText(/^0 contacts moved to “Webinar follow-up” · 1 unchanged: “Webinar follow-up” held them back/)
      .waitFor();
    assert.match(await page.getByTestId("enrollment-action-each").textContent(), new RegExp(`${name}: not moved`));
    // The target's job, followed here, adds no one.
    await page.getByText("Done: 0 contacts added to “Webinar follow-up”").waitFor();
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&q=${encodeURIComponent(name)}`);
    await rows().filter({ hasText: name }).first().waitFor();
  });

  it("a contact the target held back can be moved anyway from the answer, with that warning overridden", async () => {
    const name = await activeContact("guessed");
    await moveToSeq2(name);
    await headline()
      .getByText(/^0 contacts moved/)
      .waitFor();
    await page.getByTestId("move-anyway").click();
    await headline().getByText("1 contact moved to “Webinar follow-up”").waitFor();
    await page.getByText("Done: 1 contact added to “Webinar follow-up”").waitFor();
    await page.goto(`${baseUrl}/sequences/${SEQ2}?tab=contacts&status=all&q=${encodeURIComponent(name)}`);
    await rows().filter({ hasText: name }).first().waitFor();
  });
});

describe("a contact's meeting booked", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("finishes the contact's open sequences with that reason; the timeline shows it", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active`);
    const table = page.getByTestId("enrollments-table");
    await table.waitFor();
    const row = table.locator("tbody tr").nth(9);
    const name = (await row.locator(".cell-strong").textContent()).trim();
    await row.locator("a", { hasText: name }).first().click();
    await page.getByTestId("contact-meeting-booked").click();
    await page.getByText(/Meeting booked: finished in 1 sequence/).waitFor();
    const sequences = page.getByTestId("contact-sequences-table");
    await sequences
      .locator("tr", { hasText: "Enterprise outbound" })
      .getByText(/Finished · Meeting booked/i)
      .waitFor();
    await page.getByTestId("contact-timeline").locator("li", { hasText: "Meeting booked" }).first().waitFor();
    // The page says the meeting is recorded, and booking again asks first (declined: nothing recorded twice).
    await page
      .getByTestId("contact-meeting-recorded")
      .getByText(/Meeting recorded/)
      .waitFor();
    const asked = new Promise((resolve) =>
      page.once("dialog", async (d) => {
        const message = d.message();
        await d.dismiss();
        resolve(message);
      }),
    );
    await page.getByTestId("contact-meeting-booked").click();
    assert.match(await asked, /is already recorded for this contact\. Record another one\?/);
  });
});
