// Workflows end to end: create one for "Enterprise outbound — Q4" with Prospect Searcher filters, run it
// now, find the run (with people found and a link to its job) in the run log, then turn it off.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pathOf, signIn } from "./helpers.mjs";

describe("workflows", () => {
  let browser;
  let page;
  const name = `US VPs ${Date.now()}`;
  const card = () => page.locator(`[data-testid="workflow-card"][data-name="${name}"]`);

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("explains what a workflow does", async () => {
    await page.goto(`${baseUrl}/workflows`);
    await page.getByRole("heading", { name: "Workflows", level: 1 }).waitFor();
    assert.match(
      (await page.locator(".page-description").textContent()) ?? "",
      // Both kinds: a schedule's net-new people, and a change's contact.
      /on a schedule, the net-new people matching its filters; or, when a contact is created, moves stage or has a field changed, that contact/,
    );
  });

  it("creates a workflow with filters and a live count of net-new matches", async () => {
    await page.getByRole("link", { name: "New workflow" }).click();
    await page.waitForURL(`${baseUrl}/workflows/new`);
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Add to sequence").selectOption({ label: "Enterprise outbound — Q4" });

    const filters = page.getByRole("complementary", { name: "Search filters" });
    await filters.locator("summary", { hasText: "Seniority" }).click();
    await filters.getByRole("checkbox", { name: /^VP\b/ }).check();
    await filters.locator("summary", { hasText: "Location" }).click();
    const country = filters.getByRole("combobox", { name: "Country" });
    // Strict: only a known country is taken, so wait for the facets to load its suggestions.
    await page.waitForFunction(() => [...document.querySelectorAll("datalist option")].some((o) => o.value === "United States"));
    await country.fill("United States");
    await country.press("Enter");
    await filters.getByRole("button", { name: /Remove United States/ }).waitFor();

    const count = page.getByTestId("wf-match-count");
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="wf-match-count"]');
      return el && Number(el.textContent.replace(/\D/g, "")) > 0 && !document.querySelector(".wf-match .spinner");
    });
    assert.ok(Number(((await count.textContent()) ?? "").replace(/\D/g, "")) > 0);

    await page.getByLabel("Runs", { exact: true }).selectOption({ label: "Every day" });
    await page.getByLabel("Max people per run").fill("5");
    await page.getByRole("button", { name: "Create workflow" }).click();
    await page.waitForURL(`${baseUrl}/workflows`);

    await card().waitFor();
    const text = (await card().textContent()) ?? "";
    assert.match(text, /Enterprise outbound — Q4/);
    assert.match(text, /Every day · up to 5 per run/);
    assert.match(text, /VP/);
    assert.match(text, /United States/);
    assert.match(text, /Hasn't run yet/);
    // New workflows start off until the user turns them on.
    const toggle = card().getByRole("switch", { name: `${name} on` });
    const created = await page.evaluate(
      async (n) => (await (await fetch("/api/workflows")).json()).workflows.find((w) => w.name === n),
      name,
    );
    assert.equal(created.active, false, JSON.stringify(created));
    assert.equal(await toggle.getAttribute("aria-checked"), "false");
    await toggle.click();
    await page.waitForFunction((n) => {
      const el = document.querySelector(`[data-testid="workflow-card"][data-name="${n}"] [role="switch"]`);
      return el?.getAttribute("aria-checked") === "true" && el.getAttribute("aria-busy") !== "true";
    }, name);
  });

  it("runs it now and shows the run with people found and its job", async () => {
    await card().getByRole("button", { name: "Run now" }).click();
    const lastRun = card().getByTestId("last-run");
    await lastRun.getByRole("link", { name: "View job" }).waitFor();
    const found = Number(/Found\s*(\d+)/.exec((await lastRun.textContent()) ?? "")?.[1]);
    assert.ok(found > 0 && found <= 5, `found ${found}`);

    await card().getByRole("link", { name: "Run log" }).click();
    await page.getByRole("heading", { name, level: 1 }).waitFor();
    const row = page.getByTestId("run-row").first();
    await row.waitFor();
    assert.match((await row.textContent()) ?? "", new RegExp(`Found\\s*${found}`));
    const job = row.getByRole("link", { name: "View job" });
    assert.match((await job.getAttribute("href")) ?? "", /^\/jobs\/[\w-]+$/);
    await job.click();
    await page.getByRole("heading", { name: "Add contacts job" }).waitFor();
    assert.match(pathOf(page), /^\/jobs\//);
    // Labelled as the workflow's run, not as people picked by hand.
    await page
      .getByText(/Workflow run/)
      .first()
      .waitFor();
  });

  it("turns it off, and it stays off", async () => {
    await page.goto(`${baseUrl}/workflows`);
    const toggle = card().getByRole("switch", { name: `${name} on` });
    await toggle.click();
    await page.waitForFunction((n) => {
      const el = document.querySelector(`[data-testid="workflow-card"][data-name="${n}"] [role="switch"]`);
      return el?.getAttribute("aria-checked") === "false" && el.getAttribute("aria-busy") !== "true";
    }, name);
    await page.reload();
    await card().waitFor();
    assert.equal(
      await card()
        .getByRole("switch", { name: `${name} on` })
        .getAttribute("aria-checked"),
      "false",
    );
    assert.match((await card().textContent()) ?? "", /Off: not scheduled/);
  });

  it("'Automate adding contacts' in a sequence's add-contacts menu opens a workflow for that sequence; one that runs when a contact moves stage is saved off", async () => {
    await page.goto(`${baseUrl}/sequences?q=${encodeURIComponent("Enterprise outbound — Q4")}`);
    await page.getByRole("link", { name: "Enterprise outbound — Q4", exact: true }).click();
    await page.getByTestId("sequence-name").waitFor();
    await page.getByRole("button", { name: "More ways to add contacts" }).click();
    await page.getByRole("menuitem", { name: /Automate adding contacts/ }).click();
    await page.waitForURL(/\/workflows\/new\?sequence_id=/);
    const seq = page.getByLabel("Add to sequence");
    await page.waitForFunction(() =>
      (document.querySelector("#wf-sequence-id")?.selectedOptions?.[0]?.textContent ?? "").includes("Enterprise outbound"),
    );
    assert.match((await seq.locator("option:checked").textContent()) ?? "", /Enterprise outbound — Q4/);
    const changeName = `Moved stage ${Date.now()}`;
    await page.getByLabel("Name").fill(changeName);
    await page.getByTestId("wf-trigger-change").check();
    await page.getByTestId("wf-on-stage").waitFor();
    await page.getByTestId("wf-stages").selectOption({ index: 0 });
    await page.getByRole("button", { name: "Create workflow" }).click();
    await page.waitForURL(`${baseUrl}/workflows`);
    const c = page.locator(`[data-testid="workflow-card"][data-name="${changeName}"]`);
    await c.waitFor();
    assert.match((await c.textContent()) ?? "", /When a contact moves stage/);
    assert.equal(await c.getByRole("switch", { name: `${changeName} on` }).getAttribute("aria-checked"), "false");
    assert.equal(await c.getByRole("button", { name: "Run now" }).count(), 0);
  });

  it("a score range whose Min is above its Max is said at the fields and not saved; a contact-change workflow isn't held by it", async () => {
    const rangeName = `Empty range ${Date.now()}`;
    await page.goto(`${baseUrl}/workflows/new`);
    await page.getByLabel("Name").fill(rangeName);
    await page.getByLabel("Add to sequence").selectOption({ label: "Enterprise outbound — Q4" });
    const filters = page.getByRole("complementary", { name: "Search filters" });
    await filters.locator("summary", { hasText: "Prospect score" }).click();
    await filters.getByLabel("Min", { exact: true }).fill("80");
    await filters.getByLabel("Max", { exact: true }).fill("20");
    await filters.getByLabel("Max", { exact: true }).press("Tab");
    await page.getByText("Runs would add nobody: the score's Min is above its Max.").waitFor();
    await page.getByRole("button", { name: "Create workflow" }).click();
    const refused = page.locator("#wf-filters-error");
    await refused.waitFor();
    assert.equal((await refused.textContent())?.trim(), "Prospect score: Min can't be above Max: no score is in this range.");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "filter-score-min");
    assert.equal(pathOf(page), "/workflows/new");
    // On a contact change the search filters are neither shown nor checked, and the empty range isn't sent.
    await page.getByTestId("wf-trigger-change").check();
    await page.getByRole("button", { name: "Create workflow" }).click();
    await page.waitForURL(`${baseUrl}/workflows`);
    const saved = await page.evaluate(
      async (n) => (await (await fetch("/api/workflows")).json()).workflows.find((w) => w.name === n),
      rangeName,
    );
    assert.equal(saved.trigger.kind, "change", JSON.stringify(saved));
    assert.equal(saved.filters.score_min, undefined, JSON.stringify(saved.filters));
    assert.equal(saved.filters.score_max, undefined, JSON.stringify(saved.filters));
  });
});
