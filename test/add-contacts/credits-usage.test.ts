// The Credits page's "Used" and usage chart: what the ledger took, not what the jobs counted. A job
// whose contacts turned out dearer than its hold is charged the overspend only as far as the balance
// goes (invariant 6), so its credits_used can be more than it cost.
import { describe, expect, it } from "vitest";
import { processChunk } from "../../worker/services/add-contacts/jobs";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

async function people(status: string, n: number, offset: number) {
  const { results } = await env.DB.prepare("SELECT id FROM people WHERE email_status = ? ORDER BY id LIMIT ? OFFSET ?")
    .bind(status, n, offset)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

describe("credits used", () => {
  it("a job dearer than its hold with too small a balance counts as used what the ledger charged", async () => {
    // Balance 1: one verified person (max 1) and one unverified one added anyway (max 0).
    const x = await addContactsSetup({ credits: 1 });
    const [verified] = await people("verified", 1, 690);
    const [unverified] = await people("unverified", 1, 10);
    const { job } = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].$post({
        param: { id: x.sequenceId },
        header: {},
        json: { source: { people_ids: [verified!, unverified!] }, overrides: { unverified_email: true }, add_at: Date.now() + 86_400_000 },
      }),
      202,
    );
    // Before the chunk runs, the second address is verified: it now costs 1 too, which the balance (0) can't pay.
    await env.DB.prepare("UPDATE people SET email_status = 'verified' WHERE id = ?").bind(unverified).run();
    try {
      await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job.id).run();
      await processChunk(env, job.id, 0, 2);
      expect((await waitForJob(job.id)).status).toBe("completed");
    } finally {
      await env.DB.prepare("UPDATE people SET email_status = 'unverified' WHERE id = ?").bind(unverified).run();
    }
    const charged = (await env.DB.prepare("SELECT -sum(amount) n FROM credit_ledger WHERE job_id = ?").bind(job.id).first<{ n: number }>())!
      .n;
    const counted = (await env.DB.prepare("SELECT credits_used n FROM jobs WHERE id = ?").bind(job.id).first<{ n: number }>())!.n;
    expect([charged, counted]).toEqual([1, 2]);
    const report = await ok(client(x.s).api.credits.$get({ query: {} }));
    expect(report.usage.reduce((a, u) => a + u.credits, 0)).toBe(charged);
    expect(report.usage).toHaveLength(1);
    expect(report.usage[0]!.contacts).toBe(2);
  });
});
