// Settings → Webhooks (MeetingsWebhook.tsx): the signed meetings webhook says what it is (our own JSON
// format, with its headers and body), a rotation says the previous secret still works for a day, and
// the signed requests received are listed with what came of each.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("the meetings webhook settings", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("shows the exact format, says the replaced secret works 24 hours more, and lists a booking that matched nobody", async () => {
    await page.goto(`${baseUrl}/settings?tab=webhooks`);
    await page.getByText("A signed JSON webhook").waitFor();
    assert.match(await page.getByTestId("webhook-body-format").textContent(), /"email".*"event_id".*"booked_at"/);
    const teamId = (await page.getByTestId("webhook-team").textContent()).trim();

    // A secret first (if the demo team has none), then a rotation.
    const create = page.getByRole("button", { name: "Create secret" });
    if (await create.isVisible()) {
      await create.click();
      await page.getByTestId("webhook-secret").waitFor();
    }
    await page.getByRole("button", { name: "Rotate secret" }).click();
    await page.getByText(/The previous secret is still accepted until .+, then no longer\./).waitFor();
    const secret = (await page.getByTestId("webhook-secret").textContent()).trim();

    const raw = JSON.stringify({ email: "not-a-contact@nowhere.test", event_id: `evt-${Date.now()}` });
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac("sha256", secret).update(`${t}.${raw}`).digest("hex");
    const res = await fetch(`${baseUrl}/api/webhooks/meetings`, {
      method: "POST",
      headers: { "content-type": "application/json", "seqflare-team": teamId, "seqflare-signature": `t=${t},v1=${v1}` },
      body: raw,
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).matched, false);

    await page.reload();
    const row = page.getByTestId("webhook-deliveries").locator("tbody tr").first();
    await row.getByText("not-a-contact@nowhere.test").waitFor();
    await row.getByText("No match").waitFor();
    await row.getByText(/No contact with that id or email: nothing booked/).waitFor();
    await page
      .getByTestId("webhook-secret-status")
      .getByText(/the previous secret is still accepted until/)
      .waitFor();
  });
});
