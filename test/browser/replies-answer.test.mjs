// Answering a reply from its read dialog: the rep writes in the box (which names the mailbox it goes from
// and that it goes now), sends, and the dialog says when and from where it went and shows the text in the
// thread under their email; the Outbox has it once, as a reply the rep wrote.
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

describe("replies: answering a reply from the inbox", () => {
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
    // The oldest of the page: the replies screen's own test answers the newest step email.
    const m = messages.findLast((x) => x.contact && x.mailbox && x.sequence && own.has(x.mailbox.id));
    assert.ok(m, "the rep has a sent email from a mailbox of their own");
    mailbox = m.mailbox.email;
    const from = m.to_email;
    const raw = [
      `From: Pat Prospect <${from}>`,
      `To: ${m.mailbox.email}`,
      `Subject: Re: ${m.subject}`,
      `Message-ID: <answer-me-${Date.now()}@prospect.test>`,
      `In-Reply-To: ${m.message_id}`,
      `References: ${m.message_id}`,
      "Content-Type: text/plain",
      "",
      "Interesting. Could you send pricing for 40 seats?",
      "",
    ].join("\r\n");
    const delivered = await fetch(`${baseUrl}/cdn-cgi/handler/email?from=${encodeURIComponent(from)}&to=${encodeURIComponent(mailbox)}`, {
      method: "POST",
      body: raw,
    });
    assert.ok(delivered.ok, `email handler answered ${delivered.status}`);
    const { replies } = await get(rep, `/replies?contact_id=${m.contact.id}&per_page=100`);
    const reply = replies.find((x) => x.message_id === m.id && x.classification === "reply" && x.snippet.includes("40 seats"));
    assert.ok(reply, "the email was taken as a reply");
    assert.equal(reply.answer.can, true);
    id = reply.id;
  });
  after(async () => {
    await browser?.close();
  });

  it("writes, sends, and sees it sent from the mailbox and in the thread", async () => {
    await signIn(page, "rep1@demo.test");
    await page.goto(`${baseUrl}/replies`);
    const row = page.locator(`tr[data-reply="${id}"]`);
    await row.waitFor();
    await row.getByTestId("read-reply").click();
    const dialog = page.getByTestId("reply-text-dialog");
    await dialog.getByTestId("reply-full").waitFor();
    const box = dialog.getByTestId("reply-answer-box");
    assert.match(await box.textContent(), new RegExp(`Sent now from ${mailbox.replace(/[.+]/g, "\\$&")}`));
    const text = `Sure: 40 seats come to $12,000 a year. ${Date.now()}`;
    await box.getByTestId("reply-answer-body").fill(text);
    await box.getByTestId("reply-answer-send").click();
    const sent = box.getByTestId("reply-answer-sent");
    await sent.waitFor();
    assert.match(await sent.textContent(), new RegExp(`^Sent .+ from ${mailbox.replace(/[.+]/g, "\\$&")}$`));
    // The thread under their email shows the text, read back from the API.
    await dialog.getByTestId("reply-answer").filter({ hasText: text }).waitFor();
    assert.equal(await box.getByTestId("reply-answer-body").inputValue(), "");

    const { messages } = await get(rep, "/messages?per_page=100");
    const ours = messages.filter((x) => x.body === text);
    assert.equal(ours.length, 1, "sent once");
    assert.match(ours[0].step_id, /^reply:/);
    assert.equal(ours[0].sequence, null);
    assert.equal(ours[0].mailbox.email, mailbox);
    // The Outbox marks it as the rep's answer, not a step (the newest email, at the top).
    await page.goto(`${baseUrl}/outbox`);
    const first = page.getByTestId("outbox-list").locator("li").first();
    await first.waitFor();
    assert.equal((await first.getByTestId("outbox-kind").textContent()).trim(), "Answer to a reply");
  });
});
