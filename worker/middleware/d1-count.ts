import type { MiddlewareHandler } from "hono";
import { db } from "../db/client";
import { isReadSql } from "../db/read-sql";
import type { AppEnv } from "../env";

/** What one request asked of D1: round trips (a statement run, or one `batch()`), rows read, the SQL. */
export interface D1Count {
  roundTrips: number;
  rowsRead: number;
  /** D1's `rows_written`: rows and index entries written, trigger bodies included. */
  rowsWritten: number;
  /** Each round trip's SQL, shortened ("batch of N" for a batch). */
  statements: string[];
  /** Every statement with its bound values, those inside a batch too (for EXPLAIN QUERY PLAN). */
  queries: { sql: string; params: unknown[] }[];
}

const short = (text: string) => text.replace(/\s+/g, " ").slice(0, 200);

/**
 * A D1 binding that counts what it is asked: one round trip per statement run (`first`, `all`, `raw`,
 * `run`) and per `batch()` or `exec()`, with D1's `rows_read`. `raw()` answers no meta: with
 * `rowsOfRaw` a read is run once more through `all()` to learn its rows (tests and `D1_COUNT` only; it doubles the work).
 */
export function countingD1(real: D1Database, opts: { rowsOfRaw?: boolean } = {}): { db: D1Database; count: D1Count; reset(): void } {
  const count: D1Count = { roundTrips: 0, rowsRead: 0, rowsWritten: 0, statements: [], queries: [] };
  const real_ = new WeakMap<object, { stmt: D1PreparedStatement; text: string; params: unknown[] }>();
  const seen = (text: string, rowsRead: number | undefined, rowsWritten = 0) => {
    count.roundTrips++;
    count.rowsRead += rowsRead ?? 0;
    count.rowsWritten += rowsWritten;
    count.statements.push(short(text));
  };
  const wrap = (stmt: D1PreparedStatement, text: string, params: unknown[] = []): D1PreparedStatement => {
    const ran = () => count.queries.push({ sql: text, params });
    const w = {
      bind: (...v: unknown[]) => wrap(stmt.bind(...v), text, v),
      first: async (col?: string) => {
        // Read through `all` (the same one round trip) for its meta.
        const r = await stmt.all<Record<string, unknown>>();
        ran();
        seen(text, r.meta.rows_read);
        const row = r.results[0] ?? null;
        return col === undefined ? row : row === null ? null : (row[col] ?? null);
      },
      all: async () => {
        const r = await stmt.all();
        ran();
        seen(text, r.meta.rows_read, r.meta.rows_written);
        return r;
      },
      run: async () => {
        const r = await stmt.run();
        ran();
        seen(text, r.meta.rows_read, r.meta.rows_written);
        return r;
      },
      raw: async (o?: { columnNames?: boolean }) => {
        const rows = o?.columnNames ? await stmt.raw({ columnNames: true }) : await stmt.raw();
        ran();
        seen(text, opts.rowsOfRaw && isReadSql(text) ? (await stmt.all()).meta.rows_read : 0);
        return rows;
      },
    };
    const s = w as unknown as D1PreparedStatement;
    real_.set(s, { stmt, text, params });
    return s;
  };
  const counted = {
    prepare: (text: string) => wrap(real.prepare(text), text),
    batch: async (stmts: D1PreparedStatement[]) => {
      const r = await real.batch(stmts.map((s) => real_.get(s)?.stmt ?? s));
      for (const s of stmts) {
        const q = real_.get(s);
        if (q) count.queries.push({ sql: q.text, params: q.params });
      }
      seen(
        `batch of ${stmts.length}`,
        r.reduce((n, x) => n + (x.meta?.rows_read ?? 0), 0),
        r.reduce((n, x) => n + (x.meta?.rows_written ?? 0), 0),
      );
      return r;
    },
    exec: async (text: string) => {
      const r = await real.exec(text);
      seen(text, 0);
      return r;
    },
    dump: () => real.dump(),
    withSession: () => counted,
  };
  return {
    db: counted as unknown as D1Database,
    count,
    reset() {
      count.roundTrips = 0;
      count.rowsRead = 0;
      count.rowsWritten = 0;
      count.statements = [];
      count.queries = [];
    },
  };
}

/**
 * Local benchmarking only (`D1_COUNT` set, as `npm run bench:load` does): the request's handle counts
 * its D1 round trips and rows read and answers them in `Server-Timing` (`d1;desc="trips=3 rows=120"`).
 * Only what goes through `c.var.db` is counted.
 */
export const countD1: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.env.D1_COUNT) return next();
  // drizzle reads a select through `raw()`, which answers no rows_read: read it once more for its rows
  // (the benchmark's D1 figures would otherwise miss every select outside a batch; it costs the app CPU,
  // so the CPU figures come from a run without D1_COUNT).
  const counted = countingD1(c.env.DB, { rowsOfRaw: true });
  c.set("db", db(counted.db));
  await next();
  c.res.headers.append("server-timing", `d1;desc="trips=${counted.count.roundTrips} rows=${counted.count.rowsRead}"`);
};
