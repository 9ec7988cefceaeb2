import { sql, type SQL, type SQLWrapper } from "drizzle-orm";

/**
 * Every `IN (...)` list goes through here. D1 allows 100 bound parameters per statement (local D1
 * enforces it too), so a list is never bound one parameter per value: it travels as ONE bound JSON
 * array that SQLite unpacks with json_each. D1 caps one value at 2 MB: a list that can grow past
 * LIST_CHUNK values (about 150 KB of ids) is run through `inChunks`, one statement per chunk.
 * (Multi-row inserts go through `bulkInsertSql` in ./bulk.ts, which packs rows the same way.)
 */
export const LIST_CHUNK = 5_000;

export type ListValue = string | number;

/** `values` split into runs of at most `size` (at least one run, so callers can always map over it). */
export function chunked<T>(values: readonly T[], size = LIST_CHUNK): T[][] {
  if (values.length <= size) return [values.slice()];
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/** The bound value for IN_LIST: one JSON array (lists that can outgrow LIST_CHUNK go through `inChunks`). */
export function listParam(values: readonly ListValue[]): string {
  return JSON.stringify(values);
}

/** Raw-SQL fragment: `col IN ${IN_LIST}` with `listParam(values)` bound at that `?`. */
export const IN_LIST = "(SELECT value FROM json_each(?))";

/** Drizzle condition `column IN (values)` with one bound parameter. */
export function inList(column: SQLWrapper, values: readonly ListValue[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${listParam(values)}))`;
}

/**
 * `+column` in SQL: the column still filters, but SQLite can't reach the rows through an index on it.
 * For rows given by id (`inList` on the id) alongside `team_id = ?` or `deleted_at IS NULL`: with some
 * statistics (sqlite_stat1) SQLite walked the team's index, or skip-scanned one on deleted_at, and tested
 * every row of the team against the list (test/api/id-list-plans; 7.4 million rows read in a
 * 100,000-contact add). The team is still checked on every row found.
 */
export const notIndexed = (column: SQLWrapper): SQL => sql`+${column}`;

/**
 * Drizzle condition: the rows of `teamId` among `ids`, reached by id (notIndexed on the team and, given
 * `deletedAt`, on the table's deleted_at for live rows only). Another team's id finds nothing.
 */
export function teamRowsById(
  table: { id: SQLWrapper; teamId: SQLWrapper },
  teamId: string,
  ids: readonly ListValue[],
  deletedAt?: SQLWrapper,
): SQL {
  const live = deletedAt ? [sql`${notIndexed(deletedAt)} IS NULL`] : [];
  return sql.join([sql`${notIndexed(table.teamId)} = ${teamId}`, ...live, inList(table.id, ids)], sql` AND `);
}

/** Runs `query` once per chunk of `values` (sequentially) and concatenates the rows. */
export async function inChunks<T extends ListValue, R>(values: readonly T[], query: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  if (!values.length) return [];
  const out: R[] = [];
  for (const chunk of chunked(values)) out.push(...(await query(chunk)));
  return out;
}
