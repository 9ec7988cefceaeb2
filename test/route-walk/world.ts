// The world the route walk runs in: the seeded Demo and Rival teams, the callers it signs in as,
// pools of real ids per team and resource, and a D1 change log (SQLite triggers) that shows every
// row a request wrote, and for which team.
import { DEMO } from "../../worker/seed/demo";
import { newId } from "../../worker/lib/ids";
import { sessionFor, waitForJob } from "../fixtures";
import { client, env, ok } from "../helpers";

export type Resource =
  | "users"
  | "api_keys"
  | "contacts"
  | "lists"
  | "stages"
  | "schedules"
  | "sequences"
  | "steps"
  | "variants"
  | "enrollments"
  | "mailboxes"
  | "messages"
  | "tasks"
  | "jobs"
  | "workflows"
  | "imports"
  | "people"
  | "teams"
  | "replies"
  | "invites"
  | "suppressions"
  | "webhook_subscriptions"
  | "email_templates";

export type TeamName = "demo" | "rival";

export interface Caller {
  name: "admin" | "member" | "standard_key" | "master_key" | "foreign_admin";
  team: TeamName;
  /** Request headers that authenticate (and, for sessions, pass CSRF). */
  headers: Record<string, string>;
  via: "session" | "api_key";
  userId: string;
  /**
   * For the member: standard keys that must never do more than the member: one the member made, and
   * one an admin who owns nothing made (a standard key acts as a member, not with its maker's admin rights).
   */
  weakerKeys?: { name: string; headers: Record<string, string> }[];
}

/** Ids of one team, by resource; children keyed by their parent (steps by sequence, …). */
export interface TeamPool {
  teamId: string;
  ids: Record<Resource, string[]>;
  stepsBySequence: Map<string, string[]>;
  variantsByStep: Map<string, string[]>;
  enrollmentsBySequence: Map<string, string[]>;
  listNames: string[];
}

export interface World {
  pools: Record<TeamName, TeamPool>;
  /** Every team-owned id, to spot another team's rows in an answer. */
  idsOfTeam: Record<TeamName, Set<string>>;
  /**
   * Ids of the shared prospect database. The seed's enrollment ids (tag 0x10) spell the same strings
   * as people ids, so an id that is also a person's can't be told apart in an answer: skipped.
   */
  sharedIds: Set<string>;
}

/** Each resource's table, and the column that names a row in a path when it is not `id`. */
const TEAM_TABLES: [Resource, string, string?][] = [
  ["users", "users"],
  ["api_keys", "api_keys"],
  ["contacts", "contacts"],
  ["lists", "lists"],
  ["stages", "contact_stages"],
  ["schedules", "schedules"],
  ["sequences", "sequences"],
  ["steps", "steps"],
  ["variants", "step_variants"],
  ["enrollments", "enrollments"],
  ["mailboxes", "mailboxes"],
  ["messages", "messages"],
  ["tasks", "tasks"],
  ["jobs", "jobs"],
  ["workflows", "workflows"],
  ["imports", "imports"],
  ["replies", "inbound_messages"],
  ["invites", "invites"],
  ["suppressions", "suppressions", "email"],
  ["webhook_subscriptions", "webhook_subscriptions"],
  ["email_templates", "email_templates"],
];

/** A raw read of the walk's own (columns by name: ids, names, counts). */
const q = async <T = Record<string, unknown>>(sql: string, ...binds: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...binds)
      .all<T>()
  ).results;

/** An admin of Demo who owns nothing and is shared nothing: as a member, it could do no more than Riley. */
export const BARE_ADMIN = "dd0000000000000000000b01";

/** Ids of the rows the walk adds itself (fixed, so a run picks the same rows every time). */
const FIXED = {
  rivalMessage: "dd0000000000000000000a01",
  rivalTask: "dd0000000000000000000a02",
  hiddenJob: "dd0000000000000000000a03",
  hiddenWorkflow: "dd0000000000000000000a04",
  hiddenMessage: "dd0000000000000000000a05",
  rivalReply: "dd0000000000000000000a06",
  hiddenReply: "dd0000000000000000000a07",
  demoInvite: "dd0000000000000000000a08",
  rivalInvite: "dd0000000000000000000a09",
  demoWebhook: "dd0000000000000000000a0a",
  rivalWebhook: "dd0000000000000000000a0b",
  rivalSuppression: "dd0000000000000000000a10",
  demoTemplate: "dd0000000000000000000a11",
  hiddenTemplate: "dd0000000000000000000a12",
  rivalTemplate: "dd0000000000000000000a13",
};

