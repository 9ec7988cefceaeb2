// The Tasks page sends a manual email from its task: the draft opens in an editor, the rep edits it and
// clicks Send; it goes from the contact's mailbox as the step's email and the task leaves the open list.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor as makeTask } from "./task-fixture.mjs";

describe("sending a manual email from the Tasks page", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  const api = (...args) => pageApi(page)(...args);

  it("edits the draft, refuses an empty body in words, sends once, and the task leaves the open list", async () => {
    const { task, sequence, contact } = await makeTask(
      api,
      [
        {
          type: "manual_email",
          wait_amount: 0,
          wait_unit: "minutes",
          variants: [{ subject: "Pricing for {{company}}", body: "Hi {{first_name}}, a question about {{company}}" }],
        },
        { type: "call", wait_amount: 1, wait_unit: "days" },
      ],
      { first_name: "Sena", last_name: "Sendwell", company: "Postline", email: `sena.${Date.now()}@postline.test` },
    );
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = page.getByTestId("task-list").locator("li.task-row", { hasText: "Sena Sendwell" });
    await row.getByTestId("task-email-open").click();
    const form = row.getByTestId("task-email-form");
    assert.equal(await form.getByTestId("task-email-subject").inputValue(), "Pricing for Postline");
    assert.equal(await form.getByTestId("task-email-body").inputValue(), "Hi Sena, a question about Postline");

    // An empty body is refused, in words, beside the field; nothing is sent and the task stays.
    await form.getByTestId("task-email-body").fill("   ");
    await form.getByTestId("task-email-send").click();
    await form.getByText("Write the email's text: the body is empty").waitFor();
    assert.equal((await api("GET", `/messages?contact_id=${contact.id}`)).body.messages.length, 0);

    await form.getByTestId("task-email-subject").fill("A quick one, Sena");
    await form.getByTestId("task-email-body").fill("Hi Sena,\n\nwritten by hand for Postline.");
    await form.getByTestId("task-email-send").click();
    await page.getByText("Sending to Sena Sendwell now: they move on to the next step once it is sent").waitFor();
    await row.waitFor({ state: "detached" });

    const done = (await api("GET", "/tasks?view=done&assignee=all&per_page=100")).body.tasks.find((t) => t.id === task.id);
    assert.equal(done.status, "completed");
    // The mailbox sends it (the outbox transport) as the sequence's first step: wait for its row.
    let messages = [];
    for (let i = 0; i < 60 && !messages.length; i++) {
      messages = (await api("GET", `/messages?contact_id=${contact.id}`)).body.messages.filter((m) => m.status === "sent");
      if (!messages.length) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(messages.length, 1);
    assert.equal(messages[0].subject, "A quick one, Sena");
    assert.equal(messages[0].sequence?.id, sequence.id);
    // A second send of the same task is refused: it went once.
    const again = await api("POST", `/tasks/${task.id}/send`, { body: "again" });
    assert.equal(again.status, 409);
  });
  it("sends an unchanged draft as the step's own text: the request carries no subject or body", async () => {
    const { task } = await makeTask(
      api,
      [
        {
          type: "manual_email",
          wait_amount: 0,
          wait_unit: "minutes",
          variants: [{ subject: "Hello {{company}}", body: "Hi {{first_name}}" }],
        },
        { type: "call", wait_amount: 1, wait_unit: "days" },
      ],
      { first_name: "Ugo", last_name: "Unchanged", company: "Asis", email: `ugo.${Date.now()}@asis.test` },
    );
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = page.getByTestId("task-list").locator("li.task-row", { hasText: "Ugo Unchanged" });
    await row.getByTestId("task-email-open").click();
    const sent = page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith(`/api/tasks/${task.id}/send`));
    await row.getByTestId("task-email-send").click();
    // Left out, the API sends the step's variant (counted in its A/B report) and records no edit.
    assert.deepEqual(JSON.parse((await sent).postData() ?? "{}"), {});
    await row.waitFor({ state: "detached" });
  });
  it("won't send a draft with blanks unchanged: Send waits, saying which value is missing, until the rep writes it in", async () => {
    const { task } = await makeTask(
      api,
      [
        {
          type: "manual_email",
          wait_amount: 0,
          wait_unit: "minutes",
          variants: [{ subject: "For {{company}}", body: "Hi {{first_name}}, hello" }],
        },
        { type: "call", wait_amount: 1, wait_unit: "days" },
      ],
      { first_name: "", last_name: "Blankfield", company: "Gapco", email: `blank.${Date.now()}@gapco.test` },
    );
    await page.goto(`${baseUrl}/tasks?who=all`);
    const row = page.getByTestId("task-list").locator("li.task-row", { hasText: "Blankfield" });
    await row.getByTestId("task-email-open").click();
    assert.equal(await row.getByTestId("task-email-body").inputValue(), "Hi , hello");
    assert.equal(await row.getByTestId("task-email-send").isDisabled(), true);
    assert.match(await row.getByTestId("task-email-blanks").innerText(), /no value for \{\{first_name\}\}/);
    await row.getByTestId("task-email-body").fill("Hi there, hello");
    assert.equal(await row.getByTestId("task-email-send").isDisabled(), false);
    await row.getByTestId("task-email-send").click();
    await row.waitFor({ state: "detached" });
    const done = (await api("GET", "/tasks?view=done&assignee=all&per_page=100")).body.tasks.find((t) => t.id === task.id);
    assert.equal(done.status, "completed");
  });
});
