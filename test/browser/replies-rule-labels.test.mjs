// Each rule the classifier stores an inbound email under is said in words in the inbox's evidence line, never
// as its code: a policy block (5.7.x, retried and not suppressed) and a bounce of a forwarded copy (nothing
// changed) read "dsn_blocked" and "forwarded_copy_bounced" to the rep before they had labels.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const LIST = /\/api\/replies(\?.*)?$/;

describe("the inbox's evidence says each rule in words", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  for (const [rule, words] of [
    ["dsn_blocked", /Refused by the receiving server's policy/],
    ["forwarded_copy_bounced", /forwarded copy bounced/],
    ["sender_match", /From a contact this mailbox emails/],
  ]) {
    it(rule, async () => {
      // The first listed email, answered as the server answers it but for its rule.
      await page.unroute(LIST);
      await page.route(LIST, async (route) => {
        if (route.request().method() !== "GET") return route.fallback();
        const response = await route.fetch();
        const body = await response.json();
        assert.ok(body.replies.length > 0, "the demo inbox has emails");
        body.replies[0].evidence = { ...body.replies[0].evidence, rule };
        await route.fulfill({ response, json: body });
      });
      await page.goto(`${baseUrl}/replies`);
      const evidence = page.getByTestId("reply-evidence").first();
      await evidence.waitFor();
      const text = (await evidence.textContent()) ?? "";
      assert.match(text, words);
      assert.doesNotMatch(text, new RegExp(rule));
    });
  }
});
