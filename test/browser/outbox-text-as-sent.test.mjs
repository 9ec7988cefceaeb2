// The Outbox said "exactly as sent" but its detail showed the email's text without what sending adds (the
// signature, and on a sequence's email the postal footer and unsubscribe link), which the raw source has.
// Now the detail shows the text part of the message as handed to the transport.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("an Outbox email's text", () => {
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

  it("is the text as sent: the signature included, non-ASCII intact", async () => {
    const tag = Date.now();
    const signature = `Riley Sent-${tag}\nHead of Sales — Demö Inc.`;
    const email = `text-as-sent-${tag}@demo.test`;
    const created = await api("POST", "/mailboxes", { email, sender_name: "Riley", transport: "outbox", signature });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.mailbox.id;
    const test = await api("POST", `/mailboxes/${id}/test`, { to: email });
    assert.equal(test.body.ok, true, JSON.stringify(test.body));
    const { body } = await api("GET", `/messages?mailbox_id=${id}`);
    const m = body.messages[0];
    assert.ok(m && !m.body.includes(`Sent-${tag}`), "the API's body has no signature");

    await page.goto(`${baseUrl}/outbox?mailbox=${id}&id=${m.id}`);
    const shown = page.getByTestId("mail-body");
    await shown.getByText(`Riley Sent-${tag}`, { exact: false }).waitFor();
    const text = (await shown.textContent()) ?? "";
    assert.ok(text.startsWith(m.body.split("\n")[0]), "it starts with the email's text");
    assert.ok(text.includes(`\n-- \nRiley Sent-${tag}\nHead of Sales — Demö Inc.`), JSON.stringify(text));
    assert.equal(await page.getByTestId("mail-body-note").count(), 0);
  });
});
