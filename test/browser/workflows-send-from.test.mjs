// "Send from" says what a run does with no mailbox ticked: it sends from the workflow owner's own connected
// mailboxes (not every connected mailbox), and the editor warns when the owner has none.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("workflow send-from", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "rep2@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("the editor says runs use the owner's own mailboxes, and warns when the owner has none connected", async () => {
    const me = await page.evaluate(async () => (await (await fetch("/api/me")).json()).user.id);
    // This user's mailboxes shown as `status`, the team's others as they are: whether the user's own are
    // connected now depends on earlier tests (disabling a user disconnects them, enabling doesn't reconnect).
    const ownMailboxes = (status) =>
      page.route("**/api/mailboxes*", async (route) => {
        const res = await route.fetch();
        const body = await res.json();
        body.mailboxes = body.mailboxes.map((m) => (m.user_id === me ? { ...m, status } : m));
        await route.fulfill({ response: res, json: body });
      });
    assert.ok(
      await page.evaluate(async (id) => (await (await fetch("/api/mailboxes")).json()).mailboxes.some((m) => m.user_id === id), me),
      "the user has a mailbox of their own",
    );
    await ownMailboxes("disconnected");
    await page.goto(`${baseUrl}/workflows/new`);
    await page.getByRole("heading", { name: "Send from" }).waitFor();
    assert.match((await page.locator(".wf-section", { hasText: "Send from" }).textContent()) ?? "", /owner's own connected mailboxes/);
    await page.getByTestId("wf-no-owner-mailbox").waitFor();
    assert.match((await page.getByTestId("wf-no-owner-mailbox").textContent()) ?? "", /You have no connected mailbox of your own/);
    await page.unroute("**/api/mailboxes*");
    await ownMailboxes("connected");
    await page.goto(`${baseUrl}/workflows/new`);
    await page.getByRole("heading", { name: "Send from" }).waitFor();
    await page.locator(".wf-section", { hasText: "Send from" }).locator("input[type=checkbox]").first().waitFor();
    assert.equal(await page.getByTestId("wf-no-owner-mailbox").count(), 0);
  });
});
