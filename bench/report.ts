import { env } from "../test/helpers";
/** One line per figure, the format `npm run bench` collects: `bench <name>: <value> <unit>`. */
export function report(name: string, value: number, unit: string): void {
  const v = Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 3 : 1);
  console.log(`bench ${name}: ${v} ${unit}`);
}

/**
 * Marks the span `npm run bench` measures the workerd CPU time of (`<name>_cpu_time`, and per counted item
 * `<name>_cpu_ms_per_email`). With BENCH_CPU_PROFILE set, it also takes a CPU profile of the span: the
 * inspector's commands are only served while the isolate is idle, so the bench pauses a moment at each mark.
 */
export async function cpuMark(mark: "start" | { stop: string; count: number; per?: string }): Promise<void> {
  console.log(mark === "start" ? "bench-cpu-mark: start" : `bench-cpu-mark: stop ${mark.stop} ${mark.count} ${mark.per ?? "email"}`);
  if ((env as unknown as { BENCH_PROFILING?: string }).BENCH_PROFILING) await new Promise((r) => setTimeout(r, 3_000));
}
