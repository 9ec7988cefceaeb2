import { beforeEach, describe, expect, it } from "vitest";
import { as, env, type Session } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, startSimulation, waitForJob } from "../fixtures";

interface JobView {
  job: { id: string; status: string; total: number; outcomes: Record<string, number>; target_jobs: string[] };
  results: { id: string; outcome: string; changed: boolean; reason: string | null; contact: { id: string; name: string } | null }[];
  pagination: { total_entries: number };
}

async function waitJob(s: Session, seq: string, jobId: string, qs: string): Promise<JobView> {
  const until = Date.now() + 240_000;
  for (;;) {
    const view = (await (await as(s, "GET", `/api/sequences/${seq}/enrollment-jobs/${jobId}${qs}`)).json()) as JobView;
    if (view.job.status !== "running") return view;
    if (Date.now() > until) throw new Error(`action job still running: ${JSON.stringify(view.job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A team with two sequences, 1,001 contacts active in the first (one more than a move takes in the request). */
async function oneThousandAndOne() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
  const { sequenceId: target } = await makeSequence(teamId, userId, [{ wait: 30 }], null);
  const mb = await makeMailbox(teamId, userId);
  const cs = await makeContacts(teamId, 1001);
  await enroll(teamId, sequenceId, cs, [mb]);
  return { teamId, s, sequenceId, target, cs };
}

describe("an action job's answer says what happened to each contact, like the direct answer", () => {
  beforeEach(() => startSimulation());

  it("a move of 1,001 contacts as a job names each contact's outcome and the target's add-contacts jobs", async () => {
    const { teamId, s, sequenceId, target } = await oneThousandAndOne();
    await env.DB.prepare("UPDATE teams SET credit_balance = 1000 WHERE id = ?").bind(teamId).run();

    const res = await as(s, "POST", `/api/sequences/${sequenceId}/enrollments/move`, {
      filter: { status: "active" },
      to_sequence_id: target,
    });
    expect(res.status).toBe(202);
    const { job } = (await res.json()) as JobView;
    expect(job.target_jobs).toEqual([]);
    const view = await waitJob(s, sequenceId, job.id, "?per_page=5&page=201");
    expect(view.job).toMatchObject({ status: "completed", total: 1001, outcomes: { moved: 1001 } });
    // One add-contacts job per page acted on (1,000 then 1), each a real job of the target sequence.
    expect(view.job.target_jobs).toHaveLength(2);
    const jobs = await env.DB.prepare("SELECT id, kind, sequence_id FROM jobs WHERE id IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(view.job.target_jobs))
      .all<{ id: string; kind: string; sequence_id: string }>();
    expect(jobs.results.map((j) => [j.kind, j.sequence_id])).toEqual([
      ["add_contacts", target],
      ["add_contacts", target],
    ]);
    // The last page: the 1,001st contact, by name, with its outcome.
    expect(view.pagination.total_entries).toBe(1001);
    expect(view.results).toHaveLength(1);
    const [last] = view.results;
    const row = await env.DB.prepare(
      "SELECT e.status, e.reason, c.id AS contact_id, trim(c.first_name || ' ' || c.last_name) AS name FROM enrollments e JOIN contacts c ON c.id = e.contact_id WHERE e.id = ?",
    )
      .bind(last!.id)
      .first<{ status: string; reason: string; contact_id: string; name: string }>();
    expect(row).toMatchObject({ status: "finished", reason: "moved" });
    expect(last).toMatchObject({ outcome: "moved", changed: true, contact: { id: row!.contact_id, name: row!.name } });
  });

  it("a move as a job carries its overrides to every page and names what held each contact back", async () => {
    const { teamId, s, sequenceId, target, cs } = await oneThousandAndOne();
    // Three with a guessed address; two who replied to the target before (waived by the move's overrides).
    await env.DB.prepare("UPDATE contacts SET email_status = 'guessed' WHERE id IN (?, ?, ?)").bind(cs[0], cs[500], cs[1000]).run();
    for (const c of [cs[1], cs[999]])
      await env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, reason, created_at, updated_at) VALUES (?, ?, ?, ?, 'finished', 'replied', 0, 0)",
      )
        .bind(`old-${c}`, teamId, target, c)
        .run();

    const res = await as(s, "POST", `/api/sequences/${sequenceId}/enrollments/move`, {
      filter: { status: "active" },
      to_sequence_id: target,
      overrides: { replied_in_sequence: true },
    });
    expect(res.status).toBe(202);
    const { job } = (await res.json()) as JobView;
    const view = await waitJob(s, sequenceId, job.id, "?per_page=1000&page=1");
    expect(view.job).toMatchObject({ status: "completed", total: 1001, outcomes: { moved: 998, not_moved: 3 } });
    const last = await waitJob(s, sequenceId, job.id, "?per_page=1000&page=2");
    const held = [...view.results, ...last.results].filter((r) => r.outcome === "not_moved");
    expect(held.map((r) => r.contact!.id).sort()).toEqual([cs[0], cs[500], cs[1000]].sort());
    expect(held.every((r) => JSON.stringify((r as { held_back_by?: string[] }).held_back_by) === '["unverified_email"]')).toBe(true);
    // The two who had replied there were moved on the first page and on the second.
    for (const j of view.job.target_jobs) await waitForJob(j);
    const there = await env.DB.prepare(
      "SELECT contact_id FROM enrollments WHERE sequence_id = ? AND status = 'active' AND contact_id IN (?, ?)",
    )
      .bind(target, cs[1], cs[999])
      .all();
    expect(there.results).toHaveLength(2);
  });
});
