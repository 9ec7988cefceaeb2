// Editing one field of a contact leaves its custom fields as they were: a value holding a line break
// (whose second line reads like "key: value") was cut at its first line, or its second line sent as a key.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("contact edit: custom fields", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("changing only the phone leaves a multi-line custom field byte-identical", async () => {
    const api = pageApi(page);
    const custom = { notes: "Met at the fair\nNext step: demo\n  indented: yes ", plan: "enterprise" };
    const made = await api("POST", "/contacts", { first_name: "Multi", last_name: `Line ${Date.now()}`, custom_fields: custom });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = made.body.contact.id;
    const before = made.body.contact.custom_fields;
    assert.match(before.notes, /\nNext step: demo/);

    await page.goto(`${baseUrl}/contacts/${id}`);
    await page.getByTestId("contact-edit").click();
    const dialog = page.getByTestId("edit-contact-dialog");
    await dialog.getByLabel("Phone").fill("+49 30 1234567");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "hidden" });

    const after = await api("GET", `/contacts/${id}`);
    assert.equal(after.body.contact.phone, "+49 30 1234567");
    assert.deepEqual(after.body.contact.custom_fields, before);
  });

  it("edits, adds and removes custom fields row by row, sending only those", async () => {
    const api = pageApi(page);
    const made = await api("POST", "/contacts", {
      first_name: "Rows",
      last_name: `Edit ${Date.now()}`,
      custom_fields: { keep: "a\nb", change: "old", drop: "gone" },
    });
    const id = made.body.contact.id;
    await page.goto(`${baseUrl}/contacts/${id}`);
    await page.getByTestId("contact-edit").click();
    const dialog = page.getByTestId("edit-contact-dialog");
    const rows = dialog.getByTestId("edit-contact-custom-row");
    await rows
      .nth(1)
      .getByLabel(/value$/)
      .fill("new\nline two: x");
    await dialog.getByRole("button", { name: "Remove custom field drop" }).click();
    await dialog.getByTestId("edit-contact-custom-add").click();
    await rows.last().getByLabel(/key$/).fill("added");
    await rows
      .last()
      .getByLabel(/value$/)
      .fill("yes");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "hidden" });
    const after = await api("GET", `/contacts/${id}`);
    assert.deepEqual(after.body.contact.custom_fields, { keep: "a\nb", change: "new\nline two: x", added: "yes" });
  });

  // Renames are sent as a null for the old key and the value under the new one: two renames that meet
  // (a swap, or a→b with b→c) lost a value when one row's null landed on the key another row had just written.
  for (const [what, renames, expected] of [
    ["swapping two keys keeps both values", { first: "second", second: "first" }, { second: "one", first: "two" }],
    [
      "a chained rename (first→second, second→third) keeps both values",
      { first: "second", second: "third" },
      { second: "one", third: "two" },
    ],
  ])
    it(what, async () => {
      const api = pageApi(page);
      const made = await api("POST", "/contacts", {
        first_name: "Rename",
        last_name: `Keys ${Date.now()}`,
        custom_fields: { first: "one", second: "two" },
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const id = made.body.contact.id;
      await page.goto(`${baseUrl}/contacts/${id}`);
      await page.getByTestId("contact-edit").click();
      const dialog = page.getByTestId("edit-contact-dialog");
      const rows = dialog.getByTestId("edit-contact-custom-row");
      const keys = Object.keys(made.body.contact.custom_fields);
      for (let i = 0; i < keys.length; i++) await rows.nth(i).getByLabel(/key$/).fill(renames[keys[i]]);
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "hidden" });
      const after = await api("GET", `/contacts/${id}`);
      assert.deepEqual(after.body.contact.custom_fields, expected);
    });
});
