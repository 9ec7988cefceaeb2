// Bounded work (issue 9, defect 7, add-contacts side): a commit larger than one page is not planned
// inside the request; it is planned page by page through the queue, and no request, page or chunk
// reads more than 5,000 rows at a time, whatever the size of the job.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller, Env } from "../../worker/env";
import { resetClock } from "../../worker/lib/clock";
import { handle } from "../../worker/queue/consumer";
import type { QueueMessage } from "../../worker/queue/messages";
import { commitAddContacts } from "../../worker/services/add-contacts/jobs";
import { presentPreview, previewAddContacts } from "../../worker/services/add-contacts/plan";
import { CHUNK_SIZE, type AddContactsRequest } from "../../worker/services/add-contacts/request";
import type { jobs } from "../../worker/db/schema";
import { client, env, ok, type RawRow } from "../helpers";
import { addContactsSetup, makeContacts, makeList } from "../fixtures";

type JobRow = RawRow<typeof jobs>;

const one = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

/**
 * An env that records the most rows any one statement returned to the Worker (and its SQL), with a
 * queue the test drains itself, so every step of a job runs with this env.
 */
function observed(base: Env) {
  // The most rows one statement returned to the Worker, and the largest value bound to one (what an invocation holds at a time).
  const seen = { maxRows: 0, sql: "", maxBoundChars: 0 };
  const note = (rows: number, sql: string) => {
    if (rows > seen.maxRows) Object.assign(seen, { maxRows: rows, sql: sql.slice(0, 200) });
  };
  const sqlOf = new WeakMap<object, string>();
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    sqlOf.set(stmt, sql);
    // The two reads are wrapped in place, so the statement keeps being the one D1 made.
    const s = stmt as unknown as {
      all: (...a: unknown[]) => Promise<D1Result<unknown> | unknown[]>;
      raw: (...a: unknown[]) => Promise<D1Result<unknown> | unknown[]>;
      bind: (...a: unknown[]) => D1PreparedStatement;
    };
    for (const m of ["all", "raw"] as const) {
      const orig = s[m].bind(stmt);
      s[m] = async (...a: unknown[]) => {
        const r = await orig(...a);
        note(Array.isArray(r) ? r.length : r.results.length, sql);
        return r;
      };
    }
    const bind = s.bind.bind(stmt);
    s.bind = (...a: unknown[]) => {
      for (const v of a) if (typeof v === "string") seen.maxBoundChars = Math.max(seen.maxBoundChars, v.length);
      return wrap(bind(...a), sql);
    };
    return stmt;
  };
  const DB = new Proxy(base.DB, {
    get(t, k) {
      if (k === "prepare") return (sql: string) => wrap(t.prepare(sql), sql);
      if (k === "batch") {
        return async (stmts: D1PreparedStatement[]) => {
          const out = await t.batch(stmts);
          out.forEach((r, i) => note(r.results?.length ?? 0, sqlOf.get(stmts[i]!) ?? ""));
          return out;
        };
      }
      const v: unknown = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  const queue: QueueMessage[] = [];
  const JOBS = {
    async send(body: QueueMessage) {
      queue.push(body);
    },
    async sendBatch(msgs: { body: QueueMessage }[]) {
      queue.push(...msgs.map((m) => m.body));
    },
  };
  const e = { ...base, DB, JOBS } as unknown as Env;
  return {
    env: e,
    seen,
    queue,
    /** Delivers queued messages one by one until none is left; returns how many of each kind ran. */
    async drain(o: { twice?: boolean } = {}) {
      const ran: Record<string, number> = {};
      for (let m = queue.shift(); m; m = queue.shift()) {
        ran[m.kind] = (ran[m.kind] ?? 0) + 1;
        await handle(m, e, false);
        if (o.twice) await handle(m, e, false); // at-least-once: the same message again
      }
      return ran;
    },
  };
}

async function verifiedPeople(n: number, offset: number) {
  const { results } = await env.DB.prepare(
    "SELECT id FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT ? OFFSET ?",
  )
    .bind(n, offset)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

async function bigSelection(credits: number) {
  const x = await addContactsSetup({ credits, mailboxes: [{ daily: 5000 }, { daily: 5000 }] });
  const saved = await makeContacts(x.teamId, 5_200);
  const list = await makeList(x.teamId, x.userId, saved);
  const fresh = await verifiedPeople(3, 900);
  const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
  return { x, caller, source: { list_ids: [list], people_ids: fresh } };
}

/** Commits the selection through the observed env (its queue drained by the test), as a session would. */
const commitBig = (o: ReturnType<typeof observed>, sequenceId: string, caller: Caller, source: AddContactsRequest["source"]) =>
  commitAddContacts(o.env, db(o.env.DB), caller, sequenceId, { source, skip_validation: false, enrich: false }, null, "session");

beforeEach(() => resetClock());

describe("add contacts: bounded pages", () => {
  it("a selection of more than 5,000 is planned through the queue in pages; no step reads more than 5,000 rows at a time", async () => {
    const { x, caller, source } = await bigSelection(1000);
    const req = { source, mailbox_ids: x.mailboxIds, skip_validation: false, enrich: false };
    // The mailbox the preview shows for each contact of the first plan page's first rows and of the second's.
    const shownMailbox = new Map<string, string | null>();
    for (const page of [1, 51]) {
      const p = await previewAddContacts(env, db(env.DB), caller, x.sequenceId, req, { page, perPage: 100, outcome: "all" });
      for (const r of p.tally.rows) if (r.facts.contactId) shownMailbox.set(r.facts.contactId, r.mailboxId);
    }
    expect(shownMailbox.size).toBeGreaterThan(150);
    expect(new Set(shownMailbox.values())).toEqual(new Set(x.mailboxIds));
    const o = observed(env);
    const { job } = await commitAddContacts(o.env, db(o.env.DB), caller, x.sequenceId, req, null, "session");
    // The request itself wrote the job and its candidates inside D1, and read almost nothing.
    expect(o.seen).toMatchObject({ maxRows: expect.any(Number) });
    expect(o.seen.maxRows, o.seen.sql).toBeLessThan(100);
    expect(job).toMatchObject({ status: "preparing", total: 5_203 });
    expect(await one("SELECT count(*) n FROM job_candidates WHERE job_id = ?", job.id)).toBe(5_203);
    const ran = await o.drain();
    // Both plan pages in one message (the queue's wait between messages costs more than a page).
    expect(ran).toEqual({ add_contacts_plan: 1, add_contacts_chunk: Math.ceil(5_203 / CHUNK_SIZE) });
    expect(o.seen.maxRows).toBeLessThanOrEqual(5_000);
    // No invocation binds more than one page of ids or rows at a time (well under D1's 2 MB per value).
    expect(o.seen.maxBoundChars).toBeLessThan(1_000_000);
    const done = (await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(job.id).first<JobRow>())!;
    expect(done).toMatchObject({ status: "completed", enrolled: 5_203, skipped: 0, credits_held: 3, credits_used: 3 });
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(997);
    const { results: split } = await env.DB.prepare(
      "SELECT mailbox_id, count(*) n FROM enrollments WHERE sequence_id = ? GROUP BY mailbox_id",
    )
      .bind(x.sequenceId)
      .all<{ n: number }>();
    expect(split.map((r) => r.n).sort()).toEqual([2_601, 2_602]); // the rotation carried across pages
    // Each contact went out of the mailbox its preview showed, on both plan pages.
    const { results: sent } = await env.DB.prepare(
      "SELECT contact_id, mailbox_id FROM enrollments WHERE sequence_id = ? AND contact_id IN (SELECT value FROM json_each(?))",
    )
      .bind(x.sequenceId, JSON.stringify([...shownMailbox.keys()]))
      .all<{ contact_id: string; mailbox_id: string }>();
    expect(new Map(sent.map((r) => [r.contact_id, r.mailbox_id]))).toEqual(shownMailbox);
    // Highest score first: the priority order the preview shows.
    const { results: order } = await env.DB.prepare(
      "SELECT coalesce(c.score, p.score) AS s FROM job_candidates j LEFT JOIN contacts c ON c.id = j.contact_id LEFT JOIN people p ON p.id = j.person_id WHERE j.job_id = ? ORDER BY j.idx",
    )
      .bind(job.id)
      .all<{ s: number }>();
    expect(order.every((r, i) => i === 0 || order[i - 1]!.s >= r.s)).toBe(true);
  });

  it("a paged job the balance can't cover fails with the reason before anything is charged or added", async () => {
    const { x, caller, source } = await bigSelection(2);
    const o = observed(env);
    const { job } = await commitBig(o, x.sequenceId, caller, source);
    await o.drain();
    const done = (await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(job.id).first<JobRow>())!;
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/up to 3 credits; the balance is 2/);
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(2);
    expect(await one("SELECT count(*) n FROM credit_ledger WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(0);
  });

  it("a plan page that reaches the hold after its job ended (failed while the page ran) takes no credits", async () => {
    const { x, caller, source } = await bigSelection(1000);
    const o = observed(env);
    const { job } = await commitBig(o, x.sequenceId, caller, source);
    // The job ends while its last plan page is being planned (the cron failing a job gone quiet, or an
    // earlier delivery of the chain that failed it for want of credits before the balance was topped up).
    await env.DB.prepare(
      `CREATE TRIGGER job_ends_meanwhile AFTER UPDATE OF mailbox_id ON job_candidates
       BEGIN UPDATE jobs SET status = 'failed', error = 'ended meanwhile' WHERE id = NEW.job_id AND status = 'preparing'; END`,
    ).run();
    try {
      await o.drain();
    } finally {
      await env.DB.prepare("DROP TRIGGER job_ends_meanwhile").run();
    }
    const done = (await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(job.id).first<JobRow>())!;
    expect(done).toMatchObject({ status: "failed", error: "ended meanwhile", credits_held: 0 });
    // Nothing would ever settle a hold taken now: none is taken.
    expect(await one("SELECT count(*) n FROM credit_ledger WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(1000);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(0);
  });

  it("previews a selection of more than 5,000 page by page: the same totals, credits and rotation, one page of contacts, no step over 5,000 rows", async () => {
    const { x, caller, source } = await bigSelection(1000);
    const unverified = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? ORDER BY id LIMIT 10")
      .bind(x.teamId)
      .all<{ id: string }>();
    await env.DB.prepare("UPDATE contacts SET email_status = 'unverified' WHERE id IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(unverified.results.map((r) => r.id)))
      .run();
    const o = observed(env);
    const req = { source, mailbox_ids: x.mailboxIds, skip_validation: false, enrich: false };
    const view = { page: 2, perPage: 100, outcome: "all" as const };
    const preview = await previewAddContacts(o.env, db(o.env.DB), caller, x.sequenceId, req, view);
    expect(o.seen.maxRows, o.seen.sql).toBeLessThanOrEqual(5_000);
    const shown = presentPreview(preview, view);
    expect(shown.totals).toMatchObject({ candidates: 5_203, enrolled: 5_193, warned: 10, skipped: 0 });
    expect(shown.warnings).toMatchObject([{ category: "unverified_email", count: 10, held_back: 10 }]);
    expect(shown.credits).toEqual({ balance: 1000, exact: 3, maximum: 3, fits: null });
    expect(shown.mailboxes.map((m) => m.assigned).sort()).toEqual([2_596, 2_597]);
    expect(shown.contacts).toHaveLength(100);
    expect(shown.pagination).toEqual({ page: 2, per_page: 100, total_entries: 5_203, total_pages: 53 });
    // The same through the API, filtered to the warned ones; nothing is written.
    const warned = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].preview.$post({
        param: { id: x.sequenceId },
        query: { outcome: "warned", per_page: 500 },
        json: req,
      }),
    );
    expect(warned.contacts).toHaveLength(10);
    expect(warned.contacts.every((c) => c.outcome === "warned" && c.reasons.includes("unverified_email"))).toBe(true);
    expect(warned.totals.candidates).toBe(5_203);
    expect(await one("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
  });

  it("redelivered plan pages and chunks hold the credits once and enroll everyone once", async () => {
    const { x, caller, source } = await bigSelection(1000);
    const o = observed(env);
    const { job } = await commitBig(o, x.sequenceId, caller, source);
    await o.drain({ twice: true });
    const done = (await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(job.id).first<JobRow>())!;
    expect(done).toMatchObject({ status: "completed", enrolled: 5_203, credits_held: 3, credits_used: 3 });
    expect(await one("SELECT count(*) n FROM credit_ledger WHERE team_id = ? AND kind = 'hold'", x.teamId)).toBe(1);
    expect(await one("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(5_203);
    expect(await one("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(997);
  });
});
