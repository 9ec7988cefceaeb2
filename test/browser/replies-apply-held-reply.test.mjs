// A reply kept for review because its sender is in several open runs from the mailbox (and its subject answers
// none) could only be confirmed: nothing on the screen applied it. Its read dialog now offers the runs by
// sequence name, and one click applies it to the run picked (POST /replies/{id}/apply-to-run), after which the
// choice is gone. The demo workspace has no contact in two open runs from one mailbox, so the inbox's answers
// are shaped here (the API side is test/replies/apply-held-reply.test.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const LIST = /\/api\/replies(\?.*)?$/;

describe("replies: a held reply applied to the run it answers", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("offers the runs by sequence name; one click applies it and the choice is gone", async () => {
    let id;
    let applied = false;
    const posted = [];
    const runs = [
      {
        enrollment_id: "run-pricing",
        sequence_id: "seq-pricing",
        sequence_name: "Pricing follow-up",
        status: "active",
        email: { id: "m-1", subject: "Pricing for Pat", sent_at: Date.now() - 86_400_000 },
        can_apply: true,
      },
      {
        enrollment_id: "run-intro",
        sequence_id: "seq-intro",
        sequence_name: "Intro — Q1",
        status: "active",
        email: { id: "m-2", subject: "Intro for Pat", sent_at: Date.now() - 3_600_000 },
        can_apply: true,
      },
    ];
    // The newest reply with a contact: on the inbox's first page (other lists, like the sidebar's count, are read too).
    const listed = await (await page.request.get(`${baseUrl}/api/replies?per_page=10`)).json();
    id = listed.replies.find((r) => r.contact)?.id;
    assert.ok(id, "the demo inbox has a reply with a contact");
    await page.route(LIST, async (route) => {
      if (route.request().method() !== "GET") return route.fallback();
      const response = await route.fetch();
      const body = await response.json();
      const mine = body.replies.find((r) => r.id === id);
      if (mine && !applied) mine.evidence = { ...mine.evidence, rule: "sender_match", held: 2 };
      await route.fulfill({ response, json: body });
    });
    await page.route(/\/api\/replies\/[^/]+\/runs$/, (route) =>
      route.fulfill({ json: applied ? { held: false, runs: [] } : { held: true, runs } }),
    );
    await page.route(/\/api\/replies\/[^/]+\/apply-to-run$/, async (route) => {
      posted.push({ url: route.request().url(), body: route.request().postDataJSON() });
      applied = true;
      await route.fulfill({
        json: {
          reply: {
            id,
            enrollment_id: "run-intro",
            message_id: "m-2",
            reviewed_at: Date.now(),
            applied_to: [{ sequence_id: "seq-intro", sequence_name: "Intro — Q1", action: "finish", enrollments: 1 }],
          },
        },
      });
    });

    await page.goto(`${baseUrl}/replies`);
    const row = page.locator(`tr[data-reply="${id}"]`);
    await row.waitFor();
    await row.getByTestId("read-reply").click();
    const dialog = page.getByTestId("reply-text-dialog");
    const choose = dialog.getByTestId("apply-to-run");
    await choose.waitFor();
    assert.match(await choose.textContent(), /Which sequence does this answer\?/);
    assert.match(await choose.textContent(), /several open runs from this mailbox/);
    const buttons = choose.getByTestId("apply-to-run-choice");
    assert.deepEqual(await buttons.allTextContents(), ["Pricing follow-up", "Intro — Q1"]);
    assert.match(await choose.textContent(), /“Intro for Pat”/);

    await buttons.filter({ hasText: "Intro — Q1" }).click();
    await page.getByText("Applied to Intro — Q1").waitFor();
    assert.equal(posted.length, 1);
    assert.ok(posted[0].url.endsWith(`/api/replies/${id}/apply-to-run`));
    assert.deepEqual(posted[0].body, { enrollment_id: "run-intro" });
    // The inbox is read again: the reply is no longer held, so nothing is offered.
    await choose.waitFor({ state: "detached" });
  });
});
