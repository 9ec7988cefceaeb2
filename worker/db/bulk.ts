import { sql, type SQL } from "drizzle-orm";
import { batchSql, db } from "./client";

/**
 * Bulk writes within D1's limits (100 bound parameters and 100 KB per statement): the rows travel as
 * ONE bound JSON parameter and SQLite unpacks them with json_each, so a statement carries thousands
 * of rows. Each call is one `batch()`, D1's only transaction.
 */
const MAX_JSON_BYTES = 900_000;

export type Row = readonly (string | number | boolean | null)[];

/** Inserts `rows` in one batch (D1's only transaction), on a handle built for the call (test and benchmark setup). */
export async function bulkInsert(
  d1: D1Database,
  table: string,
  columns: readonly string[],
  rows: readonly Row[],
  mode: "" | "OR IGNORE" = "OR IGNORE",
) {
  await batchSql(db(d1), bulkInsertSql(table, columns, rows, mode));
}

/**
 * A multi-row insert as drizzle SQL statements for `batchSql` on the caller's handle: the rows travel
 * as one bound JSON parameter per statement. `table` and `columns` are identifiers written in code,
 * never input.
 */
export function bulkInsertSql(
  table: string,
  columns: readonly string[],
  rows: readonly Row[],
  // No OR REPLACE: the row it replaces goes without its DELETE triggers (SQLite fires them only with
  // recursive_triggers on), which would leave the counts kept by triggers wrong. Upsert instead.
  mode: "" | "OR IGNORE" = "OR IGNORE",
  /** e.g. `ON CONFLICT(...) DO UPDATE ...` (identifiers only). */
  onConflict = "",
  /**
   * Columns with one value for every row (a job's id, the team's): bound once per statement instead of
   * repeated in each row's JSON, which D1's client serializes and SQLite's json_extract parses per row.
   */
  same: Readonly<Record<string, string | number | null>> = {},
): SQL[] {
  return bulkInsertJsonSql(
    table,
    columns,
    rows.map((r) => JSON.stringify(r.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v)))),
    mode,
    onConflict,
    same,
  );
}

/**
 * The same with each row already a JSON array (`columns` in order), as SQLite's `json_array` writes
 * one: rows that come out of an object's storage travel without being parsed and written again here.
 */
export function bulkInsertJsonSql(
  table: string,
  columns: readonly string[],
  rows: readonly string[],
  mode: "" | "OR IGNORE" = "OR IGNORE",
  onConflict = "",
  same: Readonly<Record<string, string | number | null>> = {},
): SQL[] {
  const fixed = Object.entries(same);
  const select = sql.join(
    [...fixed.map(([, v]) => sql`${v}`), ...columns.map((_, i) => sql.raw(`json_extract(value, '$[${i}]')`))],
    sql.raw(", "),
  );
  const names = [...fixed.map(([k]) => k), ...columns].join(", ");
  const head = sql`INSERT ${sql.raw(mode)} INTO ${sql.raw(table)} (${sql.raw(names)}) SELECT ${select} FROM json_each(`;
  const tail = sql.raw(`) WHERE true ${onConflict}`);
  const out: SQL[] = [];
  for (const chunk of packRows(rows)) out.push(sql`${head}${chunk}${tail}`);
  return out;
}

const utf8 = new TextEncoder();
/** A JSON text's size as D1 counts it (UTF-8 bytes): a character outside ASCII takes 2 to 4. */
const bytesOf = (j: string) => (/[^\x00-\x7f]/.test(j) ? utf8.encode(j).length : j.length);

/**
 * JSON rows packed into JSON arrays of at most MAX_JSON_BYTES bytes each (D1 refuses a bound value over
 * 2 MB: counted in characters, a part of accented or CJK text went past it and failed every retry).
 */
export function packRows(rows: readonly string[]): string[] {
  const out: string[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const j of rows) {
    const n = bytesOf(j);
    if (size + n > MAX_JSON_BYTES && chunk.length) {
      out.push(`[${chunk.join(",")}]`);
      chunk = [];
      size = 0;
    }
    chunk.push(j);
    size += n + 1;
  }
  if (chunk.length) out.push(`[${chunk.join(",")}]`);
  return out;
}
