// The Outbox shows one sequence's emails, the sequence kept in the URL (a link or a reload keeps it), and a
// sequence's report links there with every email its "Emails sent" counts: sent ones and bounced ones, from the
// report's mailbox; under a day range (which the Outbox has no filter for) the link says it lists them all.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

async function apiSession() {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "admin@demo.test", password: "demo1234" }),
  });
  assert.equal(res.status, 200);
  return { cookie: res.headers.get("set-cookie").split(";")[0] };
}
const get = async (session, path) => (await fetch(`${baseUrl}/api${path}`, { headers: { cookie: session.cookie } })).json();

describe("outbox sequence filter", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("the report's Outbox link lists the sequence's sent emails, bounced ones included; the picker stays through a reload", async () => {
    const session = await apiSession();
    const list = await get(session, "/sequences?per_page=100&status=all");
    const seq = list.sequences.find((s) => s.sent > 0 && s.bounced > 0) ?? list.sequences.find((s) => s.sent > 0);
    assert.ok(seq, "the demo team has a sequence that sent emails");

    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=report`);
    await page.getByTestId("sequence-outbox-link").click();
    await page.waitForURL(
      (u) => u.pathname === "/outbox" && u.searchParams.get("sequence_id") === seq.id && u.searchParams.get("status") === "sent_or_bounced",
    );
    // The count is the sequence list's sent, and every row is the sequence's.
    await page.getByText(new RegExp(`^${seq.sent.toLocaleString("en-US")} emails?$`)).waitFor();
    const rows = page.getByTestId("outbox-list").locator(".mail-row");
    await rows.first().waitFor();
    const texts = await rows.allTextContents();
    assert.ok(texts.length > 0);
    for (const t of texts) assert.ok(t.includes(seq.name), t);
    await page.waitForFunction((id) => document.querySelector("[data-testid=outbox-sequence]")?.value === id, seq.id);
    assert.equal(await page.getByTestId("outbox-status").inputValue(), "sent_or_bounced");

    // Delivered: the bounced ones drop out; a reload keeps the sequence and the status.
    await page.getByTestId("outbox-status").selectOption("sent");
    await page.waitForURL((u) => u.searchParams.get("status") === "sent" && u.searchParams.get("sequence_id") === seq.id);
    await page.getByText(new RegExp(`^${(seq.sent - seq.bounced).toLocaleString("en-US")} emails?$`)).waitFor();
    await page.reload();
    await page.waitForFunction((id) => document.querySelector("[data-testid=outbox-sequence]")?.value === id, seq.id);
    assert.equal(await page.getByTestId("outbox-status").inputValue(), "sent");

    // Every sequence: the picker drops sequence_id from the URL, the status stays.
    await page.getByTestId("outbox-sequence").selectOption("");
    await page.waitForURL((u) => !u.searchParams.has("sequence_id") && u.searchParams.get("status") === "sent");
  });

  it("the link keeps the report's mailbox, and under a day range says it lists all of the sequence's emails", async () => {
    const session = await apiSession();
    const list = await get(session, "/sequences?per_page=100&status=all");
    // A sequence that sent from more than one mailbox, so the mailbox narrows the list.
    let seq;
    let mailbox;
    for (const s of list.sequences.filter((x) => x.sent > 0)) {
      const { report } = await get(session, `/sequences/${s.id}/report`);
      const m = report.mailboxes.find((x) => x.sent > 0 && x.sent < report.totals.sent);
      if (m) {
        seq = s;
        mailbox = m;
        break;
      }
    }
    assert.ok(seq, "the demo team has a sequence that sent from several mailboxes");
    const { report } = await get(session, `/sequences/${seq.id}/report?mailbox_id=${mailbox.mailbox_id}`);
    assert.equal(report.totals.sent, mailbox.sent);

    // The mailbox filter: the card's count, and the Outbox lists that many, from that mailbox only.
    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=report&mailbox_id=${mailbox.mailbox_id}`);
    await page
      .getByTestId("report-sent")
      .filter({ hasText: new RegExp(`^${mailbox.sent.toLocaleString("en-US")}$`) })
      .waitFor();
    const link = page.getByTestId("sequence-outbox-link");
    assert.equal(await link.textContent(), "Emails in the Outbox");
    await link.click();
    await page.waitForURL(
      (u) =>
        u.pathname === "/outbox" &&
        u.searchParams.get("sequence_id") === seq.id &&
        u.searchParams.get("status") === "sent_or_bounced" &&
        u.searchParams.get("mailbox") === mailbox.mailbox_id,
    );
    await page.getByText(new RegExp(`^${mailbox.sent.toLocaleString("en-US")} emails?$`)).waitFor();
    const rows = page.getByTestId("outbox-list").locator(".mail-row");
    await rows.first().waitFor();
    for (const t of await rows.allTextContents()) assert.ok(t.includes(seq.name) && t.includes(mailbox.email), t);

    // A day range the Outbox can't apply: the link says so, and still keeps the mailbox it can.
    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=report&from=2020-01-01&to=2020-01-31`);
    await page
      .getByTestId("sequence-outbox-link")
      .filter({ hasText: /^All of this sequence's emails$/ })
      .waitFor();
    const ranged = new URL(await page.getByTestId("sequence-outbox-link").getAttribute("href"), baseUrl);
    assert.equal(ranged.searchParams.get("sequence_id"), seq.id);
    assert.equal(ranged.searchParams.has("mailbox"), false);
    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=report&from=2020-01-01&to=2020-01-31&mailbox_id=${mailbox.mailbox_id}`);
    await page
      .getByTestId("sequence-outbox-link")
      .filter({ hasText: /^All of this sequence's emails from this mailbox$/ })
      .waitFor();
    const both = new URL(await page.getByTestId("sequence-outbox-link").getAttribute("href"), baseUrl);
    assert.equal(both.searchParams.get("mailbox"), mailbox.mailbox_id);
  });
});
