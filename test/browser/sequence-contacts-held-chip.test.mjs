// The sequence's Contacts tab lists held runs under a Held chip of their own: runs the engine holds (here, their
// sequence was turned off when their next step fell due) were counted and filterable by the API, but no chip
// offered them, so a user could not list them apart from "Not sent" (which mixes in failed and finished runs).
// The chip's count is the rows it lists, and the run still waiting (not held) is not among them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";
import { taskFor } from "./task-fixture.mjs";

describe("sequence contacts: the Held chip", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("counts the held runs and lists exactly them", async () => {
    const api = pageApi(page);
    const stamp = Date.now();
    const person = (last) => ({
      first_name: "Held",
      last_name: `${last}${stamp}`,
      email: `${last.toLowerCase()}.${stamp}@held.test`,
      phone: "+1 555 0170",
    });
    // Two call steps: completing the first while the sequence is off holds the run on the second.
    const steps = [1, 2].map(() => ({ type: "call", wait_amount: 0, wait_unit: "minutes" }));
    const first = await taskFor(api, steps, person("One"));
    const seq = first.sequence;
    const mb = (await api("GET", "/mailboxes")).body.mailboxes.find((m) => m.status === "connected");
    const others = [];
    for (const last of ["Two", "Waits"]) {
      const c = (await api("POST", "/contacts", person(last))).body.contact;
      const job = await api("POST", `/sequences/${seq.id}/add-contacts`, {
        source: { contact_ids: [c.id] },
        mailbox_ids: [mb.id],
        skip_validation: true,
      });
      assert.equal(job.status, 202, JSON.stringify(job.body));
      others.push(c);
    }
    const taskOf = async (contactId) => {
      for (let i = 0; i < 120; i++) {
        const t = (await api("GET", "/tasks?view=open&assignee=all&per_page=100")).body.tasks.find((x) => x.contact?.id === contactId);
        if (t) return t;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`no task for ${contactId}`);
    };
    const secondTask = await taskOf(others[0].id);
    await taskOf(others[1].id);
    assert.equal((await api("PATCH", `/sequences/${seq.id}`, { active: false })).status, 200);
    for (const t of [first.task, secondTask]) assert.equal((await api("POST", `/tasks/${t.id}/complete`)).status, 200);
    let counts;
    for (let i = 0; i < 60; i++) {
      counts = (await api("GET", `/sequences/${seq.id}/enrollments?status=all`)).body.counts;
      if (counts.held === 2) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(counts.held, 2, JSON.stringify(counts));
    assert.equal(counts.waiting_sequence_off, 1, JSON.stringify(counts));

    await page.goto(`${baseUrl}/sequences/${seq.id}?tab=contacts`);
    const chip = page.getByRole("tab", { name: "Held 2", exact: true });
    await chip.click();
    await page.waitForURL(/status=held/);
    const table = page.getByTestId("enrollments-table");
    await table.getByText(`One${stamp}`).waitFor();
    const rows = table.locator("tbody tr");
    // The chip's count is the rows listed: the two held, each badged Held; the one still waiting is not listed.
    assert.equal(await rows.count(), 2);
    const text = await rows.allTextContents();
    assert.ok(
      text.some((t) => t.includes(`One${stamp}`)),
      JSON.stringify(text),
    );
    assert.ok(
      text.some((t) => t.includes(`Two${stamp}`)),
      JSON.stringify(text),
    );
    assert.ok(
      text.every((t) => !t.includes(`Waits${stamp}`)),
      JSON.stringify(text),
    );
    assert.equal(await rows.getByText("Held", { exact: true }).count(), 2);
    assert.equal(await chip.getAttribute("aria-selected"), "true");
  });
});
