// The workflow editor keeps the filters it doesn't edit: a schedule's companies and a change trigger's lists,
// countries and email statuses, set through the API, survive a rename in the editor (the API replaces filters
// and trigger whole, so the editor dropped them and the workflow matched far more people). The cards show a
// change workflow's own filters, and a title holding a comma stays one title.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("workflow editor keeps filters it doesn't show", () => {
  let browser;
  let page;
  const stamp = Date.now();
  const api = (path, init) =>
    page.evaluate(
      async ([path, init]) => {
        const me = await (await fetch("/api/me")).json();
        const r = await fetch(path, { ...init, headers: { "content-type": "application/json", "x-csrf-token": me.csrf_token } });
        return { status: r.status, body: await r.json() };
      },
      [path, init ?? {}],
    );
  const read = async (id) => (await api("/api/workflows")).body.workflows.find((w) => w.id === id);
  const renameInEditor = async (id, name) => {
    await page.goto(`${baseUrl}/workflows/${id}/edit`);
    const field = page.getByLabel("Name");
    await field.waitFor();
    // The sequence list arrives after the form: saving before it would be refused for no sequence.
    await page.waitForFunction(() => document.querySelectorAll("#wf-sequence-id option").length > 1);
    await field.fill(name);
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.waitForURL(`${baseUrl}/workflows/${id}`);
    await page.waitForFunction(
      async ([id, name]) => {
        const w = (await (await fetch("/api/workflows")).json()).workflows.find((x) => x.id === id);
        return w?.name === name;
      },
      [id, name],
    );
  };
  let sequenceId;
  let list;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
    const seqs = (await api("/api/sequences?per_page=100&status=all")).body.sequences;
    sequenceId = seqs.find((s) => s.name === "Enterprise outbound — Q4").id;
    list = (await api("/api/lists", { method: "POST", body: JSON.stringify({ name: `Kept ${stamp}` }) })).body.list;
  });
  after(async () => {
    await browser?.close();
  });

  it("a schedule workflow's companies survive a rename, and its card and editor name them", async () => {
    const made = await api("/api/workflows", {
      method: "POST",
      body: JSON.stringify({
        name: `Companies ${stamp}`,
        sequence_id: sequenceId,
        filters: { companies: ["Acme Corp"], seniorities: ["vp"] },
      }),
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = made.body.workflow.id;
    await page.goto(`${baseUrl}/workflows`);
    const card = page.locator(`[data-testid="workflow-card"][data-name="Companies ${stamp}"]`);
    await card.waitFor();
    assert.match((await card.textContent()) ?? "", /Company: Acme Corp/);
    await page.goto(`${baseUrl}/workflows/${id}/edit`);
    assert.match((await page.getByTestId("wf-kept-filters").textContent()) ?? "", /Company: Acme Corp/);
    await renameInEditor(id, `Companies ${stamp} renamed`);
    const w = await read(id);
    assert.deepEqual(w.filters.companies, ["Acme Corp"]);
    assert.deepEqual(w.filters.seniorities, ["vp"]);
  });

  it("a change workflow's lists, countries and email statuses survive a rename; its card shows them, not people filters", async () => {
    const trigger = {
      kind: "change",
      on: ["stage"],
      filters: { list_ids: [list.id], countries: ["United States"], email_statuses: ["verified"], titles: ["VP, Sales"] },
    };
    const made = await api("/api/workflows", {
      method: "POST",
      body: JSON.stringify({ name: `Lists ${stamp}`, sequence_id: sequenceId, trigger }),
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = made.body.workflow.id;
    await page.goto(`${baseUrl}/workflows`);
    const card = page.locator(`[data-testid="workflow-card"][data-name="Lists ${stamp}"]`);
    await card.waitFor();
    await page.waitForFunction(
      (n) => document.querySelector(`[data-testid="workflow-card"][data-name="${n}"]`)?.textContent.includes("List: Kept"),
      `Lists ${stamp}`,
    );
    const text = (await card.textContent()) ?? "";
    assert.match(text, new RegExp(`List: Kept ${stamp}`));
    assert.match(text, /Title: “VP, Sales”/);
    assert.match(text, /Country: United States/);
    assert.doesNotMatch(text, /Everyone net new/);
    // It runs on changes, not on a schedule: the card says so (it labelled the trigger "Schedule").
    assert.match(text, /Trigger ?When a contact moves stage/);
    assert.match(text, /Off: changes are not acted on/);
    assert.doesNotMatch(text, /Schedule/);
    await page.goto(`${baseUrl}/workflows/${id}/edit`);
    // The title with a comma is one title, one a line.
    assert.equal(await page.getByTestId("wf-titles").inputValue(), "VP, Sales");
    await renameInEditor(id, `Lists ${stamp} renamed`);
    const w = await read(id);
    assert.deepEqual(w.trigger.filters, trigger.filters);
    assert.deepEqual(w.trigger.on, ["stage"]);
  });
});
