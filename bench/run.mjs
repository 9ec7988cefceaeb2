#!/usr/bin/env node
// `npm run bench`: runs each benchmark file in workerd and prints its figures, one line each:
// `bench <name>: <value> <unit>`. Also reports the peak resident memory of the workerd process and
// the largest JS heap seen in the isolate that runs the Worker (scripts/heap-sampler.mjs).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "../scripts/free-port.mjs";
import { mb, startHeapSampler } from "../scripts/heap-sampler.mjs";
import { connectProfiler, summarize } from "../scripts/cpu-profiler.mjs";
import { categorize } from "../scripts/perf-categories.mjs";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { env } from "../scripts/lib.mjs";

const only = process.argv[2];
const files = readdirSync("bench").filter((f) => f.endsWith(".bench.ts") && (!only || f.includes(only)));

/**
 * BENCH_PERF=1: `perf record -g` on the workerd processes over each marked span, split by
 * scripts/perf-categories.mjs into `<name>_perf_<where>_<kind>` lines (shares of the samples, in %):
 * local D1's and the objects' SQLite (statements, commits, WAL checkpoints, savepoint page copies), GC
 * and the rest. Needs Linux perf (the Debian package linux-perf) and permission to trace workerd. The
 * live heap readings (forced GCs) are off unless BENCH_LIVE_HEAP_MS asks for them, and a CPU profile
 * (BENCH_CPU_PROFILE) taken at the same time shows up in the shares.
 */
const PERF = !!process.env.BENCH_PERF && process.env.BENCH_PERF !== "0";

/** Runs a command to its end: its exit code (or the error that kept it from starting), stdout and stderr. */
function capture(cmd, args) {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    let err = "";
    proc.stdout.on("data", (b) => out.push(b));
    proc.stderr.on("data", (b) => (err += b));
    proc.on("error", (e) => resolve({ code: null, error: e, stdout: "", stderr: err }));
    // "close": every byte of stdout has arrived (an "exit" may come before the last chunk).
    proc.on("close", (code) => resolve({ code, error: null, stdout: Buffer.concat(out).toString(), stderr: err }));
  });
}

/** A recording of the workerd processes, from now until its `stop()`. */
function startPerf(pids, spanId) {
  const file = path.join(tmpdir(), `bench-perf-${process.pid}-${spanId}.data`);
  const proc = spawn("perf", ["record", "-g", "-F", "499", "-o", file, "-p", pids.join(",")], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr.on("data", (b) => (err += b));
  const ended = new Promise((r) => proc.on("error", (e) => r({ error: e })).on("close", (code) => r({ code })));
  return {
    file,
    // Stopped at once (SIGINT: perf writes what it has), read later: a later span's recording never overlaps this one.
    stop: () => (proc.kill("SIGINT"), ended.then((end) => ({ ...end, stderr: err }))),
  };
}

/** The recording's shares, printed as bench lines, or one line saying why there are none. */
async function reportPerf(stopped, file, name) {
  try {
    const end = await stopped;
    if (end.error) return console.log(`  (no perf figures for ${name}: ${end.error.message})`);
    const script = await capture("perf", ["script", "-i", file, "--comm", "workerd"]);
    const { samples, rows } = categorize(script.stdout);
    if (!samples) {
      const why = (end.stderr || script.stderr).trim().split("\n").at(-1) || `perf exited with ${end.code} / ${script.code}`;
      return console.log(`  (no perf samples for ${name}: ${why})`);
    }
    for (const r of rows) console.log(`bench ${name}_perf_${r.id}: ${(r.share * 100).toFixed(1)} %`);
    console.log(`bench ${name}_perf_samples: ${samples} samples`);
  } catch (e) {
    console.log(`  (no perf figures for ${name}: ${e instanceof Error ? e.message : String(e)})`);
  } finally {
    rmSync(file, { force: true });
  }
}

function descendants(pid) {
  const out = [];
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      if (ppid === pid) out.push(Number(p), ...descendants(Number(p)));
    } catch {
      // process ended
    }
  }
  return out;
}

/** CPU time (user + system) of a process so far, in ms. */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

