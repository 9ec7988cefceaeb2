// The Contacts page's bulk Stage picker asks before moving contacts to Do Not Contact (it ends their open
// sequence runs), as a delete does, saying how many contacts move and how many runs end; cancelling changes nothing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor } from "./task-fixture.mjs";

describe("contacts screen: Do Not Contact is confirmed", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("picking Do Not Contact for the selection asks first with the counts; Cancel leaves the stage, confirming moves it and ends the run", async () => {
    const api = pageApi(page);
    const last = `Dnc${Date.now()}`;
    // Two contacts: one in a sequence (a call step: its run stays open), one in none.
    const { contact } = await taskFor(api, [{ type: "call", wait_amount: 0, wait_unit: "minutes" }], {
      first_name: "Ask",
      last_name: last,
      email: `ask.${Date.now()}@dnc.test`,
    });
    const id = contact.id;
    const made = await api("POST", "/contacts", { first_name: "Also", last_name: last });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const runOf = async () => (await api("GET", `/contacts/${id}/sequences`)).body.sequences[0]?.status;
    const stageOf = async () => (await api("GET", `/contacts/${id}`)).body.contact.stage_id;
    const was = await stageOf();
    const dnc = (await api("GET", "/contact-stages")).body.contact_stages.find((s) => s.category === "dnc");

    await page.goto(`${baseUrl}/contacts?q=${last}`);
    const rows = page.getByTestId("contacts-table").locator("tbody tr");
    await page.getByRole("checkbox", { name: "Select every contact on this page" }).check();
    const bar = page.getByTestId("contacts-bulk");
    await bar.getByTestId("bulk-stage").selectOption(dnc.id);
    const confirm = page.getByRole("dialog", { name: "Move 2 contacts to Do Not Contact?" });
    // Said before the click: how many move, and the one run that ends.
    await confirm
      .getByText(/^2 contacts move to Do Not Contact\. 1 open sequence run ends, for one of them\. No sequence emails them/)
      .waitFor();
    assert.equal(await confirm.getByRole("button", { name: "Move to Do Not Contact" }).isEnabled(), true);
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "hidden" });
    assert.equal(await stageOf(), was);
    assert.equal(await runOf(), "active");

    await bar.getByTestId("bulk-stage").selectOption(dnc.id);
    await confirm.getByRole("button", { name: "Move to Do Not Contact" }).click();
    await page.getByText(/2 moved\./).waitFor();
    assert.equal(await stageOf(), dnc.id);
    for (let i = 0; i < 20 && (await runOf()) !== "finished"; i++) await new Promise((r) => setTimeout(r, 250));
    assert.equal(await runOf(), "finished");
  });
});
