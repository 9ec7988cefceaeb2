import { bulkInsertStatements, type Row } from "../../db/bulk";
import type { Env } from "../../env";
import { now } from "../../lib/clock";
import { sha256Hex } from "../../lib/crypto";
import type { QueueMessage } from "../../queue/messages";
import { decodeField, parsePart, type Delimiter, type Encoding } from "./csv";
import type { ImportRow, ImportSettings } from "./imports";
import { cleanHeaders, mapRow, rowKey, type MappedRow, type Mapping } from "./mapping";

// Saving an import's contacts, one part (a byte range of the file in R2, at most PART_ROWS rows) per
// queue message. Parts run one after the other: each one's writes and the import's progress are one
// D1 batch, guarded by `parts_done`, so a redelivered part does nothing twice.

const idFrom = async (...parts: (string | number)[]) => (await sha256Hex(parts.join(":"))).slice(0, 24);
const UPDATABLE = ["first_name", "last_name", "title", "company", "domain", "industry", "city", "country", "time_zone", "phone", "linkedin_url"] as const;

type Outcome = { row: number; key: string | null; contactId: string | null; outcome: "created" | "updated" | "matched" | "error" | "duplicate"; column: string | null; value: string | null; reason: string | null };

export async function savePart(env: Env, msg: Extract<QueueMessage, { kind: "import_part" }>) {
  const imp = await env.DB.prepare("SELECT * FROM imports WHERE id = ?").bind(msg.importId).first<ImportRow>();
  if (!imp || imp.status !== "saving" || imp.parts_done !== msg.part) return; // done already, or not saving
  const obj = await env.IMPORTS.get(imp.r2_key, { range: { offset: msg.from, length: msg.to - msg.from } });
  if (!obj) {
    await env.DB.prepare("UPDATE imports SET status = 'failed', error = ?, updated_at = ? WHERE id = ?").bind("The uploaded file is no longer stored; upload it again", now(), imp.id).run();
    return;
  }
  const records = parsePart(new Uint8Array(await obj.arrayBuffer()), imp.delimiter as Delimiter);
  const encoding = imp.encoding as Encoding;
  const { headers } = cleanHeaders((JSON.parse(imp.raw_headers) as string[]).map((h) => decodeField(h, encoding) ?? h));
  const mapping = JSON.parse(imp.mapping) as Mapping;
  const settings = JSON.parse(imp.settings) as ImportSettings;
  const t = now();

  // Rows as they will be saved, or the reason they won't be.
  const out: Outcome[] = [];
  const good: { n: number; row: MappedRow; key: string }[] = [];
  records.forEach((cells, i) => {
    const n = msg.row + i;
    if (cells.every((c) => c.trim() === "")) return; // a blank row (counted at upload)
    const fail = (column: string | null, value: string | null, reason: string) => out.push({ row: n, key: null, contactId: null, outcome: "error", column, value: value?.slice(0, 500) ?? null, reason });
    const extra = cells.slice(headers.length).filter((c) => c.trim() !== "");
    if (extra.length) return fail(null, null, `This row has ${cells.length} values but the header has ${headers.length} columns (an unquoted delimiter inside a value?)`);
    const decoded = cells.map((c) => decodeField(c, encoding));
    const bad = decoded.findIndex((c) => c === null);
    if (bad >= 0) return fail(headers[bad] ?? null, null, "Not valid UTF-8 text: choose the Windows-1252 encoding, or save the file as CSV UTF-8");
    const m = mapRow(decoded as string[], headers, mapping);
    if ("problem" in m) return fail(m.problem.column || null, m.problem.value || null, m.problem.reason);
    good.push({ n, row: m.row, key: rowKey(m.row) });
  });

  // Duplicates inside the file: the first row of a key wins (earlier parts are already in import_rows).
  const keys = [...new Set(good.map((g) => g.key))];
  const earlier = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 1000) {
    const { results } = await env.DB.prepare("SELECT key, min(row) AS row FROM import_rows WHERE import_id = ? AND outcome IN ('created','updated','matched') AND key IN (SELECT value FROM json_each(?)) GROUP BY key")
      .bind(imp.id, JSON.stringify(keys.slice(i, i + 1000)))
      .all<{ key: string; row: number }>();
    for (const r of results) earlier.set(r.key, r.row);
  }
  const unique: typeof good = [];
  for (const g of good) {
    const first = earlier.get(g.key);
    if (first !== undefined) out.push({ row: g.n, key: g.key, contactId: null, outcome: "duplicate", column: null, value: g.row.email ?? `${g.row.first_name} ${g.row.last_name}`, reason: `Same contact as row ${first}` });
    else {
      earlier.set(g.key, g.n);
      unique.push(g);
    }
  }

  // The team's contacts with these emails (the oldest one when several share an address).
  const emails = unique.flatMap((g) => (g.row.email ? [g.row.email] : []));
  const existing = new Map<string, Record<string, any>>();
  for (let i = 0; i < emails.length; i += 1000) {
    const { results } = await env.DB.prepare(`SELECT id, email, ${UPDATABLE.join(", ")} FROM contacts WHERE team_id = ? AND deleted_at IS NULL AND email IN (SELECT value FROM json_each(?)) ORDER BY created_at DESC`)
      .bind(imp.team_id, JSON.stringify(emails.slice(i, i + 1000)))
      .all<Record<string, any>>();
    for (const r of results) existing.set(String(r.email).toLowerCase(), r);
  }
  const ownerEmails = [...new Set(unique.flatMap((g) => (g.row.owner_email ? [g.row.owner_email] : [])))];
  const owners = new Map<string, string>();
  if (ownerEmails.length) {
    const { results } = await env.DB.prepare("SELECT id, lower(email) AS email FROM users WHERE team_id = ? AND lower(email) IN (SELECT value FROM json_each(?))").bind(imp.team_id, JSON.stringify(ownerEmails)).all<{ id: string; email: string }>();
    for (const r of results) owners.set(r.email, r.id);
  }
  const stage = await env.DB.prepare("SELECT id FROM contact_stages WHERE team_id = ? AND category = 'open' ORDER BY position LIMIT 1").bind(imp.team_id).first<{ id: string }>();

  const inserts: Row[] = [];
  const updates: Row[] = [];
  for (const g of unique) {
    const r = g.row;
    const found = r.email ? existing.get(r.email) : undefined;
    if (found) {
      const next = UPDATABLE.map((f) => {
        const mine = found[f] as string | null;
        const theirs = r[f];
        if (settings.match === "leave" || !theirs) return mine;
        return settings.match === "overwrite" || !mine ? theirs : mine;
      });
      const changed = next.some((v, i) => v !== found[UPDATABLE[i]!]);
      if (changed) updates.push([found.id, ...next]);
      out.push({ row: g.n, key: g.key, contactId: found.id, outcome: changed ? "updated" : "matched", column: null, value: null, reason: null });
      continue;
    }
    const id = await idFrom("import", imp.id, g.n);
    const owner = (r.owner_email && owners.get(r.owner_email)) || settings.owner_id || imp.user_id;
    inserts.push([
      id, imp.team_id, owner, stage?.id ?? null, r.first_name, r.last_name, r.title, r.company, r.domain, r.industry, r.city, r.country, r.time_zone,
      r.email, r.email ? "unverified" : "unavailable", r.phone, r.linkedin_url, 0, "csv", t, t,
    ]);
    out.push({ row: g.n, key: g.key, contactId: id, outcome: "created", column: null, value: null, reason: null });
  }

  const stmts: D1PreparedStatement[] = [
    ...bulkInsertStatements(env.DB, "contacts", [
      "id", "team_id", "owner_id", "stage_id", "first_name", "last_name", "title", "company", "domain", "industry", "city", "country", "time_zone",
      "email", "email_status", "phone", "linkedin_url", "score", "source", "created_at", "updated_at",
    ], inserts),
    ...bulkInsertStatements(env.DB, "import_rows", ["import_id", "row", "team_id", "key", "contact_id", "outcome", "column", "value", "reason"],
      out.map((o) => [imp.id, o.row, imp.team_id, o.key, o.contactId, o.outcome, o.column, o.value, o.reason])),
  ];
  if (updates.length) {
    const set = UPDATABLE.map((f, i) => `${f} = json_extract(j.value, '$[${i + 1}]')`).join(", ");
    for (let i = 0; i < updates.length; i += 2000) {
      stmts.push(env.DB.prepare(`UPDATE contacts SET ${set}, updated_at = ?2 FROM json_each(?1) AS j WHERE contacts.id = json_extract(j.value, '$[0]') AND contacts.team_id = ?3`)
        .bind(JSON.stringify(updates.slice(i, i + 2000)), t, imp.team_id));
    }
  }
  if (settings.list_id) {
    const members = out.filter((o) => o.contactId).map((o): Row => [settings.list_id, o.contactId, imp.team_id, t]);
    stmts.push(...bulkInsertStatements(env.DB, "list_members", ["list_id", "contact_id", "team_id", "added_at"], members));
  }
  const parts = JSON.parse(imp.parts) as unknown[];
  const last = msg.part + 1 >= parts.length;
  // Progress (and the end) in the same batch; the guard on parts_done makes a second run a no-op.
  stmts.push(env.DB.prepare(
    `UPDATE imports SET parts_done = ?2 + 1, status = CASE WHEN ?3 THEN 'ready' ELSE status END, updated_at = ?4,
       saved = (SELECT count(*) FROM import_rows WHERE import_id = ?1 AND outcome IN ('created','updated','matched')),
       created = (SELECT count(*) FROM import_rows WHERE import_id = ?1 AND outcome = 'created'),
       updated = (SELECT count(*) FROM import_rows WHERE import_id = ?1 AND outcome = 'updated'),
       failed = (SELECT count(*) FROM import_rows WHERE import_id = ?1 AND outcome IN ('error','duplicate'))
     WHERE id = ?1 AND parts_done = ?2 AND status = 'saving'`,
  ).bind(imp.id, msg.part, last ? 1 : 0, t));
  await env.DB.batch(stmts);
  if (!last) {
    const p = (parts as { from: number; to: number; row: number }[])[msg.part + 1]!;
    await env.JOBS.send({ kind: "import_part", importId: imp.id, part: msg.part + 1, from: p.from, to: p.to, row: p.row });
  }
}

/** A part that failed every retry: the import fails saying where; the rows saved so far stay. */
export async function failImport(env: Env, importId: string, part: number) {
  await env.DB.prepare("UPDATE imports SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND status = 'saving'")
    .bind(`Saving stopped at part ${part + 1}; save again to continue`, now(), importId)
    .run();
}
