// Counts that are parts of other counts say so. A sequence's contacts tabs: Bounced and Blocked by a rule are
// finished (or held) contacts, and Not sent counts contacts under their own status too, so "Finished 2,110"
// beside "Bounced 21" is not 2,131 contacts. The sequence list's bounced figure counts emails (not runs, as
// the strip's other figures and its "Counted per run" hint do), and says so.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

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
