/**
 * BENCH_DO_SQL=1: what a benchmark's marked phase asked of the Durable Objects' own SQLite, statement by
 * statement (calls, and the rows read and written that each cursor counts), printed at the phase's end by
 * cpuMark. workerd freezes the clock while JavaScript runs, so no time per statement can be read inside the
 * isolate: rows are the measure (a row read or written is SQLite's unit of work; an index entry is not counted).
 * It patches SqlStorage's prototype, shared by every object in the isolate, with no hook in the app.
 */
import { runInDurableObject } from "cloudflare:test";
import { mailboxStub } from "../durable-objects/engine";
import { env } from "../test/helpers";

type Cursor = { rowsRead: number; rowsWritten: number };
type Exec = (q: string, ...b: unknown[]) => Cursor;

const cursors: [string, Cursor][] = [];
const tally = new Map<string, { calls: number; read: number; written: number }>();
let restore: (() => void) | null = null;
/**
 * Write turns: each JavaScript turn of an object that writes is one implicit transaction, committed when the turn
 * ends (a WAL write here, a replicated commit in production): counted as the first write of an object's storage
 * until a timer of 0 ms says the turn is over.
 */
let writeTurns = 0;
const inTurn = new WeakSet<object>();
const isWrite = (q: string) => !/^\s*(select|explain|pragma)\b/i.test(q);

/** Adds the kept cursors but the last `keep` (a statement's rows are counted as its cursor is read, right after exec). */
function settle(keep: number) {
  for (const [q, c] of cursors.splice(0, Math.max(0, cursors.length - keep))) {
    const key = q.replace(/\s+/g, " ").trim().slice(0, 150);
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
  writeTurns = 0;
  const sqlOf = await runInDurableObject(mailboxStub(env, "do-sql-tally-probe"), (_o, state) => state.storage.sql);
  const proto = Object.getPrototypeOf(sqlOf) as { exec: Exec };
  const exec = proto.exec;
  proto.exec = function (this: object, q: string, ...b: unknown[]) {
    const c = exec.call(this, q, ...b);
    cursors.push([q, c]);
    if (isWrite(q) && this && !inTurn.has(this)) {
      writeTurns++;
      const self = this;
      inTurn.add(self);
      setTimeout(() => inTurn.delete(self), 0);
    }
    if (cursors.length > 10_000) settle(100);
    return c;
  };
  restore = () => (proto.exec = exec);
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
  console.log(`bench do_sql_${phase}: ${writeTurns} write turns (${f(writeTurns)} each)`);
  console.log(
    `bench do_sql_${phase}: ${sum.calls} statements (${f(sum.calls)} each), ${sum.read} rows read (${f(sum.read)}), ${sum.written} written (${f(sum.written)})`,
  );
  for (const [text, t] of rows.slice(0, top))
    console.log(
      `bench do_sql_${phase}: ${t.calls} calls (${f(t.calls)}), ${t.read} read (${f(t.read)}), ${t.written} written (${f(t.written)}) :: ${text}`,
    );
}
