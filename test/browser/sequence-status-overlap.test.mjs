// Counts that are parts of other counts say so. A sequence's contacts tabs: Bounced and Blocked by a rule are
// finished (or held) contacts, and Not sent counts contacts under their own status too, so "Finished 2,110"
// beside "Bounced 21" is not 2,131 contacts. The sequence list's bounced figure counts emails (not runs, as
// the strip's other figures and its "Counted per run" hint do), and says so. An open run whose contact the engine
// won't email is counted under "Won't be sent", not "Active": each chip's count is the rows it lists, and the
// report's statuses count it so too.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor } from "./task-fixture.mjs";

describe("status counts that overlap", () => {
  let browser;
  let page;
  let api;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    api = pageApi(page);
  });
  after(async () => {
    await browser?.close();
  });

  it("the contacts tab says bounced and blocked contacts are among the finished, not more of them", async () => {
    const { body } = await api("GET", "/sequences?per_page=25&status=all");
    let seq;
    let counts;
    for (const s of body.sequences) {
      const r = await api("GET", `/sequences/${s.id}/enrollments?status=all&per_page=1`);
      if (r.body.counts.bounced > 0) {
        seq = s;
        counts = r.body.counts;
        break;
      }
    }
    assert.ok(seq, "the demo data has a sequence with bounced contacts");
    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=contacts`);
    const fmt = (n) => n.toLocaleString("en-US");
    await page.getByRole("tab", { name: `Bounced ${fmt(counts.bounced)}` }).waitFor();
    const note = page.getByTestId("status-overlap-note");
    assert.equal(await note.count(), 1, "a note under the tabs says how they overlap");
    const text = (await note.textContent()) ?? "";
    assert.match(text, new RegExp(`the ${fmt(counts.bounced)} bounced are among the ${fmt(counts.finished)} finished`));
    if (counts.blocked > 0) assert.match(text, new RegExp(`the ${fmt(counts.blocked)} blocked by a rule are finished or held`));
  });

  it("a run whose contact won't be emailed is counted under Won't be sent, not Active, and that chip lists it", async () => {
    const stamp = Date.now();
    const person = (last) => ({ first_name: "Chip", last_name: `${last}${stamp}`, email: `${last.toLowerCase()}.${stamp}@chips.test` });
    // Two contacts on a call step (it waits for its task); then one's address goes on the Do not email list.
    const { sequence: seq } = await taskFor(api, [{ type: "call", wait_amount: 0, wait_unit: "minutes" }], person("Goes"));
    const c = (await api("POST", "/contacts", person("Blocked"))).body.contact;
    const mb = (await api("GET", "/mailboxes")).body.mailboxes.find((m) => m.status === "connected");
    const job = await api("POST", `/sequences/${seq.id}/add-contacts`, {
      source: { contact_ids: [c.id] },
      mailbox_ids: [mb.id],
      skip_validation: true,
    });
    assert.equal(job.status, 202, JSON.stringify(job.body));
    let counts;
    for (let i = 0; i < 60 && counts?.active !== 2; i++) {
      if (i) await new Promise((r) => setTimeout(r, 500));
      counts = (await api("GET", `/sequences/${seq.id}/enrollments?status=all`)).body.counts;
    }
    assert.equal(counts.active, 2, JSON.stringify(counts));
    assert.equal((await api("POST", "/suppressions", { emails: [c.email] })).status, 200);

    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=contacts`);
    await page.getByRole("tab", { name: "Active 1", exact: true }).waitFor();
    const chip = page.getByRole("tab", { name: "Won't be sent 1", exact: true });
    await chip.click();
    await page.waitForURL(/status=wont_send/);
    const table = page.getByTestId("enrollments-table");
    await table.getByText(`Blocked${stamp}`).waitFor();
    const rows = table.locator("tbody tr");
    assert.equal(await rows.count(), 1);
    assert.match((await rows.first().textContent()) ?? "", /Won't be sent: Address is on the team's suppression list/);
    assert.match((await page.getByTestId("status-overlap-note").textContent()) ?? "", /the 1 that won't be sent aren't counted as active/);
    // The Active chip lists the other contact only.
    await page.getByRole("tab", { name: "Active 1", exact: true }).click();
    await page.waitForURL(/status=active/);
    await table.getByText(`Goes${stamp}`).waitFor();
    assert.equal(await rows.count(), 1);
    // The report's statuses count it the same way, in the same words.
    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=report`);
    const chart = page.getByTestId("chart-status");
    const summary = (await chart.getByRole("img").getAttribute("aria-label")) ?? "";
    assert.match(summary, /Active: 1,/);
    assert.match(summary, /Won't be sent: 1\. The 1 that won't be sent aren't counted as active/);
    const row = chart.locator("tbody tr", { hasText: "Won't be sent" });
    assert.deepEqual(await row.locator("th, td").allTextContents(), ["Won't be sent", "1"]);
    // The steps tab's overview card lists it in the same words, with the same overlap note (it dropped it before).
    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=steps`);
    const card = page.getByRole("complementary", { name: "Sequence overview" });
    await card.getByTestId("overview-wont-send-note").waitFor();
    assert.match((await card.locator(".side-counts").textContent()) ?? "", /Active1.*Won't be sent1/);
    assert.match(
      (await card.getByTestId("overview-wont-send-note").textContent()) ?? "",
      /the 1 that won't be sent aren't counted as active/,
    );
  });

  it("the sequence list calls its bounced figure emails, with its own hint", async () => {
    const { body } = await api("GET", "/sequences?per_page=25&status=all");
    const seq = body.sequences.find((s) => s.bounced > 0);
    assert.ok(seq, "the demo data has a sequence with bounced emails");
    await page.goto(`${baseUrl}/sequences`);
    const row = page.getByTestId("sequences-table").locator(`tr[data-sequence-id="${seq.id}"]`);
    await row.waitFor();
    const figure = row.locator(".count-strip .count-danger").last();
    assert.equal(
      ((await figure.textContent()) ?? "").replace(/\s+/g, " ").trim(),
      `${seq.bounced.toLocaleString("en-US")} ${seq.bounced === 1 ? "email" : "emails"} bounced`,
    );
    assert.match((await figure.getAttribute("title")) ?? "", /Counted per email/);
  });
});
