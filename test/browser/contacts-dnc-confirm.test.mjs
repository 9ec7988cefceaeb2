// The Contacts page's bulk Stage picker asks before moving contacts to Do Not Contact (it ends their open
// sequence runs), as a delete does; cancelling changes nothing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

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

  it("picking Do Not Contact for the selection asks first; Cancel leaves the stage, confirming moves it", async () => {
    const api = pageApi(page);
    const last = `Dnc${Date.now()}`;
    const made = await api("POST", "/contacts", { first_name: "Ask", last_name: last });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = made.body.contact.id;
    const stageOf = async () => (await api("GET", `/contacts/${id}`)).body.contact.stage_id;
    const was = await stageOf();
    const dnc = (await api("GET", "/contact-stages")).body.contact_stages.find((s) => s.category === "dnc");

    await page.goto(`${baseUrl}/contacts?q=${last}`);
    const rows = page.getByTestId("contacts-table").locator("tbody tr");
    await rows.first().getByRole("checkbox").check();
    const bar = page.getByTestId("contacts-bulk");
    await bar.getByTestId("bulk-stage").selectOption(dnc.id);
    const confirm = page.getByRole("dialog", { name: "Move 1 contact to Do Not Contact?" });
    await confirm.getByText(/Their open sequence runs end/).waitFor();
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "hidden" });
    assert.equal(await stageOf(), was);

    await bar.getByTestId("bulk-stage").selectOption(dnc.id);
    await confirm.getByRole("button", { name: "Move to Do Not Contact" }).click();
    await page.getByText(/1 moved\./).waitFor();
    assert.equal(await stageOf(), dnc.id);
  });
});