function rssKb(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// Every LIVE_EVERY_MS a full GC is forced and the live heap read and attributed (scripts/heap-sampler.mjs).
// Each reading pauses the isolate ~0.1–0.3 s (GC and profile, measured at load 8–12), so not more often
// by default; BENCH_LIVE_HEAP_MS=0 turns it off (wall times paired against a run without it).
const LIVE_EVERY_MS = Number(process.env.BENCH_LIVE_HEAP_MS ?? (PERF ? 0 : 5000));
// workerd's V8 flags (miniflare reads MINIFLARE_WORKERD_V8_FLAGS): gc() for the live readings, and with
// BENCH_HEAP_LIMIT_MB a cap on each isolate's old generation, so a bench whose isolate ever needs more
// live heap than that dies ("Reached heap limit") instead of passing.
const HEAP_LIMIT_MB = Number(process.env.BENCH_HEAP_LIMIT_MB ?? 0);
const v8Flags = [
  process.env.MINIFLARE_WORKERD_V8_FLAGS ?? "",
  LIVE_EVERY_MS ? "--expose-gc" : "",
  HEAP_LIMIT_MB ? `--max-old-space-size=${HEAP_LIMIT_MB}` : "",
]
  .filter(Boolean)
  .join(" ");

/** The live-heap lines of a bench or a phase (see the README's Benchmarks section for what each means). */
function printLive(name, live) {
  if (live.arrayBuffersPeakBytes) console.log(`bench ${name}_array_buffers_peak: ${mb(live.arrayBuffersPeakBytes)} MB`);
  if (!live.samples) return;
  console.log(`bench ${name}_js_heap_live_peak: ${mb(live.peakBytes)} MB`);
  console.log(`bench ${name}_array_buffers_live_peak: ${mb(live.arrayBuffersBytes)} MB`);
  if (live.app) {
    console.log(`bench ${name}_js_heap_app_peak: ${mb(live.appPeakBytes)} MB`);
    const at = live.atPeak;
    if (at) {
      console.log(`bench ${name}_js_heap_harness_at_live_peak: ${mb(at.harness)} MB`);
      // Not sampled: compiled code, and what was allocated before the profiler started.
      console.log(
        `  live heap at its peak: app ${mb(at.app)} / harness ${mb(at.harness)} / other ${mb(at.other)} / not sampled ${mb(Math.max(0, live.peakBytes - at.app - at.harness - at.other))} MB`,
      );
      if (process.env.HEAP_SAMPLER_DEBUG)
        for (const [site, bytes] of at.topOther) console.log(`  other heap ${mb(bytes).padStart(6)} MB  ${site}`);
    }
    // Where the app's live bytes were allocated when its share was largest (the innermost app frame).
    for (const [site, bytes] of live.app.top.slice(0, 6)) console.log(`  app heap ${mb(bytes).padStart(6)} MB  ${site}`);
  }
}

let failed = false;
for (const file of files) {
  const name = path.basename(file, ".bench.ts");
  // The V8 inspector of workerd (vitest's --inspect, passed on by @cloudflare/vitest-plugin): the heap
  // sampler reads the used JS heap of the isolate running the tests' Worker and its Durable Objects.
  const inspectorPort = await freePort();
  const child = spawn(
    process.execPath,
    ["node_modules/vitest/vitest.mjs", "run", "--config", "bench/vitest.config.ts", `--inspect=127.0.0.1:${inspectorPort}`],
    { env: { ...env, BENCH_FILE: `bench/${file}`, MINIFLARE_WORKERD_V8_FLAGS: v8Flags }, stdio: ["ignore", "pipe", "pipe"] },
  );
  // workerd serves one inspector session per isolate: a CPU profile (BENCH_CPU_PROFILE) replaces the heap figures.
  const heap = env.BENCH_CPU_PROFILE
    ? {
        resetPhase: () => 0,
        resetLivePhase: () => ({}),
        snapshot: async () => {},
        stop: async () => ({ samples: 0, live: {}, error: "not sampled while taking a CPU profile" }),
      }
    : await startHeapSampler({
        port: inspectorPort,
        target: (t) => t.id.startsWith("core:user:"),
        liveEveryMs: LIVE_EVERY_MS,
        exposedGc: true,
      });
  let peak = 0;
  const workerds = () =>
    descendants(child.pid).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, "utf8").trim() === "workerd";
      } catch {
        return false;
      }
    });
  const timer = setInterval(() => {
    for (const p of workerds()) peak = Math.max(peak, rssKb(p));
  }, 250);
  // A bench prints `bench-cpu-mark: start` and `bench-cpu-mark: stop <name> <count> [<item>]`: the workerd
  // CPU time spent between the two, per counted item, is reported as `<name>_cpu_ms_per_<item>` (email by default).
  let cpuAtStart = 0;
  // BENCH_CPU_PROFILE=<file>: a sampled CPU profile of the isolate between the marks, written to <file>
  // (.cpuprofile, for DevTools) with its summary printed (scripts/cpu-profiler.mjs).
  let profiling = null;
  let perfRun = null;
  // The recordings' reports, in the order of their spans (each read once the bench has ended, so `perf script`
  // doesn't compete with the bench for the CPU).
  const perfReports = [];
  let spans = 0;
  const stopSpan = (spanName) => {
    perfReports.push({ stopped: perfRun.stop(), file: perfRun.file, name: spanName });
    perfRun = null;
  };
  const onMark = (line) => {
    const m = line.match(/bench-cpu-mark: (start|stop (\S+) (\d+)(?: (\S+))?)/);
    if (!m) return;
    const cpu = workerds().reduce((n, p) => n + cpuMs(p), 0);
    if (m[1] === "start") {
      cpuAtStart = cpu;
      if (PERF) {
        // A bench that failed between its marks and started again: its last recording ends here.
        if (perfRun) stopSpan(`${name}_unfinished`);
        perfRun = startPerf(workerds(), ++spans);
      }
      if (env.BENCH_CPU_PROFILE)
        profiling = connectProfiler({ port: inspectorPort, target: (t) => t.id.startsWith("core:user:") }).then(
          async (p) => (await p.start(), p),
        );
    } else {
      if (perfRun) stopSpan(m[2]);
      if (profiling)
        profiling = profiling.then(async (p) => {
          const profile = await p.stop();
          // One file per marked span: <file>-<name>.cpuprofile.
          writeFileSync(`${env.BENCH_CPU_PROFILE.replace(/\.cpuprofile$/, "")}-${m[2]}.cpuprofile`, JSON.stringify(profile));
          console.log(summarize(profile, { top: Number(env.BENCH_CPU_PROFILE_TOP || 40) }));
        });
      const used = cpu - cpuAtStart;
      console.log(`bench ${m[2]}_cpu_time: ${(used / 1000).toFixed(1)} s`);
      // A phase with nothing to count (no first steps left to hand over) has no per-item figure.
      if (Number(m[3]) > 0) console.log(`bench ${m[2]}_cpu_ms_per_${m[4] ?? "email"}: ${(used / Number(m[3])).toFixed(3)} ms`);
    }
  };
  // A bench prints `bench-heap-snapshot: <label>` where a heap snapshot would tell what holds memory;
  // with BENCH_HEAP_SNAPSHOT=<dir> one is written there as <bench>-<label>-0.heapsnapshot.
  const onSnapshot = (line) => {
    const m = line.match(/bench-heap-snapshot: (\S+)/);
    if (!m || !process.env.BENCH_HEAP_SNAPSHOT) return;
    const prefix = path.join(process.env.BENCH_HEAP_SNAPSHOT, `${name}-${m[1]}`);
    heap.snapshot(prefix).then(() => console.log(`  heap snapshot: ${prefix}-0.heapsnapshot`));
  };
  let out = "";
  let lastPhase = null;
  child.stdout.on("data", (b) => {
    out += b;
    // eslint-disable-next-line no-control-regex
    for (const line of b
      .toString()
      .replace(/\x1b\[[0-9;]*m/g, "")
      .split("\n")) {
      const m = line.match(/(bench \S+: .+)$/);
      if (m) {
        // A bench prints its figures after each phase, named by its size (enroll_100000_wall_time):
        // the heap peak since the previous phase's figures is this phase's.
        const phase = /^bench (.*?_\d+)_/.exec(m[1])?.[1];
        if (phase && phase !== lastPhase) {
          lastPhase = phase;
          console.log(`bench ${phase}_js_heap_peak: ${mb(heap.resetPhase())} MB`);
          printLive(phase, heap.resetLivePhase());
        }
        console.log(m[1]);
      }
      onMark(line);
      onSnapshot(line);
    }
  });
  child.stderr.on("data", (b) => (out += b));
  const code = await new Promise((r) => child.on("exit", r));
  clearInterval(timer);
  if (profiling) await profiling.catch((e) => console.error(`no CPU profile: ${e.message}`));
  // A bench that failed between its marks leaves its recording running: stopped (and reported) here.
  if (perfRun) stopSpan(`${name}_unfinished`);
  for (const r of perfReports) await reportPerf(r.stopped, r.file, r.name);
  const h = await heap.stop();
  console.log(`bench ${name}_peak_memory: ${(peak / 1024).toFixed(1)} MiB`);
  // One isolate runs vitest's runner, the bench and the Worker with its Durable Objects: an upper bound
  // of what one request, queue batch or alarm held (Workers allow 128 MB per isolate).
  if (h.samples) console.log(`bench ${name}_js_heap_peak: ${mb(h.peakBytes)} MB`);
  else console.log(`  (no JS heap figure for ${name}: ${h.error ?? "the inspector answered no sample"})`);
  printLive(name, { ...h.live, arrayBuffersPeakBytes: h.arrayBuffersPeakBytes });
  if (LIVE_EVERY_MS && h.samples && !h.live.app) console.log(`  (no live heap split for ${name}: ${h.liveError ?? "no live sample"})`);
  // What the readings cost the bench: the isolate runs no JS while the GC and the profile are taken.
  if (h.live?.samples) console.log(`  live readings: ${h.live.samples}, ${(h.liveReadingMs / h.live.samples).toFixed(0)} ms each`);
  if (code !== 0) {
    failed = true;
    console.error(`benchmark ${file} failed:\n${out.slice(-4000)}`);
  }
}
process.exit(failed ? 1 : 0);
