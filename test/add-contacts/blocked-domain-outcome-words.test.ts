import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

beforeEach(() => resetClock());

/**
 * A contact skipped because its whole domain is on the Do not email list (a suppression stored as `@domain`)
 * was told "The address opted out or bounced", which that address never did: the fix now fits both.
 */
describe("the suppressed skip's words", () => {
  it("a contact skipped for a blocked domain is told the address or its whole domain is on the Do not email list", async () => {
    const x = await addContactsSetup();
    const [blocked] = await makeContacts(x.teamId, 1);
    const { email } = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(blocked).first<{ email: string }>())!;
    await env.DB.prepare("INSERT INTO suppressions (id, team_id, email, reason, created_at) VALUES ('sup-dom', ?, ?, 'manual', 1)")
      .bind(x.teamId, `@${email.split("@")[1]!.toLowerCase()}`)
      .run();
    const api = client(x.s).api;
    const { job } = await ok(
      api.sequences[":id"]["add-contacts"].$post({
        param: { id: x.sequenceId },
        header: {},
        json: { source: { contact_ids: [blocked!] } },
      }),
      202,
    );
    await waitForJob(job.id);
    const r = await ok(api.jobs[":id"].outcomes.$get({ param: { id: job.id }, query: {} }));
    expect(r.outcomes).toMatchObject([{ outcome: "skipped", reasons: ["suppressed"] }]);
    expect(r.reasons.suppressed!.fix).toBe(
      "The address, or its whole domain, is on your team's Do not email list (Settings → Do not email); it can't be emailed.",
    );
  });
});
