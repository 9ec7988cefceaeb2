// The Outbox (test) transport sends nothing: the mailbox dialog offers (and pre-picks) it only where the
// server takes it (GET /api/auth/options says outbox_transport). Deployed, a new mailbox starts on no
// transport, and an outbox mailbox saved there says it sends nothing until another is chosen.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const OPTIONS = /\/api\/auth\/options$/;

describe("the mailbox dialog's outbox transport", () => {
  let browser;
  let page;
  const saved = `outbox-local-${Date.now()}@demo.test`;
  const openConnect = async () => {
    await page.goto(`${baseUrl}/mailboxes`);
    await page.getByRole("button", { name: "Connect mailbox" }).click();
    return page.getByRole("dialog", { name: "Connect a mailbox" });
  };

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("locally is offered and picked for a new mailbox", async () => {
    const dialog = await openConnect();
    const outbox = dialog.getByRole("radio", { name: /Outbox/ });
    await outbox.waitFor();
    assert.equal(await outbox.isChecked(), true);
    await dialog.getByLabel("Email address").fill(saved);
    await dialog.getByLabel("Sender name").fill("Outbox Local");
    await dialog.getByRole("button", { name: "Connect mailbox" }).click();
    await dialog.waitFor({ state: "hidden" });
  });

  it("on a server that refuses it is neither offered nor picked, and a saved outbox mailbox says so", async () => {
    await page.route(OPTIONS, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: { ...(await response.json()), outbox_transport: false } });
    });
    const dialog = await openConnect();
    await dialog.getByRole("radio", { name: /SMTP/ }).waitFor();
    assert.equal(await dialog.getByRole("radio", { name: /Outbox/ }).count(), 0);
    assert.equal(await dialog.locator('input[name="transport"]:checked').count(), 0, "no transport is pre-picked");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });

    const card = page.locator(`[data-testid="mailbox-card"][data-email="${saved}"]`);
    await card.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: `Edit ${saved}` });
    await edit.getByTestId("outbox-refused").waitFor();
    assert.match((await edit.getByTestId("outbox-refused").textContent()) ?? "", /sends nothing/);
    assert.equal(await edit.locator('input[name="transport"]:checked').count(), 0);
    await page.unroute(OPTIONS);
  });
});