/** An inbound reply (the replies inbox) to the email `messageId`. */
const inboundReply = (id: string, teamId: string, seq: string, enr: Record<string, unknown>, messageId: string, t: number) =>
  env.DB.prepare(
    "INSERT OR IGNORE INTO inbound_messages (id, team_id, sequence_id, enrollment_id, contact_id, message_id, header_id, from_email, subject, snippet, detected, classification, evidence, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'prospect@reply.test', 'Re: hello', 'Sounds good', 'reply', 'reply', '{\"rule\":\"threaded_reply\"}', ?)",
  ).bind(id, teamId, seq, enr.id, enr.contact_id, messageId, `<${id}@reply.test>`, t);

/** Rival (the foreign team) gets one of everything Demo has, so every kind of foreign id exists. */
async function completeRival(): Promise<void> {
  const rival = await sessionFor(DEMO.rival, DEMO.rivalAdmin);
  const seq = (await q("SELECT id FROM sequences WHERE team_id = ? LIMIT 1", DEMO.rival))[0]!.id as string;
  const contacts = (await q("SELECT id FROM contacts WHERE team_id = ? ORDER BY id LIMIT 5", DEMO.rival)).map((r) => r.id as string);
  const api = client(rival).api;
  const { job } = await ok(
    api.sequences[":id"]["add-contacts"].$post({
      param: { id: seq },
      header: {},
      json: { source: { contact_ids: contacts }, overrides: { unverified_email: true, no_email: true, job_change: true } },
    }),
    202,
  );
  await waitForJob(job.id);
  await ok(api.workflows.$post({ json: { name: "Rival workflow", sequence_id: seq, filters: { titles: ["CEO"] } } }), 201);
  const enr = (await q("SELECT * FROM enrollments WHERE team_id = ? LIMIT 1", DEMO.rival))[0];
  const step = (await q("SELECT id FROM steps WHERE sequence_id = ? ORDER BY position LIMIT 1", seq))[0]!.id as string;
  const mailbox = (await q("SELECT id FROM mailboxes WHERE team_id = ? LIMIT 1", DEMO.rival))[0]!.id as string;
  if (enr) {
    const t = Date.now();
    await env.DB.batch([
      env.DB.prepare(
        "INSERT OR IGNORE INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, raw, status, sent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x@rival-contact.test', 'Rival subject', 'Rival body', ?, 'Subject: Rival', 'sent', ?, ?)",
      ).bind(FIXED.rivalMessage, DEMO.rival, enr.id, seq, step, mailbox, enr.contact_id, `<${FIXED.rivalMessage}@rival.test>`, t, t),
      env.DB.prepare(
        "INSERT INTO tasks (id, team_id, enrollment_id, sequence_id, step_id, contact_id, assignee_id, type, note, due_at, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'call', 'Rival task', ?, 'open', ?)",
      ).bind(FIXED.rivalTask, DEMO.rival, enr.id, seq, step, enr.contact_id, DEMO.rivalAdmin, t, t),
      inboundReply(FIXED.rivalReply, DEMO.rival, seq, enr, FIXED.rivalMessage, t),
    ]);
  }
  // A suppressed address of Rival's (the seed gives only Demo some): the Do not email routes get a foreign one.
  await env.DB.prepare(
    "INSERT OR IGNORE INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, 'opted-out@rival-contact.test', 'bounced', 'dsn', ?)",
  )
    .bind(FIXED.rivalSuppression, DEMO.rival, Date.now())
    .run();
}

/**
 * Sam's (rep2's) sequence is shared with nobody: give it a job, a workflow and a sent email, so a
 * member (Riley) and a standard key have something of each kind that they must not see.
 */
