// What the editor says after adding: a step whose email names a custom field no contact has shows the warning on its
// card (not a passing toast), and a variant added under a re-used letter is the one the card names afterwards.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("the step card after adding", () => {
  let browser;
  let page;
  const name = `Step card added ${Date.now()}`;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("shows an added step's unknown custom field warning on its card, saying contacts without it pause", async () => {
    await page.goto(`${baseUrl}/sequences`);
    await page.getByRole("button", { name: "New sequence" }).click();
    const create = page.getByRole("dialog", { name: "New sequence" });
    await create.getByLabel("Name").fill(name);
    await create.getByRole("button", { name: "Create and add steps" }).click();
    await page.waitForURL(/\/sequences\/[^/?]+$/);
    await page.getByRole("button", { name: "Add the first step" }).click();
    const dialog = page.getByRole("dialog", { name: "Add step 1" });
    await dialog.getByRole("radio", { name: /Automatic email/ }).check();
    await dialog.getByLabel("Subject", { exact: true }).fill("Hello");
    await dialog.getByLabel("Body", { exact: true }).fill("Hi, about {{custom.zzqq_nofield}}");
    await dialog.getByRole("button", { name: "Add step" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page
      .getByTestId("step-card")
      .first()
      .getByTestId("step-warnings")
      .getByText(/contacts without custom\.zzqq_nofield are paused on this step unless you add a fallback/)
      .waitFor({ timeout: 5000 });
  });

  it("names the variant just added, also when its letter was used before (B after B was deleted)", async () => {
    const card = page.getByTestId("step-card").first();
    const addVariant = async (body) => {
      // Deleting a variant leaves the card open: "Edit step 1" is there only when it is closed.
      const edit = card.getByRole("button", { name: /Edit step 1/ });
      if (await edit.isVisible()) await edit.click();
      await card.getByRole("button", { name: "Add variant" }).click();
      await card.getByLabel("Body", { exact: true }).fill(body);
      await card.getByRole("button", { name: "Save step" }).click();
      await card.getByRole("button", { name: /Edit step 1/ }).waitFor();
    };
    await addVariant("Variant two {{first_name|there}}");
    await addVariant("Variant three {{first_name|there}}");
    await card.getByRole("button", { name: /Edit step 1/ }).click();
    await card.getByRole("tab", { name: /Variant B/ }).click();
    await card.getByRole("button", { name: "Delete variant B" }).click();
    await page
      .getByRole("dialog", { name: /Delete variant B/ })
      .getByRole("button", { name: "Delete variant" })
      .click();
    await card.getByRole("tab", { name: /Variant B/ }).waitFor({ state: "detached" });
    // The new one takes the free letter B and sorts before C: its warning is said about B.
    await addVariant("Again {{custom.zzqq_other}}");
    await card
      .getByTestId("step-warnings")
      .getByText(/^\s*Variant B: No contact has the custom field “zzqq_other”/)
      .waitFor({ timeout: 5000 });
    assert.doesNotMatch((await card.getByTestId("step-warnings").textContent()) ?? "", /Variant C/);
  });
});
