// Mailboxes end to end: connect an outbox mailbox, see its capacity, send a test email and find it in
// the Outbox, then disconnect and reconnect it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("mailboxes and outbox", () => {
  let browser;
  let page;
  const stamp = Date.now();
  const email = `browser-${stamp}@demo.test`;
  // A test email goes only to the mailbox itself or a member of the team.
  const to = email;
  const card = () => page.locator(`[data-testid="mailbox-card"][data-email="${email}"]`);

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("connects an outbox mailbox and shows its capacity", async () => {
    await page.goto(`${baseUrl}/mailboxes`);
    await page.getByRole("button", { name: "Connect mailbox" }).click();
    const dialog = page.getByRole("dialog", { name: "Connect a mailbox" });
    await dialog.getByLabel("Email address").fill(email);
    await dialog.getByLabel("Sender name").fill("Browser Test");
    await dialog.getByRole("radio", { name: /Outbox/ }).check();
    await dialog.getByLabel("Per day").fill("30");
    await dialog.getByLabel("Per hour").fill("10");
    await dialog.getByRole("button", { name: "Connect mailbox" }).click();
    await dialog.waitFor({ state: "hidden" });

    await card().waitFor();
    assert.match((await card().textContent()) ?? "", /Connected/);
    const meter = card().getByRole("meter", { name: `${email} daily capacity used` });
    assert.equal(await meter.getAttribute("aria-valuemax"), "30");
    assert.equal(await meter.getAttribute("aria-valuenow"), "0");
    assert.match((await card().textContent()) ?? "", /0 of 30 sent/);
    assert.match((await card().textContent()) ?? "", /30 left/);
  });

  it("sends a test email that shows up in the Outbox with its raw source", async () => {
    await card().getByRole("button", { name: "Send test" }).click();
    const dialog = page.getByRole("dialog", { name: "Send a test email" });
    assert.match(
      (await dialog.textContent()) ?? "",
      /This mailbox's own address or an active member of your team\. At most 10 test emails an hour\./,
    );
    await dialog.getByLabel("Send to").fill(`prospect-${stamp}@example.com`);
    await dialog.getByRole("button", { name: "Send test" }).click();
    await dialog.getByText("A test email goes only to this mailbox's own address or to an active member of your team").first().waitFor();
    await dialog.getByLabel("Send to").fill(to);
    await dialog.getByRole("button", { name: "Send test" }).click();
    const result = dialog.getByTestId("test-email-result");
    await result.waitFor();
    assert.match((await result.textContent()) ?? "", /^Sent/);
    await dialog.getByRole("button", { name: "Close", exact: true }).first().click();
    await dialog.waitFor({ state: "hidden" });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Outbox" }).click();
    await page.waitForURL(`${baseUrl}/outbox`);
    const row = page.getByTestId("outbox-list").getByRole("button", { name: new RegExp(to) });
    await row.waitFor();
    assert.match((await row.textContent()) ?? "", /Sent/);
    await row.click();
    const detail = page.getByTestId("message-detail");
    await detail.waitFor();
    assert.match((await detail.textContent()) ?? "", new RegExp(`From${email}`));
    await detail.getByRole("button", { name: "View raw" }).click();
    const raw = (await page.getByTestId("raw-message").textContent()) ?? "";
    assert.match(raw, new RegExp(`^From: Browser Test <${email}>`, "m"));
    assert.match(raw, new RegExp(`^To: <?${to}>?`, "m"));
  });

  it("editing a signed-in mailbox shows its Gmail sign-in as the way it sends, and says a switch drops it", async () => {
    // No Google app on this server: the list answer shows this test's mailbox as a Gmail one.
    await page.route(/\/api\/mailboxes$/, async (route) => {
      const body = await (await route.fetch()).json();
      Object.assign(
        body.mailboxes.find((m) => m.email === email),
        { transport: "gmail", smtp: null, reply_check: { checked_at: null, error: null } },
      );
      await route.fulfill({ status: 200, json: body });
    });
    await page.goto(`${baseUrl}/mailboxes`);
    await card().getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog", { name: `Edit ${email}` });
    assert.equal(await dialog.getByRole("radio", { name: /Gmail \(signed in\)/ }).isChecked(), true);
    assert.equal(await dialog.getByTestId("sign-in-dropped").count(), 0);
    await dialog.getByRole("radio", { name: /Outbox/ }).check();
    const warning = dialog.getByTestId("sign-in-dropped");
    await warning.waitFor();
    assert.match((await warning.textContent()) ?? "", new RegExp(`the sign-in is deleted .* sign in with Google again as ${email}`));
    await dialog.getByRole("radio", { name: /Gmail \(signed in\)/ }).check();
    await warning.waitFor({ state: "hidden" });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await page.unroute(/\/api\/mailboxes$/);
  });

  it("disconnects the mailbox and reconnects it", async () => {
    await page.goto(`${baseUrl}/mailboxes`);
    await card().getByRole("button", { name: "Disconnect" }).click();
    const confirm = page.getByRole("dialog", { name: `Disconnect ${email}?` });
    await confirm.getByRole("button", { name: "Disconnect" }).click();
    await confirm.waitFor({ state: "hidden" });
    await card().getByRole("button", { name: "Reconnect" }).waitFor();
    assert.match((await card().textContent()) ?? "", /Disconnected by a user/);
    // Home doesn't count capacity for a mailbox that can't send.
    await page.goto(`${baseUrl}/`);
    const onHome = page.getByTestId("home-capacity").locator("li", { hasText: email });
    await onHome.getByTestId("home-mailbox-not-sending").waitFor();
    assert.match((await onHome.textContent()) ?? "", /Disconnected: sends nothing until it is back/);
    assert.doesNotMatch((await onHome.textContent()) ?? "", /left of/);
    await page.goto(`${baseUrl}/mailboxes`);

    await card().getByRole("button", { name: "Reconnect" }).click();
    await card().getByRole("button", { name: "Disconnect" }).waitFor();
    assert.match((await card().textContent()) ?? "", /Connected/);
    assert.doesNotMatch((await card().textContent()) ?? "", /Disconnected by a user/);
  });
});
