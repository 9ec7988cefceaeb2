// A contact's page shows the lists the contact is on; "Add to list" puts it on another of the team's
// lists and each list's remove button takes it off (the contact stays), as the API then says.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("Lists on the contact page", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("adds the contact to a list and takes it off again, and a reload shows the same", async () => {
    const api = pageApi(page);
    const name = `Profile list ${Date.now()}`;
    const { body: created } = await api("POST", "/lists", { name });
    const listId = created.list.id;
    const { body: page1 } = await api("GET", "/contacts?per_page=1");
    const contact = page1.contacts[0];
    const onLists = async () => (await api("GET", `/contacts/${contact.id}/lists`)).body.lists.map((l) => l.id);
    const before = await onLists();
    assert.ok(!before.includes(listId));

    await page.goto(`${baseUrl}/contacts/${contact.id}`);
    const card = page.locator("section", { has: page.getByRole("heading", { name: "Lists", level: 2 }) });
    await card.getByTestId("contact-add-to-list").waitFor();
    // Every list it is on already is shown, by name.
    assert.equal(await card.locator("li.chip").count(), before.length);

    await card.getByTestId("contact-add-to-list").selectOption(listId);
    const chip = card.locator(`li.chip[data-list-id="${listId}"]`);
    await chip.waitFor();
    assert.equal((await chip.textContent())?.trim(), name);
    assert.deepEqual((await onLists()).sort(), [...before, listId].sort());
    // It is on it now, so the picker no longer offers it.
    assert.equal(await card.getByTestId("contact-add-to-list").locator(`option[value="${listId}"]`).count(), 0);
    await page.reload();
    await chip.waitFor();

    await chip.getByRole("button", { name: new RegExp(`off “${name}”`) }).click();
    await chip.waitFor({ state: "detached" });
    assert.deepEqual((await onLists()).sort(), [...before].sort());
    assert.equal(await card.getByTestId("contact-add-to-list").locator(`option[value="${listId}"]`).count(), 1);
    await page.reload();
    await card.getByTestId("contact-add-to-list").waitFor();
    assert.equal(await chip.count(), 0);
    // The contact itself stays.
    assert.equal((await api("GET", `/contacts/${contact.id}`)).status, 200);
  });
});
