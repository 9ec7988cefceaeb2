import { AsyncLocalStorage } from "node:async_hooks";
import { isReadSql } from "./read-sql";

/**
 * A check a request's D1 answers depend on (who the caller is), sent in the SAME round trip as the
 * request's first read instead of one of its own: D1 runs a batch as one transaction, so the check
 * and the read see the same database. No answer of the request is handed on before the check has
 * passed; when it fails, every D1 call of the request throws and `runChecked` answers false.
 *
 * Only reads ride: a write (or a `raw()` read, whose columns a batch can't keep apart) waits for the
 * check on its own round trip first, as every call did before. A read sent alongside a check that
 * then fails has only been read, never answered.
 */
export interface RidingCheck {
  sql: string;
  params: unknown[];
  /** Whether the check's rows (its statement's results) let the request go on. */
  holds(rows: readonly Record<string, unknown>[]): boolean;
  /** Why it failed, in words (the message of the `CheckFailed` every D1 call of the request throws). */
  failure: string;
}

/**
 * What every D1 call of a request throws once its check failed. Not an `ApiError`, so a handler that
 * catches and handles its own API errors does not carry on past it; `lib/errors.ts` answers it as 401.
 */
export class CheckFailed extends Error {
  override name = "CheckFailed";
}

interface State {
  d1: D1Database;
  check: RidingCheck;
  settled: Promise<void> | null;
  /** The check ran and held (not merely: did not fail; a D1 error is neither). */
  held: boolean;
}

const current = new AsyncLocalStorage<State>();

function verdict(state: State, rows: readonly Record<string, unknown>[]) {
  if (!state.check.holds(rows)) throw new CheckFailed(state.check.failure);
  state.held = true;
}

/** Runs the check alone (one round trip), once per request; every later call waits on the same answer. */
function settle(state: State): Promise<void> {
  state.settled ??= state.d1
    .prepare(state.check.sql)
    .bind(...state.check.params)
    .all<Record<string, unknown>>()
    .then((r) => verdict(state, r.results));
  return state.settled;
}

/** Before a call that can't carry the check: the check, on its own round trip if nothing has carried it yet. */
async function settled(): Promise<void> {
  const state = current.getStore();
  if (state) await settle(state);
}

/**
 * Sends `stmts` (reads) with the check in front, in one batch, when no call of the request has
 * carried or run it yet; else waits for the check's answer and sends them as they came (`alone`).
 * Answers `stmts`' results.
 */
async function withCheck(real: D1Database, stmts: D1PreparedStatement[], alone: () => Promise<D1Result[]>): Promise<D1Result[]> {
  const state = current.getStore();
  if (!state || state.settled) {
    if (state) await state.settled;
    return alone();
  }
  const both = real.batch([state.d1.prepare(state.check.sql).bind(...state.check.params), ...stmts]);
  state.settled = both.then(
    ([check]) => verdict(state, check!.results as Record<string, unknown>[]),
    // The batch failed (one of the reads, say): nothing ran, so the check runs alone for whoever waits on
    // it, and this call throws the batch's own error below.
    () => ((state.settled = null), settle(state)),
  );
  await state.settled;
  return (await both).slice(1);
}

const riders = new WeakMap<D1Database, D1Database>();

/**
 * `real`, with the current request's check (`runChecked`) riding on its first read. Outside a
 * checked request it passes every call through. Made once per binding: drizzle's handle over it is
 * kept per isolate (db/client.ts) and the request's check is found through AsyncLocalStorage.
 */
export function riding(real: D1Database): D1Database {
  let r = riders.get(real);
  if (r) return r;
  const inner = new WeakMap<object, { stmt: D1PreparedStatement; read: boolean }>();
  const wrap = (stmt: D1PreparedStatement, read: boolean): D1PreparedStatement => {
    /** The statement's `all()`, the check riding with it when it is the request's first. */
    const riddenAll = async () => (await withCheck(real, [stmt], async () => [await stmt.all()]))[0]!;
    const w = {
      bind: (...v: unknown[]) => wrap(stmt.bind(...v), read),
      all: async () => (read ? riddenAll() : (await settled(), await stmt.all())),
      first: async (col?: string) => {
        if (!read) return (await settled(), col === undefined ? stmt.first() : stmt.first(col));
        const row = ((await riddenAll()).results[0] ?? null) as Record<string, unknown> | null;
        return col === undefined ? row : row === null ? null : (row[col] ?? null);
      },
      raw: async (o?: { columnNames?: boolean }) => (await settled(), o?.columnNames ? stmt.raw({ columnNames: true }) : stmt.raw()),
      run: async () => (await settled(), stmt.run()),
    };
    const s = w as unknown as D1PreparedStatement;
    inner.set(s, { stmt, read });
    return s;
  };
  r = {
    prepare: (text: string) => wrap(real.prepare(text), isReadSql(text)),
    batch: async (stmts: D1PreparedStatement[]) => {
      const parts = stmts.map((s) => inner.get(s) ?? { stmt: s, read: false });
      const reals = parts.map((p) => p.stmt);
      if (parts.every((p) => p.read)) return withCheck(real, reals, () => real.batch(reals));
      await settled();
      return real.batch(reals);
    },
    exec: async (text: string) => (await settled(), real.exec(text)),
    dump: () => real.dump(),
    withSession: () => r!,
  } as unknown as D1Database;
  riders.set(real, r);
  return r;
}

/**
 * Runs `fn` (the rest of the request) with `check` riding on its first D1 read through `riding(d1)`;
 * if `fn` made no D1 call, the check runs at the end. Answers whether the check held: when it did not
 * (it failed, or D1 could not answer it), what `fn` produced must be thrown away.
 */
export async function runChecked(d1: D1Database, check: RidingCheck, fn: () => Promise<void>): Promise<boolean> {
  const state: State = { d1, check, settled: null, held: false };
  let thrown: { error: unknown } | null = null;
  try {
    await current.run(state, fn);
  } catch (error) {
    thrown = { error };
  }
  try {
    await settle(state);
  } catch {
    // `held` says it; the failure was also thrown to whichever call waited on it.
  }
  // What `fn` threw is the request's only once the check held: under a failed one it is dropped too.
  if (thrown && state.held) throw thrown.error;
  return state.held;
}
