// A change-triggered workflow's empty run log says when its runs come (a matching contact change while it is on),
// not "once the schedule comes round, or when you press Run now": it has neither (Run now is a 409).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, pageApi, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4

describe("a change workflow's empty run log", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("names the change it runs on, and no schedule or Run now", async () => {
    const api = pageApi(page);
    const stages = (await api("GET", "/contact-stages")).body.contact_stages;
    const made = await api("POST", "/workflows", {
      name: `Stage watch ${Date.now()}`,
      sequence_id: SEQ1,
      trigger: { kind: "change", on: ["stage"], filters: { stage_ids: [stages[0].id] } },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const wf = made.body.workflow;
    assert.equal((await api("POST", `/workflows/${wf.id}/run`)).status, 409, "a change workflow has no Run now");
    try {
      await page.goto(`${baseUrl}/workflows/${wf.id}`);
      const empty = page.getByText(/^Runs show up here/);
      await empty.waitFor();
      assert.equal(
        (await empty.textContent()).trim(),
        "Runs show up here when a contact moves stage and matches its filters, once the workflow is turned on.",
      );
    } finally {
      await api("DELETE", `/workflows/${wf.id}`);
    }
  });
});
