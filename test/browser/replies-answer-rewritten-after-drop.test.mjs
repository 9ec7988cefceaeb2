import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

async function apiSession(email) {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "demo1234" }),
  });
  assert.equal(res.status, 200);
  return { cookie: res.headers.get("set-cookie").split(";")[0] };
}

const get = async (session, path) => (await fetch(`${baseUrl}/api${path}`, { headers: { cookie: session.cookie } })).json();

describe("replies: an answer whose send was cut off, rewritten and sent again", () => {
  let browser;
  let page;
  let id;
  let mailbox;
  let rep;

  before(async () => {
    ({ browser, page } = await launch());
    // An email the rep sent from a mailbox of their own, answered by its contact.
    rep = await apiSession("rep1@demo.test");
    const own = new Set(
      (await get(rep, "/mailboxes")).mailboxes
        .filter((m) => m.can_send && m.status === "connected" && !m.held_for_reply_check)
        .map((m) => m.id),
    );
    const { messages } = await get(rep, "/messages?status=sent&per_page=100");
    const m = messages.findLast((x) => x.contact && x.mailbox && x.sequence && own.has(x.mailbox.id));
    assert.ok(m, "the rep has a sent email from a mailbox of their own");
    mailbox = m.mailbox.email;
    const from = m.to_email;
    const raw = [
      `From: Pat Prospect <${from}>`,
      `To: ${m.mailbox.email}`,
      `Subject: Re: ${m.subject}`,
      `Message-ID: <answer-me-again-${Date.now()}@prospect.test>`,
      `In-Reply-To: ${m.message_id}`,
      `References: ${m.message_id}`,
      "Content-Type: text/plain",
      "",
      "Interesting. Could you send pricing for 60 seats?",
      "",
    ].join("\r\n");
    const delivered = await fetch(`${baseUrl}/cdn-cgi/handler/email?from=${encodeURIComponent(from)}&to=${encodeURIComponent(mailbox)}`, {
      method: "POST",
      body: raw,
    });
    assert.ok(delivered.ok, `email handler answered ${delivered.status}`);
    const { replies } = await get(rep, `/replies?contact_id=${m.contact.id}&per_page=100`);
    const reply = replies.find((x) => x.message_id === m.id && x.classification === "reply" && x.snippet.includes("60 seats"));
    assert.ok(reply, "the email was taken as a reply");
    assert.equal(reply.answer.can, true);
    id = reply.id;
  });
  after(async () => {
    await browser?.close();
  });

  it("sends the rewritten text under a new key instead of sticking on the first one", async () => {
    await signIn(page, "rep1@demo.test");
    // The first Send reaches the server (it sends) but the answer never comes back: a dropped connection.
    let drop = true;
    await page.route(`**/api/replies/${id}/reply`, async (route) => {
      if (!drop) return route.continue();
      drop = false;
      await route.fetch();
      await route.abort("connectionreset");
    });
    await page.goto(`${baseUrl}/replies`);
    const row = page.locator(`tr[data-reply="${id}"]`);
    await row.waitFor();
    await row.getByTestId("read-reply").click();
    const dialog = page.getByTestId("reply-text-dialog");
    await dialog.getByTestId("reply-full").waitFor();
    const box = dialog.getByTestId("reply-answer-box");
    const first = `60 seats: $18,000 a year. ${Date.now()}`;
    await box.getByTestId("reply-answer-body").fill(first);
    await box.getByTestId("reply-answer-send").click();
    await box.getByTestId("reply-answer-send").and(page.locator(":not([disabled])")).waitFor();
    assert.equal(drop, false, "the first send was cut off");
    assert.equal(await box.getByTestId("reply-answer-sent").count(), 0);

    // Rewritten and sent again: a new answer, not "already sent" nor a key reused for other text.
    const second = `Correction: 60 seats come to $17,500 a year. ${Date.now()}`;
    await box.getByTestId("reply-answer-body").fill(second);
    await box.getByTestId("reply-answer-send").click();
    const sent = box.getByTestId("reply-answer-sent");
    await sent.waitFor({ timeout: 10_000 });
    assert.match(await sent.textContent(), /^Sent /);
    const { messages } = await get(rep, "/messages?per_page=100");
    assert.equal(messages.filter((x) => x.body === first).length, 1, "the cut-off send went out once");
    assert.equal(messages.filter((x) => x.body === second).length, 1, "the rewritten answer went out once");
  });
});
