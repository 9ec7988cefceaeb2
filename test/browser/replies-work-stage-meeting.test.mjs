// Working a reply where it is read (an outside review: "Read the email opens the text only; the only
// action is reclassifying"): the read dialog moves the contact to a stage and marks its meeting booked,
// through the contact's own endpoints, and the row shows the stage and the meeting afterwards.
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

describe("replies: working a reply from the read dialog", () => {
  let browser;
  let page;
  let admin;
  let reply;

  before(async () => {
    ({ browser, page } = await launch());
    admin = await apiSession("admin@demo.test");
    // A fresh answer to a sent email, so the row is known and its contact has no meeting from this test yet.
    const { messages } = await get(admin, "/messages?status=sent&per_page=100");
    // One whose contact has no meeting yet (a second one within a day is the same meeting, recorded once),
    // from the end of the page: the other replies tests answer the first emails listed, at the same time.
    let m;
    for (const x of messages.filter((x) => x.contact && x.mailbox && x.sequence).reverse()) {
      if (!(await get(admin, `/contacts/${x.contact.id}/meetings`)).meetings.length) {
        m = x;
        break;
      }
    }
    assert.ok(m, "the demo has a sent email to a contact with no meeting");
    const from = m.contact.email ?? m.to_email;
    const raw = [
      `From: <${from}>`,
      `To: ${m.mailbox.email}`,
      `Subject: Re: ${m.subject}`,
      `Message-ID: <work-${Date.now()}@prospect.test>`,
      `In-Reply-To: ${m.message_id}`,
      `References: ${m.message_id}`,
      "Content-Type: text/plain",
      "",
      "Interesting. Can we talk on Thursday?",
      "",
    ].join("\r\n");
    const delivered = await fetch(
      `${baseUrl}/cdn-cgi/handler/email?from=${encodeURIComponent(from)}&to=${encodeURIComponent(m.mailbox.email)}`,
      { method: "POST", body: raw },
    );
    assert.ok(delivered.ok, `email handler answered ${delivered.status}`);
    const { replies } = await get(admin, `/replies?contact_id=${m.contact.id}&per_page=100`);
    reply = replies.find((x) => x.message_id === m.id && x.classification === "reply");
    assert.ok(reply, "the email was taken as a reply");
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("sets the stage and marks the meeting from the dialog; the row shows both", async () => {
    const before = (await get(admin, `/contacts/${reply.contact.id}/meetings`)).meetings.length;
    await page.goto(`${baseUrl}/replies`);
    const row = page.locator(`tr[data-reply="${reply.id}"]`);
    await row.waitFor();
    await row.getByTestId("read-reply").click();
    const dialog = page.getByTestId("reply-text-dialog");
    await dialog.getByTestId("reply-full").waitFor();
    const stages = (await get(admin, "/contact-stages")).contact_stages;
    const interested = stages.find((s) => s.name === "Interested");
    await dialog.getByTestId("reply-stage").selectOption(interested.id);
    await dialog.getByTestId("reply-set-stage").click();
    await row.getByTestId("reply-contact-work").getByText("Interested").waitFor();
    await dialog.getByTestId("reply-meeting").click();
    await row.getByTestId("reply-meeting-booked").waitFor();
    assert.match(await dialog.getByTestId("reply-work").textContent(), /Booked /);
    // The contact's own rows changed, not just the screen.
    const contact = (await get(admin, `/contacts/${reply.contact.id}`)).contact;
    assert.equal(contact.stage_id ?? contact.stage?.id, interested.id);
    assert.equal((await get(admin, `/contacts/${reply.contact.id}/meetings`)).meetings.length, before + 1);
    // Marking again when one is recorded asks first (a dialog of the page's own): confirmed here, the same day's
    // meeting is recorded once.
    await dialog.getByTestId("reply-meeting").click();
    await page.getByRole("button", { name: "Record another" }).click();
    await page.getByText(/^That meeting was already recorded/).waitFor({ timeout: 5000 });
    assert.equal((await get(admin, `/contacts/${reply.contact.id}/meetings`)).meetings.length, before + 1);
  });

  it("says when the contact is gone rather than claiming a move", async () => {
    // The contact deleted since the inbox was read: the endpoint moves nothing and names it in not_found.
    await page.route(/\/api\/contacts\/stage$/, (route) =>
      route.fulfill({ json: { updated: 0, not_found: [reply.contact.id], runs_ended: 0 } }),
    );
    await page.goto(`${baseUrl}/replies`);
    const row = page.locator(`tr[data-reply="${reply.id}"]`);
    await row.waitFor();
    await row.getByTestId("read-reply").click();
    const dialog = page.getByTestId("reply-text-dialog");
    await dialog.getByTestId("reply-full").waitFor();
    const stages = (await get(admin, "/contact-stages")).contact_stages;
    await dialog.getByTestId("reply-stage").selectOption(stages.find((s) => s.name === "Not Interested").id);
    await dialog.getByTestId("reply-set-stage").click();
    await page.getByText("That contact is gone: nothing changed").waitFor({ timeout: 5000 });
    assert.equal(await page.getByText(/^Moved to /).count(), 0);
  });
});
