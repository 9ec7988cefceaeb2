// The replies inbox's sequence picker and Mine toggle live in the URL (a link or a reload keeps them), and a
// sequence's report links to its replies.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

async function apiSession() {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "admin@demo.test", password: "demo1234" }),
  });
  assert.equal(res.status, 200);
  return { cookie: res.headers.get("set-cookie").split(";")[0] };
}
const get = async (session, path) => (await fetch(`${baseUrl}/api${path}`, { headers: { cookie: session.cookie } })).json();

describe("replies filters in the URL", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("the sequence's Replies link opens the inbox filtered to it; Mine and the picker stay through a reload", async () => {
    const session = await apiSession();
    const all = await get(session, "/replies?per_page=100");
    const withSequence = all.replies.find((r) => r.sequence);
    assert.ok(withSequence, "the demo team has a reply in a sequence");
    const seq = withSequence.sequence;
    const ofSeq = await get(session, `/replies?per_page=100&sequence_id=${seq.id}`);
    assert.ok(ofSeq.pagination.total_entries < all.pagination.total_entries || all.replies.every((r) => r.sequence?.id === seq.id));

    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=report`);
    await page.getByTestId("sequence-replies-link").click();
    await page.waitForURL((u) => u.pathname === "/replies" && u.searchParams.get("sequence_id") === seq.id);
    const table = page.getByTestId("replies-table");
    await table.locator("tbody tr[data-reply]").first().waitFor();
    const shownIds = async () =>
      (await table.locator("tbody tr[data-reply]").evaluateAll((rows) => rows.map((r) => r.dataset.reply))).sort();
    // Exactly the sequence's replies (the first page of 25), and the picker names it.
    const expected = ofSeq.replies
      .slice(0, 25)
      .map((r) => r.id)
      .sort();
    await page.waitForFunction(
      (n) => document.querySelectorAll("[data-testid=replies-table] tbody tr[data-reply]").length === n,
      expected.length,
    );
    assert.deepEqual(await shownIds(), expected);
    const picker = page.getByTestId("reply-sequence");
    await page.waitForFunction((name) => {
      const s = document.querySelector("[data-testid=reply-sequence]");
      return s && s.selectedOptions[0]?.textContent?.trim() === name;
    }, seq.name);

    // Mine: into the URL, the sequence kept; a reload keeps both.
    await page.getByTestId("reply-mine").check();
    await page.waitForURL((u) => u.searchParams.get("mine") === "true" && u.searchParams.get("sequence_id") === seq.id);
    const mine = await get(session, `/replies?per_page=25&sequence_id=${seq.id}&mine=true`);
    await page.reload();
    assert.equal(await page.getByTestId("reply-mine").isChecked(), true);
    await page.waitForFunction((id) => document.querySelector("[data-testid=reply-sequence]")?.value === id, seq.id);
    if (mine.replies.length) {
      await page.waitForFunction(
        (n) => document.querySelectorAll("[data-testid=replies-table] tbody tr[data-reply]").length === n,
        mine.replies.length,
      );
      assert.deepEqual(await shownIds(), mine.replies.map((r) => r.id).sort());
    }

    // Every sequence: the picker drops sequence_id from the URL, Mine stays.
    await picker.selectOption("");
    await page.waitForURL((u) => !u.searchParams.has("sequence_id") && u.searchParams.get("mine") === "true");
  });
});
