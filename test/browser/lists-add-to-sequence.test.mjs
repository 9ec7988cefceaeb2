// The Lists page says a whole list goes into a sequence in one step: each row has "Add to sequence", which
// asks for the sequence and opens its add-contacts flow with that list picked (its size in the summary).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, pathOf, signIn } from "./helpers.mjs";

describe("a list added to a sequence from the Lists page", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("opens the sequence's add flow with the list picked", async () => {
    const { body } = await pageApi(page)("GET", "/lists?per_page=25");
    const list = body.lists.find((l) => l.contact_count > 0);
    assert.ok(list, "the demo data has a list with contacts");

    await page.goto(`${baseUrl}/lists`);
    await page
      .getByTestId("lists-table")
      .getByRole("button", { name: `Add ${list.name} to a sequence` })
      .click();
    const picker = page.getByTestId("sequence-picker");
    await picker.waitFor();
    const option = picker.locator('[data-testid^="pick-sequence-"]').first();
    const sequenceId = ((await option.getAttribute("data-testid")) ?? "").replace("pick-sequence-", "");
    await option.click();

    await page.waitForURL((u) => u.pathname === `/sequences/${sequenceId}/add`);
    assert.equal(pathOf(page), `/sequences/${sequenceId}/add`);
    const summary = page.getByTestId("selection-summary");
    await summary.waitFor();
    const n = list.contact_count;
    assert.equal((await summary.textContent())?.trim(), `1 list (${n.toLocaleString("en-US")} ${n === 1 ? "contact" : "contacts"})`);
    // The list is taken once: a reload of the flow's URL does not pick it again behind the user's back.
    await page.waitForFunction(() => !new URL(location.href).searchParams.has("list_id"));
    // And it is the list the wizard holds: back on the source step, the Saved lists tab has it ticked.
    await page.getByRole("button", { name: "Back", exact: true }).click();
    await page.getByRole("tab", { name: "Saved lists · 1" }).waitFor();
    assert.equal(
      await page.getByRole("checkbox", { name: new RegExp(list.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) }).isChecked(),
      true,
    );
  });
});
