// Email templates as a rep uses them: created on the Templates screen, inserted into a new step (asking before it
// replaces what was typed), and a step's email saved as a new template, each as the API then holds it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

describe("email templates", () => {
  let browser;
  let page;
  const stamp = Date.now();
  const templateName = `Webinar follow-up ${stamp}`;
  const subject = "Thanks for joining, {{first_name|there}}";
  const body = "Hi {{first_name|there}},\n\nThanks for coming to the webinar.";
  const findTemplate = async (name) =>
    (await pageApi(page)("GET", `/email-templates?per_page=100&q=${encodeURIComponent(name)}`)).body.templates.find((t) => t.name === name);

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "rep1@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("creates a shared template on the Templates screen", async () => {
    await page.goto(`${baseUrl}/sequences`);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Templates" }).click();
    await page.waitForURL(/\/templates$/);
    await page.getByTestId("new-template").click();
    const dialog = page.getByRole("dialog", { name: "New email template" });
    await dialog.getByLabel("Name").fill(templateName);
    await dialog.getByLabel("Subject", { exact: true }).fill(subject);
    await dialog.getByLabel("Body", { exact: true }).fill(body);
    // The step editor's variable picker is there too.
    await dialog.getByRole("button", { name: "Insert variable" }).waitFor();
    await dialog.getByRole("switch", { name: "Share with the team" }).click();
    await dialog.getByRole("button", { name: "Create template" }).click();
    await dialog.waitFor({ state: "hidden" });
    const row = page.getByTestId("templates-table").getByRole("row", { name: new RegExp(templateName) });
    await row.getByText("Shared").waitFor();
    const saved = await findTemplate(templateName);
    assert.ok(saved, "the template is stored");
    assert.deepEqual([saved.subject, saved.body, saved.shared], [subject, body, true]);
  });

  it("inserts it into a new step, asking before it replaces the text typed", async () => {
    await page.goto(`${baseUrl}/sequences`);
    await page.getByRole("button", { name: "New sequence" }).click();
    const create = page.getByRole("dialog", { name: "New sequence" });
    await create.getByLabel("Name").fill(`Templates ${stamp}`);
    await create.getByRole("button", { name: "Create and add steps" }).click();
    await page.waitForURL(/\/sequences\/[^/?]+$/);
    const sequenceId = new URL(page.url()).pathname.split("/").pop();
    await page.getByRole("button", { name: "Add the first step" }).click();
    const dialog = page.getByRole("dialog", { name: "Add step 1" });
    await dialog.getByRole("radio", { name: /Automatic email/ }).check();
    await dialog.getByLabel("Body", { exact: true }).fill("A draft I started");

    await dialog.getByTestId("add-step-insert-template").click();
    const picker = page.getByRole("dialog", { name: "Insert a template" });
    await picker.getByLabel("Search templates").fill(templateName);
    await picker.getByRole("button", { name: new RegExp(templateName) }).click();
    const confirm = page.getByRole("dialog", { name: `Replace this email with “${templateName}”?` });
    // Cancel keeps what was typed.
    await confirm.getByRole("button", { name: "Cancel" }).click();
    assert.equal(await dialog.getByLabel("Body", { exact: true }).inputValue(), "A draft I started");

    // Typing on while a search loads (slowed here) keeps the box and what is typed: the dialog's loading state
    // replaced the box, dropping the rest of the name.
    let slow = true;
    await page.route("**/api/email-templates?*", async (route) => {
      if (slow) await new Promise((r) => setTimeout(r, 1200));
      await route.continue().catch(() => {});
    });
    await dialog.getByTestId("add-step-insert-template").click();
    const search = picker.getByLabel("Search templates");
    await search.pressSequentially(templateName.slice(0, 4));
    await page.waitForTimeout(700);
    await search.pressSequentially(templateName.slice(4));
    assert.equal(await search.inputValue(), templateName);
    slow = false;
    await picker.getByRole("button", { name: new RegExp(templateName) }).click();
    await confirm.getByRole("button", { name: "Replace" }).click();
    assert.equal(await dialog.getByLabel("Subject", { exact: true }).inputValue(), subject);
    assert.equal(await dialog.getByLabel("Body", { exact: true }).inputValue(), body);
    await dialog.getByRole("button", { name: "Add step" }).click();
    await dialog.waitFor({ state: "hidden" });

    const seq = (await pageApi(page)("GET", `/sequences/${sequenceId}`)).body.sequence;
    assert.deepEqual(
      seq.steps.map((s) => s.variants.map((v) => [v.subject, v.body])),
      [[[subject, body]]],
    );
  });

  it("saves a step's email as a new template", async () => {
    const card = page.getByTestId("step-card").first();
    await card.getByRole("button", { name: /Edit step 1/ }).click();
    const edited = "Hi {{first_name|there}},\n\nA shorter note for the second wave.";
    await card.getByLabel("Body", { exact: true }).fill(edited);
    await card.getByTestId("step-1-save-template").click();
    const dialog = page.getByRole("dialog", { name: "New email template" });
    // It starts from the step's text as it is on screen.
    assert.equal(await dialog.getByLabel("Body", { exact: true }).inputValue(), edited);
    assert.equal(await dialog.getByLabel("Subject", { exact: true }).inputValue(), subject);
    const name = `From a step ${stamp}`;
    await dialog.getByLabel("Name").fill(name);
    await dialog.getByRole("button", { name: "Create template" }).click();
    await dialog.waitFor({ state: "hidden" });
    const saved = await findTemplate(name);
    assert.ok(saved, "the template is stored");
    assert.deepEqual([saved.subject, saved.body, saved.shared], [subject, edited, false]);
    // The step's own edit is still there, unsaved: saving a template changes no step.
    assert.equal(await card.getByLabel("Body", { exact: true }).inputValue(), edited);
  });

  it("keeps a long name, or one with a right-to-left mark, inside its row with its badge after it", async () => {
    const long = `Q${stamp}` + "x".repeat(186);
    const rtl = `Promo ${stamp} \u202Eevil`;
    for (const name of [long, rtl]) {
      const made = await pageApi(page)("POST", "/email-templates", { name, subject: "Hi", body: "Hello", shared: true });
      assert.equal(made.status, 201, JSON.stringify(made.body));
    }
    await page.goto(`${baseUrl}/templates`);
    const table = page.getByTestId("templates-table");
    for (const name of [long, rtl]) {
      const row = table.getByRole("row").filter({ has: page.getByTitle(name, { exact: true }) });
      const badge = row.getByText("Shared", { exact: true });
      await badge.waitFor();
      const [nameBox, badgeBox, cellBox] = await Promise.all([
        row.getByTitle(name, { exact: true }).boundingBox(),
        badge.boundingBox(),
        row.getByRole("cell").first().boundingBox(),
      ]);
      // The badge follows the name, inside the name's cell (a long name once ran past the card and hid it; a U+202E in the
      // name drew its tail after the badge).
      assert.ok(badgeBox.x >= nameBox.x + nameBox.width - 1, `badge at ${badgeBox.x}, name ends at ${nameBox.x + nameBox.width}`);
      assert.ok(badgeBox.x + badgeBox.width <= cellBox.x + cellBox.width + 1, "badge inside its cell");
    }
    const overflow = await table.evaluate((el) => el.parentElement.scrollWidth - el.parentElement.clientWidth);
    assert.ok(overflow <= 0, `table wider than its box by ${overflow}px`);
  });
});