async function completeHidden(): Promise<void> {
  const seq = (await q("SELECT id FROM sequences WHERE team_id = ? AND owner_id = ? LIMIT 1", DEMO.team, DEMO.rep2))[0]?.id as
    string | undefined;
  if (!seq) throw new Error("the demo seed has no sequence of rep2's");
  const t = Date.now();
  const enr = (await q("SELECT * FROM enrollments WHERE sequence_id = ? LIMIT 1", seq))[0];
  const step = (await q("SELECT id FROM steps WHERE sequence_id = ? ORDER BY position LIMIT 1", seq))[0]?.id as string;
  const mailbox = (await q("SELECT id FROM mailboxes WHERE team_id = ? LIMIT 1", DEMO.team))[0]!.id as string;
  const stmts = [
    env.DB.prepare(
      "INSERT INTO jobs (id, team_id, user_id, kind, sequence_id, source, options, status, total, processed, created_at, finished_at) VALUES (?, ?, ?, 'add_contacts', ?, '{}', '{}', 'completed', 0, 0, ?, ?)",
    ).bind(FIXED.hiddenJob, DEMO.team, DEMO.rep2, seq, t, t),
    env.DB.prepare(
      "INSERT INTO workflows (id, team_id, owner_id, name, sequence_id, filters, options, interval_minutes, max_per_run, active, created_at) VALUES (?, ?, ?, 'Sam''s workflow', ?, '{\"titles\":[\"CEO\"]}', '{}', 1440, 10, 0, ?)",
    ).bind(FIXED.hiddenWorkflow, DEMO.team, DEMO.rep2, seq, t),
  ];
  if (enr && step) {
    stmts.push(
      env.DB.prepare(
        "INSERT OR IGNORE INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, raw, status, sent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'hidden@contact.test', 'Hidden subject', 'Hidden body', ?, 'Subject: Hidden', 'sent', ?, ?)",
      ).bind(FIXED.hiddenMessage, DEMO.team, enr.id, seq, step, mailbox, enr.contact_id, `<${FIXED.hiddenMessage}@demo.test>`, t, t),
    );
    stmts.push(inboundReply(FIXED.hiddenReply, DEMO.team, seq, enr, FIXED.hiddenMessage, t));
  }
  // A pending invitation in each team (the seed has none): the invite routes get ids of both teams.
  for (const [id, team, by] of [
    [FIXED.demoInvite, DEMO.team, DEMO.admin],
    [FIXED.rivalInvite, DEMO.rival, DEMO.rivalAdmin],
  ] as const)
    stmts.push(
      env.DB.prepare(
        "INSERT OR IGNORE INTO invites (id, team_id, email, role, invited_by, token_hash, created_at, expires_at) VALUES (?, ?, ?, 'member', ?, ?, ?, ?)",
      ).bind(id, team, `invitee-${id}@walk.test`, by, `rw-token-hash-${id}`, t, t + 7 * 86_400_000),
    );
  // An outgoing webhook subscription in each team (the seed has none): its routes get ids of both teams.
  for (const [id, team, by] of [
    [FIXED.demoWebhook, DEMO.team, DEMO.admin],
    [FIXED.rivalWebhook, DEMO.rival, DEMO.rivalAdmin],
  ] as const)
    stmts.push(
      env.DB.prepare(
        "INSERT OR IGNORE INTO webhook_subscriptions (id, team_id, url, events, enabled, sealed_secret, hint, created_by, created_at, updated_at) VALUES (?, ?, ?, '[\"run.finished\"]', 1, 'not.sealed', 'whsec_walk', ?, ?, ?)",
      ).bind(id, team, `https://hooks.example.com/${id}`, by, t, t),
    );
  // Email templates (the seed has none): a shared one in each team, and Sam's private one that Riley must not see.
  for (const [id, team, by, shared] of [
    [FIXED.demoTemplate, DEMO.team, DEMO.admin, 1],
    [FIXED.hiddenTemplate, DEMO.team, DEMO.rep2, 0],
    [FIXED.rivalTemplate, DEMO.rival, DEMO.rivalAdmin, 1],
  ] as const)
    stmts.push(
      env.DB.prepare(
        "INSERT OR IGNORE INTO email_templates (id, team_id, owner_id, name, subject, body, shared, created_at, updated_at) VALUES (?, ?, ?, ?, 'Hi {{first_name}}', 'Hello', ?, ?, ?)",
      ).bind(id, team, by, `Template ${id}`, shared, t, t),
    );
  await env.DB.batch(stmts);
}

