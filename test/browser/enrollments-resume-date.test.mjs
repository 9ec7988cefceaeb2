// A paused contact's resume date can be changed from the contacts tab: with only paused contacts picked,
// the date's button says "Change resume date", and the run's date moves (the API's paused_until).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4 (seeded contacts)

describe("contacts in a sequence: changing a resume date", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const table = () => page.getByTestId("enrollments-table");
  const dayIn = (days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

  it("pauses a contact until a date, then moves that date with Change resume date", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=active&sort=name`);
    await table().waitFor();
    const first = table().locator("tbody tr").nth(1);
    const name = (await first.locator(".cell-strong").textContent()).trim();
    await first.getByRole("checkbox").check();
    // An active pick is paused, not re-dated.
    assert.equal(await page.getByRole("button", { name: "Change resume date" }).count(), 0);
    await page.getByTestId("pause-until-date").fill(dayIn(10));
    await page.getByRole("button", { name: "Pause until" }).click();
    await page.getByText(/1 contact paused until/).waitFor();

    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=contacts&status=paused&q=${encodeURIComponent(name)}`);
    const row = table().locator("tbody tr", { hasText: name });
    await row.getByTestId("paused-until").waitFor();
    await row.getByRole("checkbox").check();
    await page.getByTestId("pause-until-date").fill(dayIn(20));
    await page.getByRole("button", { name: "Change resume date" }).click();
    await page.getByText(/1 contact now resume/).waitFor();

    // The run's date is the new one (09:00 local on that day, as the screen sends it).
    const api = pageApi(page);
    const { body } = await api("GET", `/sequences/${SEQ1}/enrollments?status=paused&q=${encodeURIComponent(name)}`);
    const e = body.enrollments.find((x) => x.contact.name === name);
    assert.equal(e.paused_until, await page.evaluate((d) => new Date(`${d}T09:00:00`).getTime(), dayIn(20)));

    // Leave the seed as it was.
    assert.equal((await api("POST", `/sequences/${SEQ1}/enrollments/resume`, { enrollment_ids: [e.id] })).status, 200);
  });
});
