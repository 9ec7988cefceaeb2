// A contact whose address is put on the Do not email list: their page says so ("never emailed"), and on the same
// page neither their sequences nor their scheduled emails say an email goes out: each says it won't be sent, and why.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("contact page: a Do not email address has no email about to go", () => {
  let browser;
  let page;
  let lift = null;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    if (lift) await lift();
    await browser?.close();
  });

  it("suppressing the address turns 'Goes out …' into 'Won't be sent' on the contact's sequences and scheduled emails", async () => {
    const api = pageApi(page);
    // A seeded contact with an automatic email that has a time to go.
    const list = await api("GET", "/scheduled-emails?limit=100&sort=due_at");
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const row = list.body.scheduled.find((r) => r.state !== "held" && !r.from_task && r.send_at && r.contact.email);
    assert.ok(row, "the seed has an automatic email with a time to go");
    const { id, email } = row.contact;
    const sel = `[data-enrollment="${row.enrollment_id}"]`;

    // Before: the page tells when it goes.
    await page.goto(`${baseUrl}/contacts/${id}`);
    await page.locator(`${sel} [data-testid="scheduled-goes-out"] time`).waitFor();

    const added = await api("POST", "/suppressions", { emails: [email] });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    lift = () => api("DELETE", `/suppressions/${encodeURIComponent(email.toLowerCase())}`);

    await page.goto(`${baseUrl}/contacts/${id}`);
    await page.getByTestId("contact-suppressed").waitFor();
    const goesOut = page.locator(`${sel} [data-testid="scheduled-goes-out"]`);
    await goesOut.waitFor();
    assert.equal(await goesOut.locator("time").count(), 0, await goesOut.innerText());
    assert.match(await goesOut.innerText(), /Won't go/);
    const state = await page.locator(`${sel} .sched-state`).innerText();
    assert.match(state, /Won't be sent/);
    assert.match(await page.locator(`${sel}`).innerText(), /Address is on the team's suppression list/);

    // The run in the contact's sequences says the same, not "Active" with nothing more.
    const seqRow = page.getByTestId("contact-sequences-table").locator("tr", { hasText: row.sequence.name });
    assert.match(await seqRow.first().innerText(), /Won't be sent: Address is on the team's suppression list/);
  });
});