async function poolOf(teamId: string): Promise<TeamPool> {
  const ids = {} as Record<Resource, string[]>;
  // Insertion order (rowid), the same on every run: ids the Worker makes are random, so ordering by id would reshuffle picks.
  for (const [res, table, column] of TEAM_TABLES)
    ids[res] = (await q(`SELECT ${column ?? "id"} AS id FROM ${table} WHERE team_id = ? ORDER BY rowid`, teamId)).map(
      (r) => r.id as string,
    );
  ids.people = (await q("SELECT id FROM people ORDER BY id LIMIT 200")).map((r) => r.id as string);
  ids.teams = [teamId];
  const group = (rows: Record<string, unknown>[], key: string) => {
    const m = new Map<string, string[]>();
    for (const r of rows) m.set(r[key] as string, [...(m.get(r[key] as string) ?? []), r.id as string]);
    return m;
  };
  return {
    teamId,
    ids,
    stepsBySequence: group(await q("SELECT id, sequence_id FROM steps WHERE team_id = ? ORDER BY position", teamId), "sequence_id"),
    variantsByStep: group(await q("SELECT id, step_id FROM step_variants WHERE team_id = ?", teamId), "step_id"),
    enrollmentsBySequence: group(await q("SELECT id, sequence_id FROM enrollments WHERE team_id = ?", teamId), "sequence_id"),
    listNames: (await q("SELECT name FROM lists WHERE team_id = ?", teamId)).map((r) => r.name as string),
  };
}

export async function buildWorld(): Promise<World> {
  await completeRival();
  await completeHidden();
  await env.DB.prepare(
    "INSERT OR IGNORE INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, 'bare-admin@demo.test', 'Bare Admin', 'admin', 'x', 0)",
  )
    .bind(BARE_ADMIN, DEMO.team)
    .run();
  const pools = { demo: await poolOf(DEMO.team), rival: await poolOf(DEMO.rival) };
  // The bare admin must keep owning nothing (the walk hands sequences to users of the pool).
  pools.demo.ids.users = pools.demo.ids.users.filter((u) => u !== BARE_ADMIN);
  const idsOfTeam = { demo: new Set<string>(), rival: new Set<string>() };
  for (const t of ["demo", "rival"] as const) {
    for (const [res, list] of Object.entries(pools[t].ids))
      if (res !== "people" && res !== "teams") for (const id of list) idsOfTeam[t].add(id);
    idsOfTeam[t].add(pools[t].teamId);
  }
  await installChangeLog();
  const sharedIds = new Set((await q("SELECT id FROM people")).map((r) => r.id as string));
  return { pools, idsOfTeam, sharedIds };
}

/**
 * What a member (or a standard key, which acts as a member for its creator) must not see: sequences
 * it neither owns nor has been shared, and everything that belongs to them. Read fresh per probe,
 * since the walk itself shares, clones and hands over sequences.
 */
