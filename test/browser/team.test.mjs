// Settings → Team: an admin invites someone (the link is shown to copy; no email is sent), the person
// opens it in a browser of their own, sets a password and lands signed in; they change their password
// from Settings → Account; an admin gives them a password reset link; the admin disables them and
// their open session ends.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pathOf, signIn } from "./helpers.mjs";

describe("team user management", () => {
  const stamp = Date.now();
  const email = `invitee-${stamp}@example.test`;
  let admin;
  let invitee;
  let link;

  before(async () => {
    admin = await launch();
    await signIn(admin.page, "admin@demo.test");
  });
  after(async () => {
    await admin?.browser.close();
    await invitee?.browser.close();
  });

  it("an admin invites someone and gets a link to copy, with word that no email was sent", async () => {
    const { page } = admin;
    await page.goto(`${baseUrl}/settings?tab=team`);
    const users = page.getByTestId("team-users");
    await users.waitFor();
    // The admin's own row can't be disabled, and says why.
    const own = users.locator('tr[data-user-email="admin@demo.test"]');
    assert.match((await own.textContent()) ?? "", /You can't disable yourself/);
    assert.equal(await own.getByRole("button", { name: /Disable/ }).count(), 0);

    await page.getByRole("button", { name: "Invite someone" }).click();
    const dialog = page.getByRole("dialog", { name: "Invite someone" });
    await dialog.getByLabel("Email").fill(email);
    await dialog.getByLabel("Role").selectOption("member");
    await dialog.getByRole("button", { name: "Create invite link" }).click();
    const shown = page.getByRole("dialog", { name: "Invite created" });
    link = ((await shown.getByTestId("invite-link").textContent()) ?? "").trim();
    assert.match(link, new RegExp(`^${baseUrl}/invite/[A-Za-z0-9_-]{40,}$`));
    assert.match((await shown.textContent()) ?? "", /No email was sent/);
    await shown.getByRole("button", { name: /Copy link|Copied/ }).click();
    await shown.getByRole("button", { name: "Done" }).click();
    // Pending until accepted.
    await page.getByTestId("team-invites").locator(`tr[data-invite-email="${email}"]`).waitFor();
  });

  it("the invited person opens the link in a browser of their own, sets a password and lands signed in", async () => {
    invitee = await launch();
    const { page } = invitee;
    await page.goto(link);
    await page.getByRole("heading", { name: "Join Demo" }).waitFor();
    assert.equal(await page.getByLabel("Work email").inputValue(), email);
    await page.getByLabel("Your name").fill("Ivy Invitee");
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Join Demo" }).click();
    // The browser's own check (minlength) keeps a short password from being sent; a long one goes.
    assert.equal(await page.getByLabel("Password").evaluate((el) => el.validity.valid), false);
    await page.getByLabel("Password").fill("ivy first password");
    await page.getByRole("button", { name: "Join Demo" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    assert.equal(pathOf(page), "/");
    // The link was used: opened again, it says so.
    const again = await invitee.browser.newPage();
    await again.goto(link);
    await again.getByRole("heading", { name: "Invite not found" }).waitFor();
    // A server error is not "not found": the page says it couldn't check and offers to try again.
    await again.route(/\/api\/invites\/[^/]+$/, (route) =>
      route.fulfill({ status: 503, json: { error: { code: "internal", message: "Service unavailable" } } }),
    );
    await again.goto(link);
    await again.getByRole("heading", { name: "Couldn't check your invite" }).waitFor();
    assert.equal(await again.getByText("This invite link is not valid").count(), 0);
    await again.unroute(/\/api\/invites\/[^/]+$/);
    await again.getByRole("button", { name: "Try again" }).click();
    await again.getByRole("heading", { name: "Invite not found" }).waitFor();
    await again.close();
  });

  it("the new user changes their password in Settings → Account: a wrong current one is refused beside its field", async () => {
    const { page } = invitee;
    await page.goto(`${baseUrl}/settings`);
    // The form sits inside its card's padding, as its title does (it ran to the card's edges).
    const card = await page.locator("section.card", { has: page.locator("#password-form") }).boundingBox();
    const field = await page.getByLabel("Current password").boundingBox();
    assert.ok(field.x - card.x >= 16, `the field starts ${field.x - card.x}px inside its card`);
    await page.getByLabel("Current password").fill("not my password");
    await page.getByLabel("New password", { exact: true }).fill("ivy second password");
    await page.getByLabel("Repeat the new password").fill("ivy second password");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.locator("#current-password-error").waitFor();
    assert.match((await page.locator("#current-password-error").textContent()) ?? "", /isn't your current password/);
    await page.getByLabel("Current password").fill("ivy first password");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Password changed.").waitFor();
    // The new password signs in (in another browser).
    const other = await launch();
    try {
      await signIn(other.page, email, "ivy second password");
    } finally {
      await other.browser.close();
    }
  });

  it("an admin makes a password reset link from the user's row; the user sets a new password with it and is signed out elsewhere", async () => {
    const { page } = admin;
    await page.goto(`${baseUrl}/settings?tab=team`);
    const users = page.getByTestId("team-users");
    await users.waitFor();
    // Not for oneself (Settings → Change password is): only other users' rows offer it.
    assert.equal(
      await users
        .locator('tr[data-user-email="admin@demo.test"]')
        .getByRole("button", { name: /Reset the password/ })
        .count(),
      0,
    );
    await users.locator(`tr[data-user-email="${email}"]`).getByRole("button", { name: "Reset the password of Ivy Invitee" }).click();
    const shown = page.getByRole("dialog", { name: "Password reset link" });
    const resetLink = ((await shown.getByTestId("reset-link").textContent()) ?? "").trim();
    assert.match(resetLink, new RegExp(`^${baseUrl}/reset-password/[A-Za-z0-9_-]{40,}$`));
    assert.match((await shown.textContent()) ?? "", /No email was sent.*works once, for 24 hours/s);
    await shown.getByRole("button", { name: "Done" }).click();

    const fresh = await launch();
    // Closed with the suite (as `invitee`) once the reset worked; before that, by this test.
    let kept = false;
    try {
      await fresh.page.goto(resetLink);
      await fresh.page.getByRole("heading", { name: "Set a new password" }).waitFor();
      assert.equal(await fresh.page.getByLabel("Work email").inputValue(), email);
      await fresh.page.getByLabel("New password", { exact: true }).fill("ivy reset password");
      await fresh.page.getByRole("button", { name: "Set password and sign in" }).click();
      await fresh.page.getByRole("navigation", { name: "Main" }).waitFor();
      assert.equal(pathOf(fresh.page), "/");
      // The session the user had before ends with the reset.
      await invitee.page.goto(`${baseUrl}/contacts`);
      await invitee.page.waitForURL(/\/login/);
      await invitee.browser.close();
      invitee = fresh;
      kept = true;
      // Used: opened again, the link says so.
      const again = await fresh.browser.newPage();
      await again.goto(resetLink);
      await again.getByRole("heading", { name: "Reset link not valid" }).waitFor();
      await again.close();
    } finally {
      if (!kept) await fresh.browser.close();
    }
  });

  it("a role change asks first: cancelled, nothing changes; confirmed, the role is the new one", async () => {
    const { page } = admin;
    await page.goto(`${baseUrl}/settings?tab=team`);
    const row = page.getByTestId("team-users").locator(`tr[data-user-email="${email}"]`);
    const select = row.getByLabel("Role of Ivy Invitee");
    const patches = [];
    page.on("request", (r) => r.method() === "PATCH" && r.url().includes("/api/users/") && patches.push(r.url()));
    await select.selectOption("admin");
    const dialog = page.getByRole("dialog", { name: "Make Ivy Invitee an admin?" });
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    assert.equal(await select.inputValue(), "member");
    assert.equal(patches.length, 0);
    await select.selectOption("admin");
    await page.getByRole("dialog", { name: "Make Ivy Invitee an admin?" }).getByRole("button", { name: "Make admin" }).click();
    await page.getByText("Ivy Invitee is now admin").waitFor();
    await select.selectOption("member");
    const back = page.getByRole("dialog", { name: "Make Ivy Invitee a member?" });
    assert.match((await back.textContent()) ?? "", /master API keys they made stop working/);
    await back.getByRole("button", { name: "Make member" }).click();
    await page.getByText("Ivy Invitee is now member").waitFor();
    assert.equal(patches.length, 2);
  });

  it("the admin disables the user: confirmed, shown as disabled, and the user's open session ends", async () => {
    const { page } = admin;
    await page.goto(`${baseUrl}/settings?tab=team`);
    const row = page.getByTestId("team-users").locator(`tr[data-user-email="${email}"]`);
    await row.getByRole("button", { name: "Disable Ivy Invitee" }).click();
    const confirm = page.getByRole("dialog", { name: "Disable Ivy Invitee?" });
    await confirm.getByRole("button", { name: "Disable user" }).click();
    await row.getByText("Disabled").waitFor();
    assert.ok(await row.getByRole("button", { name: "Enable Ivy Invitee" }).isVisible());

    await invitee.page.goto(`${baseUrl}/contacts`);
    await invitee.page.waitForURL(/\/login/);
  });
});
