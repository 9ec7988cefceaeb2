#!/usr/bin/env node
// `npm run bench:load`: the API under load. Starts the app as `npm start` does (wrangler's local mode,
// the demo seed) on a free port, signs in 50 browser-like clients (session cookie + CSRF token) and
// drives it from this process over loopback for 30 s with a realistic mix: sequence list, contacts
// list and search, people search, a sequence's enrollments, job status, a preview of adding a
// 1,000-contact list, and one real add per second. Prints `bench load_…` lines (requests/s, p50/p95/p99
// of reads and previews, per route, and the 5xx count), the format `npm run bench` prints, and where the
// time goes: workerd's CPU per request (its process, D1's SQLite included), this driver's own CPU, the
// D1 round trips and rows read per request of each route (the app answers them in Server-Timing when
// started with D1_COUNT), and the largest JS heap seen in the Worker's isolate (V8 inspector).
//
//   BENCH_LOAD_SECONDS=30 BENCH_LOAD_CLIENTS=50 npm run bench:load
//   BENCH_LOAD_STATE=.wrangler/bench-load   keep the seeded state between runs (default: a fresh one)
//   BENCH_LOAD_URL=http://127.0.0.1:8787    drive an app that is already running (seeded) instead
//   BENCH_LOAD_D1=1                         also print D1 round trips and rows read per request of each route
//   BENCH_LOAD_TRACES=1                     keep wrangler dev's local trace capture on (see LOCAL_TRACES below)
//   BENCH_LOAD_ROUTE_CPU=40                 first call each route 40 times alone: workerd CPU ms per call
//                                           (a figure a loaded machine barely moves, unlike latencies)
//   BENCH_LOAD_CPU_PROFILE=/tmp/load         with BENCH_LOAD_ROUTE_CPU: a CPU profile of the Worker's isolate
//                                           over each route's calls, /tmp/load-<route>.cpuprofile, summarized
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { connectProfiler, summarize } from "./cpu-profiler.mjs";
import { freePort } from "./free-port.mjs";
import { mb, startHeapSampler } from "./heap-sampler.mjs";
import { seedDemo } from "./seed-demo.mjs";
import { bin, devArgs, ensureDevVars, env, run, waitForServer } from "./lib.mjs";

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const CLIENTS = Number(process.env.BENCH_LOAD_CLIENTS ?? 50);
/** Also print each route's D1 round trips and rows read (the app counts them; it costs the app a little CPU). */
const COUNT_D1 = process.env.BENCH_LOAD_D1 === "1";
/**
 * wrangler dev records a span for every request, D1 call and Durable Object call into a local store
 * (for its local explorer; X_LOCAL_OBSERVABILITY). That is the dev server's work, not the app's, and no
 * deployed Worker does it in the request: measured here it cost 1.5–3 ms of workerd CPU per request
 * (a quarter of a list page). Off unless BENCH_LOAD_TRACES=1; the figures say which.
 */
const LOCAL_TRACES = process.env.BENCH_LOAD_TRACES === "1";
/** Before the load: each route called this many times by one client, alone, for its workerd CPU per call. */
const ROUTE_CPU_CALLS = Number(process.env.BENCH_LOAD_ROUTE_CPU ?? 0);
const CPU_PROFILE = ROUTE_CPU_CALLS ? process.env.BENCH_LOAD_CPU_PROFILE : undefined;
const USERS = ["admin@demo.test", "rep1@demo.test", "rep2@demo.test"];
const PASSWORD = "demo1234";

/** What a client does next, by weight: mostly reads, a preview now and then (adds run on their own clock). */
const MIX = [
  ["sequences", 20],
  ["contacts", 15],
  ["contacts_search", 15],
  ["people_search", 15],
  ["enrollments", 15],
  ["job", 15],
  ["preview", 5],
];

