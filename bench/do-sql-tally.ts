/**
 * BENCH_DO_SQL=1: what a benchmark's marked phase asked of the Durable Objects' own SQLite, statement by
 * statement (calls, and the rows read and written that each cursor counts), printed at the phase's end by
 * cpuMark. workerd freezes the clock while JavaScript runs, so no time per statement can be read inside the
 * isolate: rows are the measure (SQLite's counts: rows read include a json_each list's entries, rows written
 * include each index entry changed). It watches SqlStorage's prototype like the engine's tests, with no hook in the app.
 */
import { oneLine, watchStatements, type Counted } from "../test/engine/statements";

const cursors: [string, Counted][] = [];
const tally = new Map<string, { calls: number; read: number; written: number }>();
let restore: (() => void) | null = null;

/** Adds the kept cursors but the last `keep` (a statement's rows are counted as its cursor is read, right after exec). */
function settle(keep: number) {
  for (const [q, c] of cursors.splice(0, Math.max(0, cursors.length - keep))) {
    const key = oneLine(q).slice(0, 150);
    const t = tally.get(key) ?? { calls: 0, read: 0, written: 0 };
    t.calls++;
    t.read += c.rowsRead;
    t.written += c.rowsWritten;
    tally.set(key, t);
  }
}

/** The phase starts: every statement from now on is kept with its cursor. */
export async function startDoSqlTally() {
  cursors.length = 0;
  tally.clear();
  restore = await watchStatements((q, _b, c) => {
    cursors.push([q, c]);
    if (cursors.length > 10_000) settle(100);
  });
}

/** The phase ends: its statements, most rows first, as `bench do_sql_<phase>:` lines (`per`: a divisor, e.g. emails). */
export function printDoSqlTally(phase: string, per: number, top = 30) {
  restore?.();
  restore = null;
  settle(0);
  const rows = [...tally].sort((a, b) => b[1].read + b[1].written - (a[1].read + a[1].written));
  const sum = rows.reduce((s, [, t]) => ({ calls: s.calls + t.calls, read: s.read + t.read, written: s.written + t.written }), {
    calls: 0,
    read: 0,
    written: 0,
  });
  const f = (n: number) => (n / Math.max(1, per)).toFixed(2);
  console.log(
    `bench do_sql_${phase}: ${sum.calls} statements (${f(sum.calls)} each), ${sum.read} rows read (${f(sum.read)}), ${sum.written} written (${f(sum.written)})`,
  );
  for (const [text, t] of rows.slice(0, top))
    console.log(
      `bench do_sql_${phase}: ${t.calls} calls (${f(t.calls)}), ${t.read} read (${f(t.read)}), ${t.written} written (${f(t.written)}) :: ${text}`,
    );
}