export async function hiddenFrom(teamId: string, userId: string): Promise<Map<Resource, Set<string>>> {
  // A task assigned to the user shows its sequence's id by design (its own work), so such a sequence's id isn't a leak.
  const hidden = `SELECT s.id FROM sequences s WHERE s.team_id = ?1 AND s.owner_id IS NOT ?2
    AND NOT EXISTS (SELECT 1 FROM sequence_shares x WHERE x.sequence_id = s.id AND x.user_id = ?2)
    AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.sequence_id = s.id AND t.assignee_id = ?2)`;
  // In insertion order (rowid), so picks are the same on every run.
  // One statement per resource: D1 allows only a few terms in a compound SELECT.
  const parts: [Resource, string][] = [
    ["sequences", `${hidden} ORDER BY s.rowid`],
    ["steps", `SELECT id FROM steps WHERE sequence_id IN (${hidden}) ORDER BY rowid`],
    ["variants", `SELECT id FROM step_variants WHERE step_id IN (SELECT id FROM steps WHERE sequence_id IN (${hidden}))`],
    ["enrollments", `SELECT id FROM enrollments WHERE sequence_id IN (${hidden}) ORDER BY rowid`],
    ["messages", `SELECT id FROM messages WHERE sequence_id IN (${hidden}) ORDER BY rowid`],
    ["replies", `SELECT id FROM inbound_messages WHERE sequence_id IN (${hidden}) ORDER BY rowid`],
    ["jobs", `SELECT id FROM jobs WHERE sequence_id IN (${hidden}) ORDER BY rowid`],
    ["workflows", `SELECT id FROM workflows WHERE sequence_id IN (${hidden}) ORDER BY rowid`],
    ["tasks", `SELECT id FROM tasks WHERE sequence_id IN (${hidden}) AND assignee_id <> ?2`],
    // Another user's private email template (shared ones and one's own are seen).
    ["email_templates", "SELECT id FROM email_templates WHERE team_id = ?1 AND shared = 0 AND owner_id <> ?2 ORDER BY rowid"],
  ];
  const results = await env.DB.batch<{ id: string }>(parts.map(([, sql]) => env.DB.prepare(sql).bind(teamId, userId)));
  return new Map(parts.map(([res], i) => [res, new Set(results[i]!.results.map((r) => r.id))]));
}

/** A fresh API key of a team (one per route, so per-key rate limits never shape the walk). */
async function freshKey(teamId: string, userId: string, kind: "master" | "standard"): Promise<{ key: string; id: string }> {
  const { sha256Hex } = await import("../../worker/lib/crypto");
  const key = `rw-${kind}-${newId()}`;
  const id = newId();
  await env.DB.prepare(
    "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
  )
    .bind(id, teamId, userId, `route walk ${kind}`, kind, await sha256Hex(key), key.slice(0, 9))
    .run();
  return { key, id };
}

const sessionHeaders = (s: { cookie: string; csrf: string }) => ({ cookie: s.cookie, "x-csrf-token": s.csrf });

/** The five callers, freshly signed in (new sessions and keys each time: a route may sign out or revoke). */
export async function signIn(): Promise<Caller[]> {
  // PATCH /users/{id} may have demoted or disabled a caller (the walk's admin may demote itself while the
  // bare admin stays one): every route starts with the seeded roles, everyone enabled.
  await env.DB.batch([
    env.DB.prepare("UPDATE users SET disabled_at = NULL WHERE team_id IN (?, ?)").bind(DEMO.team, DEMO.rival),
    env.DB.prepare("UPDATE users SET role = 'admin' WHERE id IN (?, ?, ?)").bind(DEMO.admin, DEMO.rivalAdmin, BARE_ADMIN),
    env.DB.prepare("UPDATE users SET role = 'member' WHERE id IN (?, ?)").bind(DEMO.rep1, DEMO.rep2),
  ]);
  const admin = await sessionFor(DEMO.team, DEMO.admin);
  const member = await sessionFor(DEMO.team, DEMO.rep1);
  const rival = await sessionFor(DEMO.rival, DEMO.rivalAdmin);
  // Keys made by the admin, as in the probe: a standard key must still act as a member.
  const standard = await freshKey(DEMO.team, DEMO.admin, "standard");
  const master = await freshKey(DEMO.team, DEMO.admin, "master");
  const membersKey = await freshKey(DEMO.team, DEMO.rep1, "standard");
  const bareAdminsKey = await freshKey(DEMO.team, BARE_ADMIN, "standard");
  return [
    { name: "admin", team: "demo", headers: sessionHeaders(admin), via: "session", userId: DEMO.admin },
    {
      name: "member",
      team: "demo",
      headers: sessionHeaders(member),
      via: "session",
      userId: DEMO.rep1,
      weakerKeys: [
        { name: "member's standard key", headers: { "x-api-key": membersKey.key } },
        { name: "standard key of an admin who owns nothing", headers: { "x-api-key": bareAdminsKey.key } },
      ],
    },
    { name: "standard_key", team: "demo", headers: { "x-api-key": standard.key }, via: "api_key", userId: DEMO.admin },
    { name: "master_key", team: "demo", headers: { "x-api-key": master.key }, via: "api_key", userId: DEMO.admin },
    { name: "foreign_admin", team: "rival", headers: sessionHeaders(rival), via: "session", userId: DEMO.rivalAdmin },
  ];
}

