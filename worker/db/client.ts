import { is, SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";

const handle = (d1: D1Database) => drizzle(d1, { schema });
export type Db = ReturnType<typeof handle>;

/**
 * Drizzle over a D1 binding, made once per binding per isolate: building it walks the whole schema
 * (its relational config), which was a measurable share of a small request's CPU when done per request.
 * The handle holds no request state, so every request and invocation of the isolate can share it.
 */
const handles = new WeakMap<D1Database, Db>();
export function db(d1: D1Database): Db {
  let h = handles.get(d1);
  if (!h) handles.set(d1, (h = handle(d1)));
  return h;
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

/** A write refused by a UNIQUE index (D1 words it in the error or, through drizzle, in its cause). */
export const isUniqueViolation = (err: unknown) => /UNIQUE/.test(String(err)) || (err instanceof Error && /UNIQUE/.test(String(err.cause)));
