// The replies inbox (issue 12): an inbound reply arrives through the email() handler, shows in the
// inbox with its evidence, and "Correct it" turns it into an auto-reply, which puts the contact back
// to active in its sequence.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

/** A session of the API (cookie + CSRF token), as the admin. */
async function apiSession() {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "admin@demo.test", password: "demo1234" }),
  });
  assert.equal(res.status, 200);
  return { cookie: res.headers.get("set-cookie").split(";")[0] };
}

/** The newest email sent to an active enrollment of a Demo sequence. */
async function sentToActive(session) {
  const res = await fetch(`${baseUrl}/api/messages?status=sent&per_page=100`, { headers: { cookie: session.cookie } });
  const { messages } = await res.json();
  for (const m of messages) {
    if (!m.sequence || !m.contact) continue;
    const e = await fetch(`${baseUrl}/api/sequences/${m.sequence.id}/enrollments?status=active&per_page=100`, {
      headers: { cookie: session.cookie },
    });
    const { enrollments } = await e.json();
    if (enrollments.some((x) => x.id === m.enrollment_id)) return m;
  }
  throw new Error("no email to an active enrollment in the demo data");
}

describe("replies inbox", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("shows an inbound reply with its evidence, and 'Correct it' makes it an auto-reply that puts the contact back", async () => {
    const session = await apiSession();
    const m = await sentToActive(session);
    const raw = [
      `From: ${m.contact.name} <${m.to_email}>`,
      `To: ${m.mailbox.email}`,
      `Subject: Re: ${m.subject}`,
      `Message-ID: <browser-${Date.now()}@prospect.test>`,
      `In-Reply-To: ${m.message_id}`,
      `References: ${m.message_id}`,
      "Content-Type: text/plain",
      "",
      "Thanks for your note, we received it.",
      "",
    ].join("\r\n");
    const delivered = await fetch(
      `${baseUrl}/cdn-cgi/handler/email?from=${encodeURIComponent(m.to_email)}&to=${encodeURIComponent(m.mailbox.email)}`,
      { method: "POST", body: raw },
    );
    assert.ok(delivered.ok, `email handler answered ${delivered.status}`);

    await page.goto(`${baseUrl}/replies?unhandled=true`);
    const row = page.getByTestId("replies-table").locator("tbody tr", { hasText: m.to_email });
    await row.waitFor();
    assert.match(await row.textContent(), /Reply/);
    assert.match(await row.getByTestId("reply-evidence").textContent(), /Answers one of our emails/);
    assert.match(await row.textContent(), /finished/);

    await row.getByTestId("reclassify").selectOption("auto_reply");
    await row.getByRole("button", { name: "Correct it" }).click();
    await page.getByText(/Now auto-reply/).waitFor();
    const fixed = page.getByTestId("replies-table").locator("tbody tr", { hasText: m.to_email });
    await fixed.getByText("corrected").waitFor();
    assert.match(await fixed.textContent(), /Auto-reply/);
    assert.match(await fixed.textContent(), /active/);

    // Reviewed now: the "Not reviewed yet" view no longer lists it.
    await page.goto(`${baseUrl}/replies?unhandled=true`);
    await page.getByRole("heading", { name: "Replies" }).waitFor();
    await page.waitForLoadState("networkidle");
    assert.equal(await page.getByTestId("replies-table").locator("tbody tr", { hasText: m.to_email }).count(), 0);
  });
});