/** CPU time (user + system) so far of the workerd processes under `pid`, in ms. */
function workerdCpuMs(pid) {
  const children = new Map();
  let total = 0;
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const [comm, rest] = readFileSync(`/proc/${p}/stat`, "utf8").split(") ");
      const f = rest.split(" ");
      children.set(Number(p), {
        ppid: Number(f[1]),
        workerd: comm.endsWith("(workerd"),
        ms: ((Number(f[11]) + Number(f[12])) * 1000) / 100,
      });
    } catch {
      // process ended
    }
  }
  const walk = (parent) => {
    for (const [p, c] of children) if (c.ppid === parent) ((total += c.workerd ? c.ms : 0), walk(p));
  };
  walk(pid);
  return total;
}

async function startApp() {
  if (process.env.BENCH_LOAD_URL) return { base: process.env.BENCH_LOAD_URL, stop: () => {}, pid: null, inspectorPort: null };
  const port = await freePort();
  const inspectorPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const fresh = !process.env.BENCH_LOAD_STATE;
  const persist = process.env.BENCH_LOAD_STATE ?? mkdtempSync(path.join(tmpdir(), "seqflare-load-"));
  ensureDevVars();
  const quiet = { stdio: ["ignore", "ignore", "inherit"] };
  await run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], {
    ...quiet,
    env: { ...env, CI: "true" },
  });
  // The SPA is served as static assets: build it once if it is missing.
  if (!existsSync("web/dist/index.html")) await run(bin("vite"), ["build", "--logLevel", "error"], quiet);
  const dev = spawn(
    bin("wrangler"),
    devArgs({
      port,
      persist,
      publicUrl: base,
      extra: [...(COUNT_D1 ? ["--var", "D1_COUNT:1"] : []), "--inspector-port", String(inspectorPort), "--log-level", "error"],
    }),
    { stdio: ["ignore", "ignore", "inherit"], env: { ...env, X_LOCAL_OBSERVABILITY: String(LOCAL_TRACES) }, detached: true },
  );
  const stop = () => {
    try {
      process.kill(-dev.pid, "SIGINT");
    } catch {
      // already gone
    }
    if (fresh) rmSync(persist, { recursive: true, force: true });
  };
  process.on("exit", stop);
  await waitForServer(`${base}/api/me`, 180_000);
  if (!(await seedDemo(base))) throw new Error("the demo seed failed");
  return { base, stop, pid: dev.pid, inspectorPort };
}

