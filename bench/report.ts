import { env } from "../test/helpers";
import { printD1Tally, startD1Tally } from "./d1-tally";
import { printDoSqlTally, startDoSqlTally } from "./do-sql-tally";
/** One line per figure, the format `npm run bench` collects: `bench <name>: <value> <unit>`. */
export function report(name: string, value: number, unit: string): void {
  const v = Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 3 : 1);
  console.log(`bench ${name}: ${v} ${unit}`);
}

/**
 * Marks the span `npm run bench` measures the workerd CPU time of (`<name>_cpu_time`, and per counted item
 * `<name>_cpu_ms_per_email`). With BENCH_CPU_PROFILE set, it also takes a CPU profile of the span: the
 * inspector's commands are only served while the isolate is idle, so the bench pauses a moment at each mark.
 * With BENCH_D1 set, it prints the span's D1 statements by rows read and written (bench/d1-tally.ts); with BENCH_DO_SQL,
 * the Durable Objects' statements the same way (bench/do-sql-tally.ts).
 */
export async function cpuMark(mark: "start" | { stop: string; count: number; per?: string }): Promise<void> {
  // BENCH_D1=1: the phase's D1 statements (bench/d1-tally.ts).
  if ((env as unknown as { BENCH_D1?: string }).BENCH_D1) {
    if (mark === "start") startD1Tally();
    else printD1Tally(mark.stop);
  }
  // BENCH_DO_SQL=1: the phase's Durable Object statements (bench/do-sql-tally.ts).
  if ((env as unknown as { BENCH_DO_SQL?: string }).BENCH_DO_SQL) {
    if (mark === "start") await startDoSqlTally();
    else printDoSqlTally(mark.stop, mark.count);
  }
  console.log(mark === "start" ? "bench-cpu-mark: start" : `bench-cpu-mark: stop ${mark.stop} ${mark.count} ${mark.per ?? "email"}`);
  if ((env as unknown as { BENCH_PROFILING?: string }).BENCH_PROFILING) await new Promise((r) => setTimeout(r, 3_000));
}
