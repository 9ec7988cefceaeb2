import { it } from "vitest";
import { bulkInsert, bulkInsertStatements } from "../worker/db/bulk";
import { newId } from "../worker/lib/ids";
import { resetClock } from "../worker/lib/clock";
import { as, env } from "../test/helpers";
import { addContactsSetup, makeList, waitForJob } from "../test/fixtures";
import { report } from "./report";

const scale = Number((env as unknown as { BENCH_SCALE: string }).BENCH_SCALE);

async function contacts(teamId: string, n: number) {
  const ids: string[] = [];
  const t = Date.now();
  for (let from = 0; from < n; from += 20_000) {
    const rows = [];
    for (let i = from; i < Math.min(n, from + 20_000); i++) {
      const id = newId();
      ids.push(id);
      rows.push([id, teamId, `First${i}`, `Last${i}`, "Acme", `c${i}.${id}@example.test`, i % 10 === 0 ? "unverified" : "verified", (i * 37) % 101, `${teamId}-cold`, t, t]);
    }
    await bulkInsert(env.DB, "contacts", ["id", "team_id", "first_name", "last_name", "company", "email", "email_status", "score", "stage_id", "created_at", "updated_at"], rows, "");
  }
  return ids;
}

for (const size of [10_000, 100_000].map((n) => Math.max(100, Math.round(n * scale)))) {
  it(`enroll ${size} contacts from lists, validation on, rotation over 4 mailboxes`, async () => {
    resetClock();
    const x = await addContactsSetup({ mailboxes: [{ daily: 500 }, { daily: 400 }, { daily: 300 }, { daily: 200 }], credits: 0 });
    const ids = await contacts(x.teamId, size);
    const half = Math.floor(size / 2);
    const lists = [await makeList(x.teamId, x.userId, ids.slice(0, half)), await makeList(x.teamId, x.userId, ids.slice(half))];
    const t0 = Date.now();
    const res = await as(x.s, "POST", `/api/sequences/${x.sequenceId}/add-contacts`, { source: { list_ids: lists }, mailbox_ids: x.mailboxIds });
    if (res.status !== 202) throw new Error(`commit failed: ${res.status} ${await res.text()}`);
    const { job } = (await res.json()) as { job: { id: string } };
    const commitMs = Date.now() - t0;
    const done = await waitForJob(job.id, 600_000);
    const wall = (Date.now() - t0) / 1000;
    if (done.enrolled !== size - Math.ceil(size / 10)) throw new Error(`expected ${size - Math.ceil(size / 10)} enrolled, got ${done.enrolled}`);

    // Baseline: the same number of enrollment rows inserted straight into D1, in the same run.
    const b0 = Date.now();
    const rows = ids.map((c, i) => [newId(), x.teamId, `baseline-${x.sequenceId}`, c, x.mailboxIds[i % 4]!, "active", 1, Date.now(), "waiting_for_step", null, x.userId, b0, b0, null]);
    const stmts = bulkInsertStatements(env.DB, "enrollments", ["id", "team_id", "sequence_id", "contact_id", "mailbox_id", "status", "current_step", "next_due_at", "reason", "job_id", "added_by", "created_at", "updated_at", "finished_at"], rows);
    for (let i = 0; i < stmts.length; i += 50) await env.DB.batch(stmts.slice(i, i + 50));
    const baseline = (Date.now() - b0) / 1000;
    report(`enroll_${size}_wall_time`, wall, "s");
    report(`enroll_${size}_commit_request`, commitMs / 1000, "s");
    report(`enroll_${size}_d1_insert_baseline`, baseline, "s");
    report(`enroll_${size}_ratio_to_baseline`, wall / baseline, "x");
    report(`enroll_${size}_per_second`, size / wall, "contacts/s");
  });
}