/** A browser-like client: its own session cookie and CSRF token. */
async function signIn(base, email) {
  const res = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (!res.ok) throw new Error(`sign-in of ${email} answered ${res.status}: ${await res.text()}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const { csrf_token } = await res.json();
  return { cookie, csrf: csrf_token };
}

function call(base, client, method, p, body) {
  const headers = { cookie: client.cookie };
  if (method !== "GET") {
    headers["x-csrf-token"] = client.csrf;
    headers["content-type"] = "application/json";
  }
  return fetch(`${base}/api${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);
const fmt = (ms) => ms.toFixed(0);

async function main() {
  const t0 = Date.now();
  const { base, stop, pid, inspectorPort } = await startApp();
  console.log(`» app up and seeded at ${base} in ${((Date.now() - t0) / 1000).toFixed(0)}s; signing in ${CLIENTS} clients`);
  const admin = await signIn(base, USERS[0]);
  const json = async (p) => {
    const res = await call(base, admin, "GET", p);
    if (!res.ok) throw new Error(`GET ${p} answered ${res.status}`);
    return res.json();
  };
  const { sequences } = await json("/sequences?per_page=100");
  const seq = sequences.find((s) => s.active && s.owner_name === "Alex Morgan") ?? sequences.find((s) => s.active);
  const { lists } = await json("/lists?per_page=100");
  const list1000 = lists.find((l) => l.contact_count === 1000) ?? lists.find((l) => /Webinar/.test(l.name));
  const { contacts } = await json("/contacts?per_page=100&page=10");
  if (!seq || !list1000 || !contacts.length) throw new Error("the demo seed lacks an active sequence, a 1,000-contact list or contacts");
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    // Most clients are the admin; every fifth is a rep, who sees only their own and shared sequences.
    const c = i === 0 ? admin : await signIn(base, i % 5 === 0 ? USERS[1 + (i % 2)] : USERS[0]);
    const res = await call(base, c, "GET", "/sequences?per_page=100");
    c.sequenceIds = ((await res.json()).sequences ?? []).map((s) => s.id);
    clients.push(c);
  }

  const jobs = [];
  const words = ["an", "son", "li", "co", "tech", "mar", "ch", "ra"];
  const titles = ["CEO", "VP Sales", "Head of Marketing", "CTO", "Founder"];
  const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
  const ops = {
    sequences: (c) => call(base, c, "GET", "/sequences"),
    contacts: (c) => call(base, c, "GET", `/contacts?page=${1 + Math.floor(Math.random() * 20)}&per_page=25`),
    contacts_search: (c) => call(base, c, "GET", `/contacts?q=${pick(words)}&per_page=25`),
    people_search: (c) =>
      call(base, c, "POST", "/people/search", { titles: [pick(titles)], page: 1 + Math.floor(Math.random() * 5), per_page: 25 }),
    enrollments: (c) => call(base, c, "GET", `/sequences/${pick(c.sequenceIds.length ? c.sequenceIds : [seq.id])}/enrollments?per_page=25`),
    job: (c) => (jobs.length ? call(base, c, "GET", `/jobs/${pick(jobs)}`) : call(base, c, "GET", "/jobs?per_page=10")),
    // Previews and adds as the sequence's owner (a rep may not change its contacts).
    preview: () =>
      call(base, admin, "POST", `/sequences/${seq.id}/add-contacts/preview?per_page=25`, { source: { list_ids: [list1000.id] } }),
  };
  if (ROUTE_CPU_CALLS && pid) {
    // One client, one call at a time: the workerd CPU each route costs, without queueing behind others.
    for (const [name] of MIX) {
      for (let i = 0; i < 3; i++) await (await ops[name](admin)).text();
      const profiler = CPU_PROFILE ? await connectProfiler({ port: inspectorPort, target: () => true }) : null;
      await profiler?.start();
      const cpu0 = workerdCpuMs(pid);
      for (let i = 0; i < ROUTE_CPU_CALLS; i++) await (await ops[name](admin)).text();
      console.log(`bench load_${name}_cpu_ms_alone: ${((workerdCpuMs(pid) - cpu0) / ROUTE_CPU_CALLS).toFixed(2)} ms`);
      if (profiler) {
        const profile = await profiler.stop();
        writeFileSync(`${CPU_PROFILE}-${name}.cpuprofile`, JSON.stringify(profile));
        console.log(summarize(profile, { top: 25 }));
      }
    }
  }
  const total = MIX.reduce((a, [, w]) => a + w, 0);
  const choose = () => {
    let r = Math.random() * total;
    for (const [name, w] of MIX) if ((r -= w) < 0) return name;
    return MIX[0][0];
  };

  const times = new Map();
  /** Per route: [requests counted, D1 round trips, rows read] from the app's Server-Timing. */
  const d1 = new Map();
  const d1Of = (name, res) => {
    const m = /d1;desc="trips=(\d+) rows=(\d+)"/.exec(res.headers.get("server-timing") ?? "");
    if (!m) return;
    const t = d1.get(name) ?? [0, 0, 0];
    (t[0]++, (t[1] += Number(m[1])), (t[2] += Number(m[2])));
    d1.set(name, t);
  };
  const status = { "2xx": 0, "4xx": 0, "5xx": 0, failed: 0 };
  const errors = new Map();
  const record = async (name, p) => {
    const start = performance.now();
    try {
      const res = await p;
      const text = await res.text();
      const ms = performance.now() - start;
      if (!times.has(name)) times.set(name, []);
      times.get(name).push(ms);
      d1Of(name, res);
      const k = res.status >= 500 ? "5xx" : res.status >= 400 ? "4xx" : "2xx";
      status[k]++;
      if (res.status >= 400) errors.set(`${name} ${res.status}`, (errors.get(`${name} ${res.status}`) ?? 0) + 1);
      return { ok: res.ok, text };
    } catch (err) {
      status.failed++;
      errors.set(`${name} ${err.code ?? err.message}`, (errors.get(`${name} ${err.code ?? err.message}`) ?? 0) + 1);
      return null;
    }
  };

  console.log(`» driving ${CLIENTS} clients for ${SECONDS}s`);
  const heap = inspectorPort ? await startHeapSampler({ port: inspectorPort, target: () => true }) : null;
  const until = Date.now() + SECONDS * 1000;
  const load0 = loadavg()[0];
  const driverCpu0 = process.cpuUsage();
  const workerdCpu0 = pid ? workerdCpuMs(pid) : 0;
  const started = performance.now();
  const loop = async (c) => {
    while (Date.now() < until) {
      const name = choose();
      await record(name, ops[name](c));
    }
  };
  // One add per second: a few contacts into the sequence, a real job the job-status reads then follow.
  let n = 0;
  const adder = setInterval(async () => {
    const ids = [0, 1, 2].map(() => contacts[(n++ * 7) % contacts.length].id);
    const res = await record("add", call(base, admin, "POST", `/sequences/${seq.id}/add-contacts`, { source: { contact_ids: ids } }));
    if (res?.ok) {
      const id = JSON.parse(res.text)?.job?.id;
      if (id) jobs.push(id);
    }
  }, 1000);
  await Promise.all(clients.map(loop));
  clearInterval(adder);
  const elapsed = (performance.now() - started) / 1000;
  const workerdCpu = pid ? workerdCpuMs(pid) - workerdCpu0 : 0;
  const driverCpuUse = process.cpuUsage(driverCpu0);
  const driverCpu = (driverCpuUse.user + driverCpuUse.system) / 1000;
  const h = heap ? await heap.stop() : null;

  const all = [...times.values()].flat();
  const reads = [...times.entries()]
    .filter(([k]) => k !== "preview" && k !== "add")
    .flatMap(([, v]) => v)
    .sort((a, b) => a - b);
  const previews = (times.get("preview") ?? []).sort((a, b) => a - b);
  console.log(`bench load_requests_per_second: ${(all.length / elapsed).toFixed(1)} req/s`);
  console.log(`bench load_reads_p50: ${fmt(pct(reads, 50))} ms`);
  console.log(`bench load_reads_p95: ${fmt(pct(reads, 95))} ms`);
  console.log(`bench load_reads_p99: ${fmt(pct(reads, 99))} ms`);
  console.log(`bench load_previews_p50: ${fmt(pct(previews, 50))} ms`);
  console.log(`bench load_previews_p99: ${fmt(pct(previews, 99))} ms`);
  for (const [name, v] of [...times.entries()].sort()) {
    v.sort((a, b) => a - b);
    console.log(
      `bench load_${name}: ${v.length} requests, p50 ${fmt(pct(v, 50))} ms, p95 ${fmt(pct(v, 95))} ms, p99 ${fmt(pct(v, 99))} ms`,
    );
  }
  const count = all.length;
  if (pid) console.log(`bench load_workerd_cpu_ms_per_request: ${(workerdCpu / Math.max(1, count)).toFixed(2)} ms`);
  console.log(`bench load_driver_cpu_ms_per_request: ${(driverCpu / Math.max(1, count)).toFixed(2)} ms`);
  for (const [name, [n, trips, rows]] of [...d1.entries()].sort())
    console.log(`bench load_${name}_d1: ${(trips / n).toFixed(1)} round trips, ${(rows / n).toFixed(0)} rows read per request`);
  if (h?.samples) console.log(`bench load_js_heap_peak: ${mb(h.peakBytes)} MB (first sample ${mb(h.firstBytes)} MB)`);
  else if (h) console.log(`  (no JS heap figure: ${h.error ?? "the inspector answered no sample"})`);
  console.log(`  load average (1 min) ${load0.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end`);
  if (pid) console.log(`  wrangler dev's local trace capture: ${LOCAL_TRACES ? "on (BENCH_LOAD_TRACES=1)" : "off"}`);
  console.log(`bench load_5xx: ${status["5xx"]}`);
  console.log(`bench load_4xx: ${status["4xx"]}`);
  if (status.failed) console.log(`bench load_failed_requests: ${status.failed}`);
  for (const [k, v] of errors) console.log(`  ${k}: ${v}`);
  stop();
  process.exit(status["5xx"] || status.failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
