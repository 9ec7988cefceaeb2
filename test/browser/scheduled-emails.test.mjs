// Scheduled emails (issue 12 item 8): on a sequence's Scheduled tab, preview an email as the contact
// will get it, edit it for that contact, send it now (the Outbox then holds exactly the edited text),
// and skip another one (its contact moves on to the next step).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4 (seeded contacts)

describe("scheduled emails", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const table = () => page.getByTestId("scheduled-table");
  const dialog = () => page.getByTestId("scheduled-email-dialog");
  /** The API as the signed-in page sees it. */
  const get = (path) => page.evaluate(async (p) => (await fetch(p)).json(), path);

  it("lists emails in the order they go out, each step's due time beside when it goes out", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=scheduled`);
    await table().waitFor();
    await table().locator("tbody tr").first().waitFor();
    const shown = await table()
      .locator("tbody tr")
      .evaluateAll((rows) =>
        rows.map((r) => ({
          id: r.getAttribute("data-enrollment"),
          due: r.querySelector("[data-testid=scheduled-due] time")?.getAttribute("datetime") ?? null,
          goes: r.querySelector("[data-testid=scheduled-goes-out] time")?.getAttribute("datetime") ?? null,
        })),
      );
    const { scheduled } = await get(`/api/scheduled-emails?sequence_id=${SEQ1}&limit=${shown.length}`);
    // The screen's rows are the API's, in its order, and each shows its own due time (none when paused or held).
    assert.deepEqual(
      shown.map((r) => r.id),
      scheduled.map((s) => s.enrollment_id),
    );
    for (const [i, r] of shown.entries())
      assert.equal(r.due, scheduled[i].due_at === null ? null : new Date(scheduled[i].due_at).toISOString(), `row ${i}`);
    // In the order they go out (the mailbox sends higher-scored contacts first, whatever their due time); those
    // that won't go as things are come last.
    const goes = shown.map((r) => (r.goes ? Date.parse(r.goes) : Infinity));
    assert.ok(
      goes.some((g) => g !== Infinity),
      "some rows have a send time",
    );
    assert.deepEqual(
      goes,
      [...goes].sort((a, b) => a - b),
      "in the order they go out",
    );
    for (const [i, s] of scheduled.entries())
      assert.equal(shown[i].goes, s.send_at === null ? null : new Date(s.send_at).toISOString(), `row ${i} goes out`);
    assert.match(await page.getByTestId("scheduled-order").textContent(), /In the order they go out/);
  });

  it("previews an email, edits it for the contact, sends it now: the Outbox holds the edited text", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=scheduled`);
    await table().waitFor();
    const row = table().locator("tbody tr").first();
    const enrollmentId = await row.getAttribute("data-enrollment");
    await row.getByRole("button", { name: /^Preview the email to/ }).click();
    await dialog().getByTestId("scheduled").waitFor();
    // The preview is the email the contact gets: a rendered subject, the footer with the unsubscribe link.
    const subject = (await dialog().getByTestId("scheduled-subject").textContent()).trim();
    assert.ok(subject && !subject.includes("{{"), `rendered subject: ${subject}`);
    assert.match(await dialog().getByTestId("scheduled-body").textContent(), /Unsubscribe: http/);

    const marker = `Browser edit ${Date.now()}`;
    await dialog().getByRole("button", { name: "Edit for this contact" }).click();
    await dialog().getByLabel("Body").fill(`${marker} for {{first_name}}`);
    await dialog().getByRole("button", { name: "Save for this contact" }).click();
    await dialog().getByText("Edited for this contact").waitFor();
    const body = await dialog().getByTestId("scheduled-body").textContent();
    assert.match(body, new RegExp(`${marker} for \\S`));
    assert.doesNotMatch(body, /\{\{first_name\}\}/);

    await dialog().getByRole("button", { name: "Send now" }).click();
    const outcome = await dialog().getByTestId("scheduled-outcome").textContent();
    assert.match(outcome, /Sending now|Queued first in line/);
    await dialog().getByRole("button", { name: "Done" }).click();

    if (/Sending now/.test(outcome)) {
      // The local mailbox's alarm sends it within moments; the Outbox row carries the edit.
      let sent = null;
      for (let i = 0; i < 60 && !sent; i++) {
        const { messages } = await get(`/api/messages?sequence_id=${SEQ1}&per_page=50`);
        sent = messages.find((m) => m.enrollment_id === enrollmentId && m.body.includes(marker)) ?? null;
        if (!sent) await page.waitForTimeout(1000);
      }
      assert.ok(sent, "the edited email reached the Outbox");
    } else {
      const { scheduled } = await get(`/api/scheduled-emails?sequence_id=${SEQ1}&limit=200`);
      assert.equal(scheduled.find((s) => s.enrollment_id === enrollmentId)?.send_now, true);
    }
  });

  it("skips an email: the contact moves on to its next step", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=scheduled`);
    await table().waitFor();
    const row = table().locator("tbody tr").last();
    const enrollmentId = await row.getAttribute("data-enrollment");
    const before = (await get(`/api/scheduled-emails?sequence_id=${SEQ1}&limit=200`)).scheduled.find(
      (s) => s.enrollment_id === enrollmentId,
    );
    await row.getByRole("button", { name: /^Preview the email to/ }).click();
    await dialog().getByTestId("scheduled").waitFor();
    await dialog().getByRole("button", { name: "Skip" }).click();
    assert.match(await dialog().getByTestId("scheduled-outcome").textContent(), /Skipped/);
    await dialog().getByRole("button", { name: "Done" }).click();
    const after = (await get(`/api/scheduled-emails?sequence_id=${SEQ1}&limit=200`)).scheduled.find(
      (s) => s.enrollment_id === enrollmentId,
    );
    // Either its next email step is now the scheduled one, or it has no email step left here.
    assert.ok(!after || after.step.position > before.step.position, "the skipped step is no longer scheduled");
    const { events } = await get(`/api/contacts/${before.contact.id}/timeline`);
    assert.ok(
      events.some((e) => e.title === "Scheduled email skipped"),
      "the timeline shows the skip",
    );
  });
});
