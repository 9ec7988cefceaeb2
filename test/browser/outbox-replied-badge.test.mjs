// The Outbox marks each email the contact replied to (or replied after, in the same run) "Replied", as
// Outreach's mailings list does; the sequence report's Replies link keeps the report's mailbox; and an Outbox
// filtered by a sequence the caller can't see says so, with the way back to every email.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("outbox: Replied", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("shows Replied on the emails the API says were replied to, and on no other", async () => {
    const api = pageApi(page);
    const list = await api("GET", "/sequences?per_page=100&status=all");
    const seqs = list.body.sequences.filter((s) => s.replied > 0);
    assert.ok(seqs.length, "the demo data has a sequence with replies");
    // A page of the Outbox (50 a page, as the screen asks) holding replied and unreplied emails both.
    let found;
    for (const seq of seqs) {
      for (let p = 1; p <= 20 && !found; p++) {
        const r = await api("GET", `/messages?sequence_id=${seq.id}&per_page=50&page=${p}`);
        assert.equal(r.status, 200);
        const ms = r.body.messages;
        if (ms.some((m) => m.replied_at !== null) && ms.some((m) => m.replied_at === null)) found = { seq, p, ms };
        if (p >= r.body.pagination.total_pages) break;
      }
      if (found) break;
    }
    assert.ok(found, "a page of a sequence's emails with both replied and unreplied emails");

    await page.goto(`${baseUrl}/outbox?sequence_id=${found.seq.id}${found.p > 1 ? `&page=${found.p}` : ""}`);
    const rows = page.getByTestId("outbox-list").locator(".mail-row");
    await rows.nth(found.ms.length - 1).waitFor();
    assert.equal(await rows.count(), found.ms.length);
    for (const [i, m] of found.ms.entries()) {
      const row = rows.nth(i);
      assert.ok((await row.textContent()).includes(m.to_email), `row ${i} is ${m.to_email}`);
      assert.equal(await row.getByTestId("outbox-replied").count(), m.replied_at === null ? 0 : 1, `row ${i} (${m.to_email})`);
    }
    // The open email says it too.
    const i = found.ms.findIndex((m) => m.replied_at !== null);
    await rows.nth(i).click();
    await page.getByTestId("message-detail").getByTestId("outbox-replied").waitFor();
    assert.match(
      await page.getByTestId("message-detail").getByTestId("outbox-replied").locator(".badge").getAttribute("title"),
      /^The contact replied /,
    );
  });

  it("the report's Replies link keeps its mailbox, and the inbox shows that mailbox's replies", async () => {
    const api = pageApi(page);
    const list = await api("GET", "/sequences?per_page=100&status=all");
    let seq;
    let mailbox;
    for (const s of list.body.sequences.filter((x) => x.replied > 0)) {
      const { report } = (await api("GET", `/sequences/${s.id}/report`)).body;
      const m = report.mailboxes.find((x) => x.sent > 0);
      if (m) {
        seq = s;
        mailbox = m;
        break;
      }
    }
    assert.ok(seq, "a sequence with replies and a mailbox it sent from");
    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=report&mailbox_id=${mailbox.mailbox_id}`);
    const link = page.getByTestId("sequence-replies-link");
    await link.filter({ hasText: /^Replies$/ }).waitFor();
    await link.click();
    await page.waitForURL(
      (u) =>
        u.pathname === "/replies" &&
        u.searchParams.get("sequence_id") === seq.id &&
        u.searchParams.get("mailbox_id") === mailbox.mailbox_id,
    );
    await page.waitForFunction((id) => document.querySelector("[data-testid=reply-mailbox]")?.value === id, mailbox.mailbox_id);
    const inbox = await api("GET", `/replies?sequence_id=${seq.id}&mailbox_id=${mailbox.mailbox_id}&per_page=25`);
    assert.equal(inbox.status, 200);
    if (inbox.body.replies.length) {
      const rows = page.getByTestId("replies-table").locator("tbody tr");
      await rows.nth(inbox.body.replies.length - 1).waitFor();
      for (const r of inbox.body.replies) assert.equal(r.answered?.mailbox, mailbox.email);
    }

    // Under a day range the inbox can't apply, the link says it lists all of them, still from the mailbox.
    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=report&from=2020-01-01&to=2020-01-31&mailbox_id=${mailbox.mailbox_id}`);
    await link.filter({ hasText: /^All of this sequence's replies to this mailbox$/ }).waitFor();
    const href = new URL(await link.getAttribute("href"), baseUrl);
    assert.equal(href.searchParams.get("mailbox_id"), mailbox.mailbox_id);
  });

  it("an Outbox filtered by a sequence the caller can't see says so and offers every email", async () => {
    await page.goto(`${baseUrl}/outbox?sequence_id=not-a-sequence`);
    const panel = page.getByTestId("outbox-filter-error");
    await panel.getByText("Sequence not found").waitFor();
    await panel.getByRole("button", { name: "Show every email" }).click();
    await page.waitForURL((u) => u.pathname === "/outbox" && !u.searchParams.has("sequence_id"));
    await page.getByTestId("outbox-list").locator(".mail-row").first().waitFor();
    assert.equal(await page.getByTestId("outbox-filter-error").count(), 0);
  });
});
