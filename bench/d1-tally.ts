/**
 * BENCH_D1=1: what a benchmark's marked phase asked of D1, statement by statement (its calls, rows
 * read and written as D1 reports them, rows answered, characters of bound values the client serializes),
 * and the phase's round trips (a batch is one), printed at the phase's end by cpuMark. It
 * patches the D1 binding's classes in the isolate, so the Durable Objects' and the Worker's queries
 * are counted too, with no hook in the app. A statement read through `raw()` (drizzle's selects outside
 * a batch) reports no meta: a read is run once more through `all()` to learn its rows (so the phase's own
 * figures, time and CPU, are not comparable with a run without BENCH_D1); a write is never run twice,
 * and such a write's rows read and written are not known.
 */
interface StatementTally {
  calls: number;
  rowsRead: number;
  rowsWritten: number;
  rows: number;
  /** Characters of its bound values as JSON (what the D1 client serializes and sends per call). */
  bytes: number;
}

const tally = new Map<string, StatementTally>();
const isRead = (text: string) =>
  /^\s*select\b/i.test(text) || (/^\s*with\b/i.test(text) && !/\b(insert|update|delete|replace)\b/i.test(text));
let counting = false;

type Stmt = D1PreparedStatement & { statement: string; params?: unknown[] };
type Result = { results?: unknown[]; meta?: { rows_read?: number; rows_written?: number } };

let roundTrips = 0;

function note(stmt: Stmt, r: Result | null | undefined) {
  if (!counting) return;
  const key = stmt.statement.replace(/\s+/g, " ").trim().slice(0, 160);
  const t = tally.get(key) ?? { calls: 0, rowsRead: 0, rowsWritten: 0, rows: 0, bytes: 0 };
  t.bytes += JSON.stringify(stmt.params ?? []).length;
  t.calls++;
  t.rowsRead += r?.meta?.rows_read ?? 0;
  t.rowsWritten += r?.meta?.rows_written ?? 0;
  t.rows += r?.results?.length ?? 0;
  tally.set(key, t);
}

export function installD1Tally(d1: D1Database) {
  const stmtProto = Object.getPrototypeOf(d1.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const dbProto = Object.getPrototypeOf(d1) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const all = stmtProto.all!;
  const run = stmtProto.run!;
  const first = stmtProto.first!;
  const raw = stmtProto.raw!;
  const batch = dbProto.batch!;
  stmtProto.all = async function (this: Stmt, ...a: unknown[]) {
    const r = (await all.apply(this, a)) as Result;
    if (counting) roundTrips++;
    note(this, r);
    return r;
  };
  stmtProto.run = async function (this: Stmt, ...a: unknown[]) {
    const r = (await run.apply(this, a)) as Result;
    if (counting) roundTrips++;
    note(this, r);
    return r;
  };
  for (const [name, fn] of [
    ["first", first],
    ["raw", raw],
  ] as const)
    stmtProto[name] = async function (this: Stmt, ...a: unknown[]) {
      // A read is run once more for its meta; a write (an UPDATE ... RETURNING) never twice: counted without it.
      if (counting && isRead(this.statement)) note(this, (await all.apply(this, [])) as Result);
      const r = await fn.apply(this, a);
      if (counting) roundTrips++;
      if (counting && !isRead(this.statement)) note(this, { results: Array.isArray(r) ? r : r == null ? [] : [r] });
      return r;
    };
  dbProto.batch = async function (this: D1Database, stmts: Stmt[]) {
    const rs = (await batch.call(this, stmts)) as Result[];
    if (counting) roundTrips++;
    rs.forEach((r, i) => note(stmts[i]!, r));
    return rs;
  };
}

/** The phase starts: counting from zero. */
export function startD1Tally() {
  tally.clear();
  roundTrips = 0;
  counting = true;
}

/** The phase ends: its statements, most rows read first, as `bench d1_<phase>:` lines. */
export function printD1Tally(phase: string, top = 25) {
  counting = false;
  const rows = [...tally].sort((a, b) => b[1].rowsRead + b[1].rowsWritten - (a[1].rowsRead + a[1].rowsWritten));
  const sum = rows.reduce(
    (s, [, t]) => ({ calls: s.calls + t.calls, read: s.read + t.rowsRead, written: s.written + t.rowsWritten, bytes: s.bytes + t.bytes }),
    { calls: 0, read: 0, written: 0, bytes: 0 },
  );
  console.log(
    `bench d1_${phase}: ${sum.calls} statements in ${roundTrips} round trips, ${sum.read} rows read, ${sum.written} rows written, ${sum.bytes} characters of bound values`,
  );
  for (const [text, t] of rows.slice(0, top))
    console.log(
      `bench d1_${phase}: ${t.calls} calls, ${t.rowsRead} read, ${t.rowsWritten} written, ${t.rows} answered, ${t.bytes} characters bound :: ${text}`,
    );
}
