import { sql, type SQL } from "drizzle-orm";

/**
 * Bulk writes within D1's limits (100 bound parameters and 100 KB per statement): the rows travel as
 * ONE bound JSON parameter and SQLite unpacks them with json_each, so a statement carries thousands
 * of rows. Each call is one `batch()`, D1's only transaction.
 */
const MAX_JSON_CHARS = 900_000;

export type Row = readonly (string | number | boolean | null)[];

export function bulkInsertStatements(
  d1: D1Database,
  table: string,
  columns: readonly string[],
  rows: readonly Row[],
  mode: "" | "OR IGNORE" | "OR REPLACE" = "OR IGNORE",
  /** e.g. an `ON CONFLICT(...) DO UPDATE ...` upsert clause. */
  onConflict = "",
): D1PreparedStatement[] {
  const select = columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ");
  // "WHERE true" lets SQLite parse an upsert clause after INSERT ... SELECT.
  const sql = `INSERT ${mode} INTO ${table} (${columns.join(", ")}) SELECT ${select} FROM json_each(?1) WHERE true ${onConflict}`;
  const out: D1PreparedStatement[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const r of rows) {
    const j = JSON.stringify(r.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v)));
    if (size + j.length > MAX_JSON_CHARS && chunk.length) {
      out.push(d1.prepare(sql).bind(`[${chunk.join(",")}]`));
      chunk = [];
      size = 0;
    }
    chunk.push(j);
    size += j.length + 1;
  }
  if (chunk.length) out.push(d1.prepare(sql).bind(`[${chunk.join(",")}]`));
  return out;
}

export async function bulkInsert(
  d1: D1Database,
  table: string,
  columns: readonly string[],
  rows: readonly Row[],
  mode: "" | "OR IGNORE" | "OR REPLACE" = "OR IGNORE",
) {
  const stmts = bulkInsertStatements(d1, table, columns, rows, mode);
  if (stmts.length) await d1.batch(stmts);
}

/**
 * The same multi-row insert as drizzle SQL on the request's handle (run each with `d.run`, or put
 * `d.run(s)` in a `d.batch`): the rows travel as one bound JSON parameter per statement. `table` and
 * `columns` are identifiers written in code, never input.
 */
export function bulkInsertSql(
  table: string,
  columns: readonly string[],
  rows: readonly Row[],
  mode: "" | "OR IGNORE" | "OR REPLACE" = "OR IGNORE",
  /** e.g. `ON CONFLICT(...) DO UPDATE ...` (identifiers only). */
  onConflict = "",
): SQL[] {
  const select = columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ");
  const head = sql.raw(`INSERT ${mode} INTO ${table} (${columns.join(", ")}) SELECT ${select} FROM json_each(`);
  const tail = sql.raw(`) WHERE true ${onConflict}`);
  const out: SQL[] = [];
  for (const chunk of packRows(rows)) out.push(sql`${head}${chunk}${tail}`);
  return out;
}

/** Rows packed into JSON arrays of at most MAX_JSON_CHARS each. */
function packRows(rows: readonly Row[]): string[] {
  const out: string[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const r of rows) {
    const j = JSON.stringify(r.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v)));
    if (size + j.length > MAX_JSON_CHARS && chunk.length) {
      out.push(`[${chunk.join(",")}]`);
      chunk = [];
      size = 0;
    }
    chunk.push(j);
    size += j.length + 1;
  }
  if (chunk.length) out.push(`[${chunk.join(",")}]`);
  return out;
}
