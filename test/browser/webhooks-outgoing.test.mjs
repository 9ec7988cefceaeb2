// Settings → Webhooks, Outgoing (WebhooksOutgoing.tsx): an admin subscribes a receiver, sees its signing
// secret once, sends a test event, and sees the delivery the receiver got (signed with that secret).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("outgoing webhooks in Settings", () => {
  let browser;
  let page;
  let server;
  const received = [];

  before(async () => {
    // The receiver: on this machine, which `npm start` (APP_ENV=local) lets a subscription name over http.
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  it("creates a subscription, shows its secret once, and lists the test event the receiver got", async () => {
    const url = `http://127.0.0.1:${server.address().port}/hook-${Date.now()}`;
    await page.goto(`${baseUrl}/settings?tab=webhooks`);
    const part = page.getByTestId("outgoing-webhooks");
    await part.getByLabel("Receiver URL").fill(url);
    await part.getByRole("button", { name: "Add subscription" }).click();
    const secret = (await page.getByTestId("outgoing-webhook-secret").textContent()).trim();
    assert.match(secret, /^whsec_/);
    const hook = part.getByTestId("outgoing-webhook").filter({ hasText: url });
    await hook.waitFor();
    const id = await hook.getAttribute("data-hook-id");

    // Once: after a reload the secret is gone from the page (only its first characters are listed).
    await page.reload();
    await hook.waitFor();
    assert.equal(await page.getByTestId("outgoing-webhook-secret").count(), 0);
    assert.ok(!(await part.textContent()).includes(secret));
    await hook.getByText(`secret ${secret.slice(0, 10)}…`).waitFor();

    await hook.getByRole("button", { name: "Send a test event" }).click();
    const row = hook.getByTestId("outgoing-webhook-deliveries").locator("tbody tr").first();
    await row.getByText("ping", { exact: true }).waitFor();
    await row.getByText("Delivered").waitFor({ timeout: 30_000 });
    assert.equal((await row.locator("td").nth(2).textContent()).trim(), "200");
    assert.equal((await row.locator("td").nth(4).textContent()).trim(), "1");

    const got = received.filter((r) => r.headers["seqflare-event"] === "ping");
    assert.equal(got.length, 1);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(got[0].headers["seqflare-signature"]);
    assert.equal(v1, createHmac("sha256", secret).update(`${t}.${got[0].body}`).digest("hex"));
    assert.equal(got[0].headers["seqflare-delivery"], JSON.parse(got[0].body).id);

    // Leave the demo team as it was.
    assert.equal((await pageApi(page)("DELETE", `/webhooks/outgoing/${id}`)).status, 200);
  });
});
