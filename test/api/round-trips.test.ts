import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { db } from "../../worker/db/client";
import { countingD1, type D1Count } from "../../worker/middleware/d1-count";
import { DEMO } from "../../worker/seed/demo";
import { loadSequenceConfig } from "../../durable-objects/sequence-config";
import { nextWindowStart } from "../../worker/services/schedule-time";
import { as, BASE, env, login, type Session } from "../helpers";

// The routes `npm run bench:load` drives, held to the D1 work they need: round trips (each one a hop
// to D1 and back, the cost that grows with load) and rows read. A regression here is a slower API
// under load even when every answer is still right.

const counted = countingD1(env.DB, { rowsOfRaw: true });
const countedEnv = { ...env, DB: counted.db };

async function measure(s: Session, method: string, path: string, body?: unknown, warm = true) {
  const init: RequestInit = {
    method,
    headers: { cookie: s.cookie, "x-csrf-token": s.csrf, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
  // Warm, as under load (the per-isolate handle and the people totals are built once).
  if (warm) {
    const ctx0 = createExecutionContext();
    await (await app.request(`${BASE}${path}`, init, countedEnv, ctx0)).text();
    await waitOnExecutionContext(ctx0);
  }
  counted.reset();
  const ctx = createExecutionContext();
  const res = await app.request(`${BASE}${path}`, init, countedEnv, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  const c: D1Count = structuredClone(counted.count);
  expect(res.status, `${method} ${path}: ${text.slice(0, 300)}`).toBe(200);
  return { ...c, json: JSON.parse(text) as Record<string, unknown> };
}

/**
 * Every request reads its caller (session or API key) from D1, never from a copy kept between requests
 * (test/api/auth-next-request.test.ts). A read (a GET, a people search, a preview) whose first statement
 * is a batch (or `all()`) carries the session's statement in that same batch (worker/db/riding-check.ts;
 * a POST that writes, and a single drizzle select read through `raw()`, read it alone first): every
 * route below reads it in its first round trip (most of them have no other).
 */
function oneTripWithCaller(m: D1Count) {
  expect(m.roundTrips, m.statements.join("\n")).toBe(1);
  expect(m.queries.some((q) => /FROM sessions s JOIN users u/.test(q.sql))).toBe(true);
}

/** Tables that grow with a team's data: a statement must reach them through an index. */
const BIG = ["contacts", "enrollments", "people", "messages", "list_members", "sessions", "jobs", "tasks", "inbound_messages", "audit_log"];

async function fullScans(queries: D1Count["queries"]) {
  const out: string[] = [];
  for (const q of queries) {
    if (!/^\s*(select|with)\b/i.test(q.sql)) continue;
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
      .bind(...q.params)
      .all<{ detail: string }>();
    // SQLite says "SCAN <table or alias>" alone for a full table scan, "... USING [COVERING] INDEX" otherwise.
    for (const { detail } of plan.results) {
      const m = /^SCAN (\w+)$/.exec(detail);
      if (!m) continue;
      const table = new RegExp(`\\b(\\w+)(?: AS)? ${m[1]}\\b`, "i").exec(q.sql.replace(/"/g, ""))?.[1] ?? m[1]!;
      if (BIG.includes(table) || BIG.includes(m[1]!)) out.push(`${detail} in: ${q.sql.slice(0, 160)}`);
    }
  }
  return out;
}

describe("D1 work of the routes a busy screen calls", () => {
  let admin: Session;
  let rep: Session;
  let seqId: string;
  let listId: string;
  let contactId: string;
  let mailboxId: string;
  let enrolled: number;
  beforeAll(async () => {
    admin = await login("admin@demo.test");
    rep = await login("rep1@demo.test");
    const seq = await env.DB.prepare(
      "select s.id, (select count(*) from enrollments e where e.sequence_id = s.id) n from sequences s where s.team_id = ? and s.active = 1 order by n desc limit 1",
    )
      .bind(DEMO.team)
      .first<{ id: string; n: number }>();
    seqId = seq!.id;
    enrolled = seq!.n;
    listId = (await env.DB.prepare("select id from lists where team_id = ? limit 1").bind(DEMO.team).first<{ id: string }>())!.id;
    contactId = (await env.DB.prepare("select contact_id from messages where team_id = ? limit 1")
      .bind(DEMO.team)
      .first<{ contact_id: string }>())!.contact_id;
    mailboxId = (await env.DB.prepare("select mailbox_id from enrollments where sequence_id = ? and mailbox_id is not null limit 1")
      .bind(seqId)
      .first<{ mailbox_id: string }>())!.mailbox_id;
  });

  it("the sequence list answers a page of 50 in one round trip, for an admin and for a rep", async () => {
    for (const s of [admin, rep]) {
      const m = await measure(s, "GET", "/api/sequences?per_page=50");
      // The caller and the page (with its total) in one batch. A batch answers rows by column name: the
      // sequence's and its owner's `name`, its `active` flag and its active count must each keep their own.
      oneTripWithCaller(m);
      const seqs = m.json.sequences as { id: string; name: string; owner_name: string; active: boolean; counts: Record<string, number> }[];
      expect(seqs.length).toBeGreaterThan(0);
      const truth = await env.DB.prepare(
        `SELECT s.id, s.name, s.active, u.name AS owner_name,
                (SELECT count(*) FROM enrollments e WHERE e.sequence_id = s.id AND e.status = 'active') AS open
           FROM sequences s JOIN users u ON u.id = s.owner_id WHERE s.team_id = ?`,
      )
        .bind(DEMO.team)
        .all<{ id: string; name: string; active: number; owner_name: string; open: number }>();
      const byId = new Map(truth.results.map((t) => [t.id, t]));
      for (const q of seqs) {
        const t = byId.get(q.id)!;
        expect({ name: q.name, owner: q.owner_name, active: q.active, open: q.counts.active ?? 0 }).toEqual({
          name: t.name,
          owner: t.owner_name,
          active: !!t.active,
          open: t.open,
        });
      }
      expect(seqs.some((q) => (q.counts.active ?? 0) > 0)).toBe(true);
    }
  });

  it("the sequence list reads each sequence's counts from one row, not from its enrollments and messages", async () => {
    const n = async (q: string) => (await env.DB.prepare(q).bind(DEMO.team).first<{ n: number }>())!.n;
    const enrollments = await n("select count(*) n from enrollments where team_id = ?");
    const messages = await n("select count(*) n from messages where team_id = ?");
    expect(messages).toBeGreaterThan(0);
    const m = await measure(admin, "GET", "/api/sequences?per_page=50");
    // First sent and bounced were two subqueries, each reading every message of the sequence; then one
    // walk over each sequence's enrollments and messages; now sequence_counts (test/api/sequence-counts).
    expect(enrollments + messages).toBeGreaterThan(500);
    expect(m.rowsRead, m.statements.join("\n")).toBeLessThan(100);
    // Sent as the report counts it (bounced included, with a sent time; migration 0057).
    const sent = await n(
      "select count(*) n from messages where team_id = ? and status in ('sent', 'bounced') and sent_at is not null and sequence_id <> ''",
    );
    const seqs = m.json.sequences as { sent: number; bounced: number; replied: number }[];
    expect(seqs.reduce((a, s) => a + s.sent, 0)).toBe(sent);
    expect(seqs.reduce((a, s) => a + s.bounced, 0)).toBe(
      await n("select count(*) n from messages where team_id = ? and status = 'bounced' and sent_at is not null and sequence_id <> ''"),
    );
    expect(seqs.reduce((a, s) => a + s.replied, 0)).toBe(
      await n(
        "select count(*) n from messages where team_id = ? and status in ('sent', 'bounced') and sent_at is not null and sequence_id <> '' and reply_kind = 'reply'",
      ),
    );
  });

  it("the people filters' facets are counted once per load of people, not on every call", async () => {
    const people = (await env.DB.prepare("select count(*) n from people").first<{ n: number }>())!.n;
    // Warm: counted once (five GROUP BYs over every person), then each call reads one row.
    const m = await measure(admin, "GET", "/api/people/facets");
    expect(people).toBeGreaterThan(1_000);
    oneTripWithCaller(m);
    expect(m.rowsRead, m.statements.join("\n")).toBeLessThan(10);
    const sum = (f: { count: number }[]) => f.reduce((a, x) => a + x.count, 0);
    expect(sum((m.json as { seniorities: { count: number }[] }).seniorities)).toBe(people);
    // People loaded meanwhile (another isolate's load, or a reseed) are counted at the next call.
    const id = "ff0000000000000000facet1";
    const cols = (await env.DB.prepare("select name from pragma_table_info('people')").all<{ name: string }>()).results.map((c) => c.name);
    const pick = cols.map((c) => (c === "id" ? "?" : c === "seniority" ? "'facet_level'" : c));
    await env.DB.prepare(`insert into people (${cols.join(", ")}) select ${pick.join(", ")} from people limit 1`)
      .bind(id)
      .run();
    try {
      const after = await measure(admin, "GET", "/api/people/facets", undefined, false);
      const s = (after.json as { seniorities: { value: string; count: number }[] }).seniorities;
      expect(s.find((x) => x.value === "facet_level")?.count).toBe(1);
      expect(sum(s)).toBe(people + 1);
    } finally {
      await env.DB.prepare("delete from people where id = ?").bind(id).run();
    }
  });

  it("a contacts page and a contacts search are one round trip each", async () => {
    for (const path of ["/api/contacts?page=3&per_page=25", "/api/contacts?q=an&per_page=25"]) {
      oneTripWithCaller(await measure(admin, "GET", path));
    }
  });

  it("the contacts page takes its total from the team's count, without counting the contacts", async () => {
    const m = await measure(admin, "GET", "/api/contacts?page=3&per_page=25");
    // No count over contacts at all (test/api/contacts-page-reads); a filtered page still counts (below).
    expect(
      m.queries.filter((q) => /count\(/i.test(q.sql)),
      m.statements.join("\n"),
    ).toEqual([]);
    const total = m.queries.find((q) => /team_counts/i.test(q.sql));
    expect(total, m.statements.join("\n")).toBeDefined();
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${total!.sql}`)
      .bind(...total!.params)
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join("; ")).toMatch(
      /SEARCH team_counts USING INDEX sqlite_autoindex_team_counts_1 \(team_id=\?\)/,
    );
  });

  it("the contacts page walks the team's contacts newest first to its page, never sorting every contact", async () => {
    const m = await measure(admin, "GET", "/api/contacts?page=3&per_page=25");
    const page = m.queries.find((q) => /from "contacts"/i.test(q.sql) && /limit/i.test(q.sql) && !/count\(/i.test(q.sql))!;
    const plan = async () =>
      (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${page.sql}`)
          .bind(...page.params)
          .all<{ detail: string }>()
      ).results
        .map((r) => r.detail)
        .join("; ");
    expect(await plan()).toMatch(/contacts_team_created_idx/);
    // Not even for the ties of created_at ("RIGHT PART OF ORDER BY"): an import's rows share one instant.
    expect(await plan()).not.toMatch(/TEMP B-TREE/);
  });

  it("counting a contacts search reads the search index alone, not every contact of the team", async () => {
    const m = await measure(admin, "GET", "/api/contacts?q=an&per_page=25");
    const total = m.queries.find((q) => /count\(/i.test(q.sql));
    expect(total, m.statements.join("\n")).toBeDefined();
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${total!.sql}`)
      .bind(...total!.params)
      .all<{ detail: string }>();
    // Before: every live contact of the team read from the table, its four fields lowercased one by one.
    expect(plan.results.map((r) => r.detail).join("; ")).toMatch(/COVERING INDEX contacts_team_search_idx/);
    // The page still walks the team's contacts newest first and stops at 25 matches (no sort of every match).
    const page = m.queries.find((q) => /from "contacts"/i.test(q.sql) && /limit/i.test(q.sql) && !/count\(/i.test(q.sql))!;
    const pagePlan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${page.sql}`)
      .bind(...page.params)
      .all<{ detail: string }>();
    expect(pagePlan.results.map((r) => r.detail).join("; ")).toMatch(/contacts_team_created_idx/);
  });

  it("a repeated people-search page in score order walks the score index down to its page instead of sorting every match", async () => {
    const filter = { titles: ["Manager"], per_page: 10 };
    const first = await measure(admin, "POST", "/api/people/search", { ...filter, page: 1 }, false);
    const total = (first.json.pagination as { total_entries: number }).total_entries;
    expect(total).toBeGreaterThan(100);
    const next = await measure(admin, "POST", "/api/people/search", { ...filter, page: 2 }, false);
    expect((next.json.pagination as { total_entries: number }).total_entries).toBe(total);
    const page = next.queries.find((q) => /ORDER BY p\.score DESC/.test(q.sql))!;
    const steps = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${page.sql}`)
        .bind(...page.params)
        .all<{ id: number; parent: number; detail: string }>()
    ).results;
    const plan = steps.map((r) => r.detail).join("; ");
    // Before: every match read from the table and sorted ("USE TEMP B-TREE FOR ORDER BY") for a page of 10.
    expect(plan).toMatch(/SCAN p USING (COVERING )?INDEX people_score_id_idx/);
    // No sort in the query that walks the matches: one there would sort every match. The page's 10
    // rows may be sorted again above it (their sequences are read after the page is picked).
    const walked = steps.find((r) => /people_score_id_idx/.test(r.detail))!;
    expect(steps.filter((r) => /TEMP B-TREE/.test(r.detail) && r.parent === walked.parent)).toEqual([]);
    // The same people, in the same order, as the sorted plan gives.
    const sorted = await env.DB.prepare(
      `SELECT p.id FROM people p WHERE p.rowid IN (SELECT rowid FROM people_fts WHERE people_fts MATCH 'title : (("manager"*))') ORDER BY p.score DESC, p.id LIMIT 10 OFFSET 10`,
    ).all<{ id: string }>();
    expect((next.json.people as { id: string }[]).map((p) => p.id)).toEqual(sorted.results.map((r) => r.id));
  });

  it("a people search is one round trip", async () => {
    const m = await measure(admin, "POST", "/api/people/search", { titles: ["CEO"], page: 2, per_page: 25 });
    oneTripWithCaller(m);
  });

  it("a repeated people search reads its page only: the total is kept per isolate while the people stay the same", async () => {
    const filter = { titles: ["Founder"], per_page: 10 };
    // Not warmed by the same request first (the caller is: earlier tests signed the same sessions in).
    const first = await measure(admin, "POST", "/api/people/search", { ...filter, page: 1 }, false);
    const total = (first.json.pagination as { total_entries: number }).total_entries;
    expect(total).toBeGreaterThan(20);
    const next = await measure(admin, "POST", "/api/people/search", { ...filter, page: 2 }, false);
    expect((next.json.pagination as { total_entries: number }).total_entries).toBe(total);
    oneTripWithCaller(next);
    // Counting reads every match at least once; the second request doesn't count again.
    expect(next.rowsRead).toBeLessThanOrEqual(first.rowsRead - total);
  });

  it("a person loaded after a search is in the next total of the same filter", async () => {
    const filter = { titles: ["Founder"], per_page: 10, page: 1 };
    const before = (await measure(admin, "POST", "/api/people/search", filter, false)).json.pagination as { total_entries: number };
    const cols = (await env.DB.prepare("PRAGMA table_info(people)").all<{ name: string }>()).results.map((c) => c.name);
    const copy = cols.map((c) => (c === "id" ? "'p3-loaded-founder'" : c === "title" ? "'Founder'" : c)).join(", ");
    await env.DB.prepare(`INSERT INTO people (${cols.join(", ")}) SELECT ${copy} FROM people LIMIT 1`).run();
    const after = (await measure(admin, "POST", "/api/people/search", filter, false)).json.pagination as { total_entries: number };
    expect(after.total_entries).toBe(before.total_entries + 1);
    await env.DB.prepare("DELETE FROM people WHERE id = 'p3-loaded-founder'").run();
  });

  it("a sequence's enrollments page takes one round trip and reads each enrollment about twice, not once per join and count", async () => {
    for (const s of [admin, rep]) {
      const m = await measure(s, "GET", `/api/sequences/${seqId}/enrollments?per_page=25`);
      // The caller, the sequence (with the caller's access), the page and the chip counts in one batch
      // (before: the sequence alone, then the batch; then the caller alone before them).
      oneTripWithCaller(m);
      // Picking the page and counting the chips each walk the sequence's enrollments once (and their
      // mailboxes); before, a separate count and a contact join per row read about nine rows per enrollment.
      expect(m.rowsRead).toBeLessThanOrEqual(4 * enrolled + 200);
      const pagination = m.json.pagination as { total_entries: number };
      expect(pagination.total_entries).toBe(enrolled);
    }
  });

  it("a page of contacts waiting for an email step tells when the window opens, in the same one round trip", async () => {
    const waiting = await env.DB.prepare(
      `SELECT e.id, e.next_due_at FROM enrollments e JOIN steps st ON st.sequence_id = e.sequence_id AND st.position = e.current_step
        WHERE e.sequence_id = ? AND e.status = 'active' AND e.reason = 'waiting_for_step' AND st.type = 'auto_email' AND e.next_due_at IS NOT NULL`,
    )
      .bind(seqId)
      .all<{ id: string; next_due_at: number }>();
    expect(waiting.results.length).toBeGreaterThan(0);
    const m = await measure(admin, "GET", `/api/sequences/${seqId}/enrollments?per_page=100&status=active&reason=waiting_for_step`);
    // The sequence's window rides in the page's batch; it was a round trip of its own on such a page.
    oneTripWithCaller(m);
    const cfg = (await loadSequenceConfig(db(env.DB), seqId))!;
    const rows = m.json.enrollments as { id: string; next_action_at: number | null }[];
    expect(rows.length).toBeGreaterThan(0);
    const due = new Map(waiting.results.map((w) => [w.id, w.next_due_at]));
    for (const r of rows) expect(r.next_action_at, r.id).toBe(nextWindowStart(due.get(r.id)!, cfg.window));
    // Some of them fall due while the window is closed: the window is what the page told, not the due time.
    expect(rows.some((r) => r.next_action_at !== due.get(r.id))).toBe(true);
  });

  it("another team's admin gets a 404 from a sequence's enrollments page, with none of its rows or counts", async () => {
    const rival = await login("admin@rival.test");
    const res = await as(rival, "GET", `/api/sequences/${seqId}/enrollments?per_page=25`);
    const body = await res.text();
    expect(res.status).toBe(404);
    expect(body).not.toMatch(/"enrollments"|"counts"/);
  });

  it("the total of a filtered enrollments page is the count of that filter", async () => {
    const all = await measure(admin, "GET", `/api/sequences/${seqId}/enrollments?per_page=5`);
    const counts = all.json.counts as Record<string, number>;
    for (const status of ["active", "finished", "paused"]) {
      const m = await measure(admin, "GET", `/api/sequences/${seqId}/enrollments?per_page=5&status=${status}`);
      const n = (await env.DB.prepare("select count(*) n from enrollments where sequence_id = ? and status = ?")
        .bind(seqId, status)
        .first<{ n: number }>())!.n;
      expect((m.json.pagination as { total_entries: number }).total_entries).toBe(n);
      expect(counts[status]).toBe(n);
    }
  });

  it("a job's status is one round trip: the caller, the job, its sequence and the caller's share read together", async () => {
    const contact = await env.DB.prepare("select id from contacts where team_id = ? and deleted_at is null limit 1")
      .bind(DEMO.team)
      .first<{ id: string }>();
    const res = await as(admin, "POST", `/api/sequences/${seqId}/add-contacts`, { source: { contact_ids: [contact!.id] } });
    const { job } = (await res.json()) as { job: { id: string } };
    expect(job.id).toBeTruthy();
    const m = await measure(admin, "GET", `/api/jobs/${job.id}`);
    // Before: the job, then its sequence with the caller's share (two round trips); then the caller
    // alone and the job joined to its sequence (a single select, which the caller can't ride in).
    oneTripWithCaller(m);
    expect((m.json.job as { id: string }).id).toBe(job.id);
  });

  it("the job list and a preview of adding a list stay within their round trips", async () => {
    oneTripWithCaller(await measure(admin, "GET", "/api/jobs?per_page=10"));
    const p = await measure(admin, "POST", `/api/sequences/${seqId}/add-contacts/preview?per_page=25`, { source: { list_ids: [listId] } });
    // The sequence (the caller riding with it); its config, lists and mailboxes (one batch); the
    // mailboxes' loads with the balance (one batch); the candidates; their facts. Before: 8, lists,
    // mailboxes and balance each alone; then 7, the caller alone first; then 6, the config alone.
    expect(p.roundTrips, p.statements.join("\n")).toBeLessThanOrEqual(5);
    expect(p.queries.some((q) => /FROM sessions s JOIN users u/.test(q.sql))).toBe(true);
  });

  it("no statement of these routes scans a growing table without an index", async () => {
    const routes: [Session, string, string, unknown?][] = [
      [admin, "GET", "/api/sequences?per_page=50"],
      [rep, "GET", "/api/sequences?per_page=50"],
      [admin, "GET", "/api/contacts?page=3&per_page=25"],
      [admin, "GET", "/api/contacts?q=an&per_page=25"],
      [admin, "POST", "/api/people/search", { titles: ["CEO"], page: 2, per_page: 25 }],
      [admin, "GET", `/api/sequences/${seqId}/enrollments?per_page=25`],
      [admin, "GET", "/api/jobs?per_page=10"],
      [admin, "POST", `/api/sequences/${seqId}/add-contacts/preview?per_page=25`, { source: { list_ids: [listId] } }],
      [admin, "GET", `/api/contacts/${contactId}/timeline`],
      // Replies by team and time, a sequence's contacts by status, a mailbox's open enrollments (migration 0031's indexes).
      [admin, "GET", "/api/reports/team"],
      [admin, "GET", "/api/reports/home"],
      [admin, "GET", `/api/sequences/${seqId}/report`],
      [admin, "GET", "/api/scheduled-emails?per_page=25"],
      [admin, "GET", `/api/scheduled-emails?per_page=25&mailbox_id=${mailboxId}`],
      [admin, "GET", `/api/sequences/${seqId}/enrollments?per_page=25&status=active`],
    ];
    const scans: string[] = [];
    for (const [s, method, path, body] of routes)
      scans.push(...(await fullScans((await measure(s, method, path, body)).queries)).map((x) => `${path}: ${x}`));
    expect(scans).toEqual([]);
  });

  it("the home dashboard's latest replies walk the replied emails' partial index (an email is indexed there once replied to)", async () => {
    const m = await measure(admin, "GET", "/api/reports/home");
    const q = m.queries.find((x) => /ORDER BY m\.replied_at DESC/.test(x.sql));
    expect(q, m.statements.join("\n")).toBeTruthy();
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${q!.sql}`)
      .bind(...q!.params)
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join("\n")).toMatch(/SEARCH m USING (COVERING )?INDEX messages_team_replied_idx/);
    const replied = (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE team_id = ? AND replied_at IS NOT NULL")
      .bind(DEMO.team)
      .first<{ n: number }>())!.n;
    expect(replied).toBeGreaterThan(0);
  });

  it("one drizzle handle per D1 binding per isolate, not one per request", () => {
    expect(db(env.DB)).toBe(db(env.DB));
  });
});
