// The replies inbox (issue 12): a bounce report arrives through the email() handler, shows in the inbox
// with its evidence (the delivery status), and "Correct it" turns it into an auto-reply, which undoes
// the bounce: the email is "sent" again (and the address unsuppressed, as the worker tests check).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

/** A session of the API, as the admin. */
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

/** A delivery status report (RFC 3464) saying `m` could not be delivered (5.1.1: no such user). */
const bounceReport = (m) =>
  [
    "From: Mail Delivery System <MAILER-DAEMON@mx.prospect.test>",
    `To: ${m.mailbox.email}`,
    "Subject: Undelivered Mail Returned to Sender",
    `Message-ID: <dsn-${Date.now()}@mx.prospect.test>`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain",
    "",
    "The mail could not be delivered.",
    "--b1",
    "Content-Type: message/delivery-status",
    "",
    "Reporting-MTA: dns; mx.prospect.test",
    "",
    `Final-Recipient: rfc822; ${m.to_email}`,
    "Action: failed",
    "Status: 5.1.1",
    "--b1",
    "Content-Type: text/rfc822-headers",
    "",
    `Message-ID: ${m.message_id}`,
    `Subject: ${m.subject}`,
    "--b1--",
    "",
  ].join("\r\n");

describe("replies inbox", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("fits the inbox at 1,440 and 1,280 px wide: every column, 'Correct it' included, without a horizontal scroll", async () => {
    for (const width of [1440, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${baseUrl}/replies`);
      const table = page.getByTestId("replies-table");
      await table.locator("tbody tr").first().waitFor();
      const wrap = table.locator("xpath=..");
      const { scroll, client } = await wrap.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
      assert.ok(scroll <= client, `at ${width} px the table is ${scroll} px wide in ${client} px`);
      // Nothing hidden to make it fit: each row still offers the correction, fully inside the card.
      const row = table.locator("tbody tr").first();
      const select = (await row.getByTestId("reclassify").boundingBox()) ?? { x: 0, width: 0 };
      const button = (await row.getByRole("button", { name: /Confirm|Correct it/ }).boundingBox()) ?? { x: 0, width: 0 };
      const card = (await wrap.boundingBox()) ?? { x: 0, width: 0 };
      assert.ok(select.width > 0 && button.x + button.width <= card.x + card.width, `at ${width} px "Correct it" is inside the card`);
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it("shows a bounce with its evidence, and 'Correct it' makes it an auto-reply that undoes the bounce", async () => {
    const session = await apiSession();
    // The newest sent email may be a mailbox's test email (no contact) or a rep's answer to a reply (no
    // sequence, its contact's reply already in the inbox) sent by another browser test: a step's email is taken.
    const { messages } = await get(session, "/messages?status=sent&per_page=50");
    const m = messages.find((x) => x.contact && x.mailbox && x.sequence);
    assert.ok(m?.contact && m.mailbox, "the demo has sent emails");
    const delivered = await fetch(
      `${baseUrl}/cdn-cgi/handler/email?from=${encodeURIComponent("MAILER-DAEMON@mx.prospect.test")}&to=${encodeURIComponent(m.mailbox.email)}`,
      { method: "POST", body: bounceReport(m) },
    );
    assert.ok(delivered.ok, `email handler answered ${delivered.status}`);
    const bounced = await get(session, `/messages?contact_id=${m.contact.id}&per_page=50`);
    assert.equal(bounced.messages.find((x) => x.id === m.id).status, "bounced");

    await page.goto(`${baseUrl}/replies?unhandled=true`);
    const row = page.getByTestId("replies-table").locator("tbody tr", { hasText: m.to_email });
    await row.waitFor();
    assert.match(await row.textContent(), /Hard bounce/);
    assert.match(await row.getByTestId("reply-evidence").textContent(), /Delivery report.*Status: 5\.1\.1/);

    // Correcting it marks it reviewed, so it leaves the "Not reviewed yet" view: correct it from All.
    const id = await row.getAttribute("data-reply");
    await page.goto(`${baseUrl}/replies`);
    const inAll = page.locator(`tr[data-reply="${id}"]`);
    await inAll.waitFor();
    await inAll.getByTestId("reclassify").selectOption("auto_reply");
    await inAll.getByRole("button", { name: "Correct it" }).click();
    await page
      .getByText(/Now auto-reply/)
      .first()
      .waitFor();
    const fixed = page.locator(`tr[data-reply="${id}"]`);
    await fixed.getByText("corrected").waitFor();
    assert.match(await fixed.textContent(), /Auto-reply/);
    const after = await get(session, `/messages?contact_id=${m.contact.id}&per_page=50`);
    assert.equal(after.messages.find((x) => x.id === m.id).status, "sent");

    // Reviewed now: the "Not reviewed yet" view no longer lists it.
    await page.goto(`${baseUrl}/replies?unhandled=true`);
    await page.getByRole("heading", { name: "Replies" }).waitFor();
    await page.waitForLoadState("networkidle");
    assert.equal(await page.locator(`tr[data-reply="${id}"]`).count(), 0);
  });

  it("a reply from someone else than the contact says who sent it, and 'Read the email' shows all of it", async () => {
    const session = await apiSession();
    const { messages } = await get(session, "/messages?status=sent&per_page=50");
    const m = messages.find((x) => x.contact && x.mailbox && x.sequence && x.status === "sent");
    assert.ok(m, "the demo has sent emails");
    const assistant = `assistant-${Date.now()}@prospect.test`;
    const long = `${"We have looked at your proposal in detail with the whole team. ".repeat(8)}Ana will call you on Tuesday. END-OF-REPLY`;
    const raw = [
      `From: Assistant <${assistant}>`,
      `To: ${m.mailbox.email}`,
      `Subject: Re: ${m.subject}`,
      `Message-ID: <r-${Date.now()}@prospect.test>`,
      `In-Reply-To: ${m.message_id}`,
      `References: ${m.message_id}`,
      "Content-Type: text/plain",
      "",
      long,
      "",
    ].join("\r\n");
    const delivered = await fetch(
      `${baseUrl}/cdn-cgi/handler/email?from=${encodeURIComponent(assistant)}&to=${encodeURIComponent(m.mailbox.email)}`,
      { method: "POST", body: raw },
    );
    assert.ok(delivered.ok, `email handler answered ${delivered.status}`);

    await page.goto(`${baseUrl}/replies`);
    const row = page.getByTestId("replies-table").locator("tbody tr", { hasText: assistant });
    await row.waitFor();
    // The contact is named, and the sender beside them: the reply isn't taken for the contact's own.
    assert.match(await row.textContent(), new RegExp(m.contact.email ?? m.to_email));
    assert.match((await row.getByTestId("reply-sender").textContent()).replace(/\s/g, ""), new RegExp(`Sentby${assistant}`));
    // The row shows 300 characters; the dialog the whole email.
    assert.doesNotMatch(await row.textContent(), /END-OF-REPLY/);
    await row.getByTestId("read-reply").click();
    const dialog = page.getByTestId("reply-text-dialog");
    await dialog.getByTestId("reply-full").waitFor();
    assert.match(await dialog.getByTestId("reply-full").textContent(), /Ana will call you on Tuesday\. END-OF-REPLY/);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });
});
