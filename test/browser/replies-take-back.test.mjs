// Taking back an unsubscribe request lifts the address's suppression, which only team admins may
// (suppressions.manage) and only with the person's consent ticked: the Replies screen offers no more
// than the API allows. A sequence editor who isn't an admin may confirm it but not correct it away (a
// hint says why); the admin's confirm dialog keeps its button off until "They did not ask to be removed" is ticked.
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

describe("replies: taking back an unsubscribe request", () => {
  let browser;
  let page;
  let id;

  before(async () => {
    ({ browser, page } = await launch());
    // An email of a sequence the rep (a member) may edit, answered with a request to be removed.
    const rep = await apiSession("rep1@demo.test");
    const editable = new Set((await get(rep, "/sequences?per_page=100&status=all")).sequences.filter((s) => s.can_edit).map((s) => s.id));
    const { messages } = await get(rep, "/messages?status=sent&per_page=100");
    const m = messages.find((x) => x.contact && x.mailbox && x.sequence && editable.has(x.sequence.id));
    assert.ok(m, "the rep has a sent email in a sequence they edit");
    const from = m.contact.email ?? m.to_email;
    const raw = [
      `From: <${from}>`,
      `To: ${m.mailbox.email}`,
      `Subject: Re: ${m.subject}`,
      `Message-ID: <unsub-${Date.now()}@prospect.test>`,
      `In-Reply-To: ${m.message_id}`,
      `References: ${m.message_id}`,
      "Content-Type: text/plain",
      "",
      "Please remove me from your list.",
      "",
    ].join("\r\n");
    const delivered = await fetch(
      `${baseUrl}/cdn-cgi/handler/email?from=${encodeURIComponent(from)}&to=${encodeURIComponent(m.mailbox.email)}`,
      { method: "POST", body: raw },
    );
    assert.ok(delivered.ok, `email handler answered ${delivered.status}`);
    const { replies } = await get(rep, `/replies?contact_id=${m.contact.id}&per_page=100`);
    const reply = replies.find((x) => x.message_id === m.id && x.classification === "unsubscribe");
    assert.ok(reply, "the email was taken as an unsubscribe request");
    // The API's own answer: the rep may correct (confirm) it, not take it back.
    assert.equal(reply.can_correct, true);
    assert.equal(reply.can_take_back, false);
    id = reply.id;
  });
  after(async () => {
    await browser?.close();
  });

  it("a rep who edits the sequence sees only Confirm, and why they can't take it back", async () => {
    await signIn(page, "rep1@demo.test");
    await page.goto(`${baseUrl}/replies`);
    const row = page.locator(`tr[data-reply="${id}"]`);
    await row.waitFor();
    const options = await row.getByTestId("reclassify").locator("option").allTextContents();
    assert.deepEqual(options, ["Unsubscribe request"]);
    assert.equal(await row.getByRole("button", { name: "Correct it" }).count(), 0);
    assert.equal(await row.getByRole("button", { name: "Confirm" }).count(), 1);
    assert.match(await row.getByTestId("reply-take-back-hint").textContent(), /Only admins can take back an unsubscribe/);
    await page.context().clearCookies();
  });

  it("the admin's confirm dialog keeps its button off until 'They did not ask to be removed' is ticked", async () => {
    await signIn(page, "admin@demo.test");
    await page.goto(`${baseUrl}/replies`);
    const row = page.locator(`tr[data-reply="${id}"]`);
    await row.waitFor();
    assert.equal(await row.getByTestId("reply-take-back-hint").count(), 0);
    await row.getByTestId("reclassify").selectOption("auto_reply");
    await row.getByRole("button", { name: "Correct it" }).click();
    const dialog = page.getByRole("dialog", { name: "Take back this unsubscribe request?" });
    await dialog.waitFor();
    const make = dialog.getByRole("button", { name: "Make it auto-reply" });
    assert.equal(await make.isDisabled(), true);
    await dialog.getByLabel("They did not ask to be removed").check();
    assert.equal(await make.isDisabled(), false);
    await make.click();
    await page
      .getByText(/Now auto-reply/)
      .first()
      .waitFor();
    const admin = await apiSession("admin@demo.test");
    const after = await get(admin, `/replies/${id}`);
    assert.equal((after.reply ?? after).classification, "auto_reply");
  });
});