// ---- D1 change log ---------------------------------------------------------------------------

/**
 * Columns whose writes are bookkeeping, not data a refused caller could see: when a key was last
 * used (written by waitUntil after every keyed request), failed sign-in attempts (the throttle).
 */
const IGNORED: Record<string, string[] | "all"> = { api_keys: ["last_used_at"], login_attempts: "all" };

export interface Change {
  seq: number;
  tbl: string;
  op: string;
  team: string | null;
}

async function installChangeLog(): Promise<void> {
  await env.DB.prepare(
    "CREATE TABLE IF NOT EXISTS rw_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, op TEXT NOT NULL, team TEXT)",
  ).run();
  const all = await q<{ name: string; sql: string }>(
    "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' AND name <> 'rw_changes'",
  );
  // Full-text indexes are virtual tables (and their shadow tables): written only alongside their base table.
  const virtual = all.filter((t) => /^CREATE VIRTUAL/i.test(t.sql)).map((t) => t.name);
  const tables = all.map((t) => t.name).filter((n) => !virtual.some((v) => n === v || n.startsWith(`${v}_`)));
  const stmts: D1PreparedStatement[] = [];
  for (const t of tables) {
    const ignored = IGNORED[t];
    if (ignored === "all") continue;
    const cols = (await q(`SELECT name FROM pragma_table_info('${t}')`)).map((r) => r.name as string);
    const team = (row: "NEW" | "OLD") => (t === "teams" ? `${row}.id` : cols.includes("team_id") ? `${row}.team_id` : "NULL");
    // An Idempotency-Key is claimed (status 0) before its request runs and the claim is dropped when the
    // request is refused: bookkeeping. A stored answer (status set) is what a refused caller must never leave.
    const when = (row: "NEW" | "OLD") => (t === "idempotency_keys" ? ` WHEN ${row}.status <> 0` : "");
    const watched = cols
      .filter((c) => !(ignored ?? []).includes(c))
      .map((c) => `"${c}"`)
      .join(", ");
    stmts.push(
      env.DB.prepare(
        `CREATE TRIGGER IF NOT EXISTS rw_${t}_i AFTER INSERT ON "${t}"${when("NEW")} BEGIN INSERT INTO rw_changes (tbl, op, team) VALUES ('${t}', 'insert', ${team("NEW")}); END`,
      ),
      env.DB.prepare(
        `CREATE TRIGGER IF NOT EXISTS rw_${t}_u AFTER UPDATE OF ${watched} ON "${t}"${when("NEW")} BEGIN INSERT INTO rw_changes (tbl, op, team) VALUES ('${t}', 'update', ${team("NEW")}); END`,
      ),
      env.DB.prepare(
        `CREATE TRIGGER IF NOT EXISTS rw_${t}_d AFTER DELETE ON "${t}"${when("OLD")} BEGIN INSERT INTO rw_changes (tbl, op, team) VALUES ('${t}', 'delete', ${team("OLD")}); END`,
      ),
    );
  }
  await env.DB.batch(stmts);
}

export async function changeMark(): Promise<number> {
  return (await env.DB.prepare("SELECT coalesce(max(seq), 0) AS m FROM rw_changes").first<{ m: number }>())!.m;
}

export async function changesSince(mark: number): Promise<Change[]> {
  return q<Change>("SELECT seq, tbl, op, team FROM rw_changes WHERE seq > ? ORDER BY seq", mark);
}

/**
 * Waits until no add-contacts job is queued or running and D1 has gone quiet (a Durable Object alarm
 * a write armed may still be writing), so background writes land before the next probe is judged.
 */
export async function settle(timeoutMs = 15_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const busy = await env.DB.prepare("SELECT id FROM jobs WHERE status IN ('queued', 'running') LIMIT 1").first<{ id: string }>();
    if (!busy) break;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  let last = await changeMark();
  for (let quiet = 0; quiet < 2 && Date.now() < until;) {
    await new Promise((r) => setTimeout(r, 40));
    const m = await changeMark();
    quiet = m === last ? quiet + 1 : 0;
    last = m;
  }
  return true;
}
