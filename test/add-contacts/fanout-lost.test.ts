// Found by the model checker (test/engine-model/credits.ts): a commit whose fan-out never reached the
// queue (the send failed after the job was marked queued: a crash between two awaits, the request
// answered 500) left the job queued forever, holding its credits, and a retry with the same
// Idempotency-Key only replayed it. The cron now sends a quiet queued job's chunks again.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { handle } from "../../worker/queue/consumer";
import type { QueueMessage } from "../../worker/queue/messages";
import { commitAddContacts, startDueJobs } from "../../worker/services/add-contacts/jobs";
import type { AddContactsRequest } from "../../worker/services/add-contacts/request";
import { addContactsSetup, withQueue } from "../fixtures";
import { env } from "../helpers";

const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

beforeEach(() => resetClock());

describe("add contacts: a job whose chunks never reached the queue", () => {
  it("is sent again by the cron after 10 quiet minutes, once, then completes and settles its hold", async () => {
    const x = await addContactsSetup({ credits: 5 });
    const { results } = await env.DB.prepare(
      "SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 2 OFFSET 300",
    ).all<{ id: string }>();
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    const req: AddContactsRequest = { source: { people_ids: results.map((r) => r.id) }, skip_validation: false, enrich: false };
    await expect(
      commitAddContacts(withQueue([], { left: Infinity }), db(env.DB), caller, x.sequenceId, req, "retry-me", "session"),
    ).rejects.toThrow(/queue unavailable/);
    const jobId = (await env.DB.prepare("SELECT id FROM jobs WHERE team_id = ?").bind(x.teamId).first<{ id: string }>())!.id;
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(3);
    // The client's retry with its Idempotency-Key answers the same job (and sends nothing).
    const sent: QueueMessage[] = [];
    const { job, replayed } = await commitAddContacts(withQueue(sent), db(env.DB), caller, x.sequenceId, req, "retry-me", "session");
    expect([job.id, job.status, replayed]).toEqual([jobId, "queued", true]);

    await startDueJobs(withQueue(sent));
    expect(sent, "a queued job is left alone while it may still be on its way").toEqual([]);
    setClock(now() + 11 * 60_000);
    await startDueJobs(withQueue(sent));
    expect(sent).toEqual([{ kind: "add_contacts_chunk", jobId, from: 0, to: 2 }]);
    setClock(now() + 60_000);
    await startDueJobs(withQueue(sent));
    expect(sent, "sent again once per quiet period, not every minute").toHaveLength(1);

    for (const m of sent) await handle(m, withQueue([]), false);
    const done = (await env.DB.prepare("SELECT status, enrolled, credits_used FROM jobs WHERE id = ?").bind(jobId).first())!;
    expect(done).toEqual({ status: "completed", enrolled: 2, credits_used: 2 });
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(3);
    expect(await one("SELECT count(*) n FROM credit_ledger WHERE job_id = ? AND kind <> 'hold'", jobId)).toBe(1);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(2);
  });
});
