// People keeps its search in the URL, as Apollo does: a reload or a shared link shows the same filters,
// keywords, order, page and people; typing replaces the history entry, a filter, an order or a page adds
// one, so Back steps through the searches as they were set.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const bodyOf = (r) => JSON.parse(r.request().postData() ?? "{}");

/** Runs `act` and waits for the people search whose request passes `test`, and for its rows on screen. */
async function searched(page, test, act) {
  const res = page.waitForResponse((r) => r.url().includes("/api/people/search") && test(bodyOf(r)));
  await act();
  const answer = await (await res).json();
  const ids = answer.people.map((p) => p.id);
  await page.waitForFunction(
    (want) =>
      document.querySelector(".table-card[aria-busy='true']") === null &&
      JSON.stringify(
        [...document.querySelectorAll('[data-testid="people-table"] tbody tr[data-person-id]')].map((r) => r.dataset.personId),
      ) === JSON.stringify(want),
    ids,
  );
  return answer;
}

const params = (page) => new URL(page.url()).searchParams;
const sectionCount = async (page, title) => {
  const count = page
    .locator("details.filter-section", { has: page.locator("summary > span", { hasText: title }) })
    .locator(".filter-count");
  return (await count.count()) ? Number(await count.textContent()) : 0;
};
const addTitle = async (page, title) => {
  await page.getByLabel("Job title contains").fill(title);
  await page.getByLabel("Job title contains").press("Enter");
};

describe("People search in the URL", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("keeps filters, keywords, order and page in the URL: a reload shows the same search and the same people", async () => {
    await searched(
      page,
      () => true,
      () => page.goto(`${baseUrl}/people`),
    );
    await searched(
      page,
      (b) => b.titles?.[0] === "Director",
      () => addTitle(page, "Director"),
    );
    await searched(
      page,
      (b) => b.q === "Sales",
      () => page.locator("#people-search").fill("Sales"),
    );
    await searched(
      page,
      (b) => b.sort === "name",
      () => page.getByLabel("Sort").selectOption("name"),
    );
    const second = await searched(
      page,
      (b) => b.page === 2,
      () => page.getByRole("button", { name: "Next page" }).click(),
    );
    assert.ok(second.people.length > 0, "there is a second page of Sales directors");
    const p = params(page);
    assert.deepEqual([p.getAll("titles"), p.get("q"), p.get("sort"), p.get("page")], [["Director"], "Sales", "name", "2"]);

    const url = page.url();
    const again = await searched(
      page,
      (b) => b.titles?.[0] === "Director" && b.q === "Sales" && b.sort === "name" && b.page === 2,
      () => page.reload(),
    );
    assert.equal(page.url(), url);
    assert.deepEqual(
      again.people.map((x) => x.id),
      second.people.map((x) => x.id),
    );
    assert.equal(again.pagination.total_entries, second.pagination.total_entries);
    assert.equal(await page.locator("#people-search").inputValue(), "Sales");
    assert.equal(await page.getByLabel("Sort").inputValue(), "name");
    assert.equal(await sectionCount(page, "Job titles"), 1);
    await page.getByText(new RegExp(`^Page 2 of ${second.pagination.total_pages}$`)).waitFor();
  });

  it("Back restores the previous filters: typing replaced its entry, a filter added one", async () => {
    const everyone = await searched(
      page,
      () => true,
      () => page.goto(`${baseUrl}/people`),
    );
    await searched(
      page,
      (b) => b.titles?.[0] === "Director" && !b.q,
      () => addTitle(page, "Director"),
    );
    // Two pauses in typing, two searches: the second replaces the first's entry rather than adding one.
    await searched(
      page,
      (b) => b.q === "Sal",
      () => page.locator("#people-search").fill("Sal"),
    );
    const sales = await searched(
      page,
      (b) => b.q === "Sales",
      () => page.locator("#people-search").fill("Sales"),
    );
    await page.locator("summary", { hasText: "Location" }).click();
    const germany = await searched(
      page,
      (b) => b.countries?.[0] === "Germany",
      async () => {
        await page.locator("#filter-countries").fill("germany");
        await page.locator("#filter-countries").press("Enter");
      },
    );
    assert.ok(germany.pagination.total_entries < sales.pagination.total_entries);
    assert.equal(params(page).get("countries"), "Germany");

    const back = await searched(
      page,
      (b) => b.q === "Sales" && !b.countries,
      () => page.goBack(),
    );
    assert.equal(back.pagination.total_entries, sales.pagination.total_entries);
    assert.deepEqual(
      back.people.map((x) => x.id),
      sales.people.map((x) => x.id),
    );
    assert.equal(params(page).get("countries"), null);
    assert.deepEqual(params(page).getAll("titles"), ["Director"]);
    assert.equal(await page.locator("#people-search").inputValue(), "Sales");
    assert.equal(await sectionCount(page, "Location"), 0);
    assert.equal(await sectionCount(page, "Job titles"), 1);

    // The title's own entry became "Director, Sales" as the keywords were typed: Back again is the bare page.
    const first = await searched(
      page,
      (b) => !b.titles && !b.q,
      () => page.goBack(),
    );
    assert.equal(new URL(page.url()).search, "");
    assert.equal(first.pagination.total_entries, everyone.pagination.total_entries);
    assert.equal(await page.locator("#people-search").inputValue(), "");
    assert.equal(await sectionCount(page, "Job titles"), 0);

    // Forward brings the search back as it was.
    await searched(
      page,
      (b) => b.titles?.[0] === "Director" && b.q === "Sales",
      () => page.goForward(),
    );
    assert.equal(await page.locator("#people-search").inputValue(), "Sales");
  });
});
