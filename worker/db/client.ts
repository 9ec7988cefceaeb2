import { is, SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";

export type Db = ReturnType<typeof db>;

/** Drizzle over the D1 binding. Cheap to create; call per request. */
export function db(d1: D1Database) {
  return drizzle(d1, { schema });
}

const dialect = new SQLiteAsyncDialect();

/** A statement for `batchSql`: raw drizzle SQL, or a query builder (anything with `toSQL()`). */
export type BatchStatement = SQL | { toSQL(): { sql: string; params: unknown[] } };

/**
 * One D1 `batch()` (one transaction) of raw `sql` statements and query builders together, answering
 * D1's raw results; a list built at run time may be empty (nothing runs). drizzle's own `d.batch`
 * can't bind the parameters of a raw statement (`d.run(sql)` with values fails inside it) and wants a
 * non-empty tuple, so every batch whose statements are not a fixed list goes through here.
 */
export async function batchSql(d: Db, items: readonly BatchStatement[]): Promise<D1Result[]> {
  if (!items.length) return [];
  const stmts = items.map((q) => {
    const { sql: text, params } = is(q, SQL) ? dialect.sqlToQuery(q) : q.toSQL();
    return d.$client.prepare(text).bind(...params);
  });
  return d.$client.batch(stmts);
}
