#!/usr/bin/env node
// `npm run bench:memory`: the memory of the Worker's own isolate through the CSV import and add-contacts
// paths at full size, with nothing else in it. `npm run bench` measures inside vitest's isolate, which
// also holds vitest's runner and module sources (~35 MB live) and the bench's data; here the app runs as
// `npm start` runs it (wrangler's local mode, demo seed) and is driven over loopback from this process,
// so the isolate holds the Worker, its queue consumer and its Durable Objects only (still all at once:
// locally they share one isolate, so each figure is an upper bound of one request, batch or alarm).
//
// Phases, each printed as `bench memory_<phase>_…`:
//   csv_upload_<n>   POST /api/imports of a generated n-row, 12-column CSV (1% bad rows)
//   csv_save_<n>     the import's parts saved through the queue
//   csv_enroll_<n>   the saved contacts added to a demo sequence (plan pages and chunks through the queue)
//   net_new_<m>      m net-new people of the demo directory added with enrichment (credits held, contacts created)
// Figures per phase: js_heap_peak (largest V8 heap seen, garbage included), js_heap_live_peak (right
// after a full GC: what was reachable), array_buffers_peak / array_buffers_live_peak (ArrayBuffer
// backing stores: request bodies, R2 reads; outside the V8 heap), live_with_array_buffers (the two
// live peaks added up). Workers allow 128 MB per isolate.
//
//   BENCH_SCALE=0.1 npm run bench:memory     a tenth of the rows (10,000 CSV rows, 1,000 net-new)
//   BENCH_MEMORY_FILE_MB=49 npm run bench:memory   rows padded to a 49 MB file (the upload limit is 50 MB)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./free-port.mjs";
import { mb, startHeapSampler } from "./heap-sampler.mjs";
import { seedDemo } from "./seed-demo.mjs";
import { bin, devArgs, ensureDevVars, env, run, waitForServer } from "./lib.mjs";

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const CSV_ROWS = Math.max(100, Math.round(100_000 * SCALE));
const NET_NEW = Math.max(100, Math.round(10_000 * SCALE));
const FILE_MB = Number(process.env.BENCH_MEMORY_FILE_MB ?? 0);
/** A full GC and a reading this often: the isolate holds only the app, so a GC costs a few ms. */
const LIVE_EVERY_MS = Number(process.env.BENCH_LIVE_HEAP_MS ?? 250);

async function startApp() {
  const port = await freePort();
  const inspectorPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const persist = mkdtempSync(path.join(tmpdir(), "seqflare-memory-"));
  ensureDevVars();
  const quiet = { stdio: ["ignore", "ignore", "inherit"] };
  await run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], {
    ...quiet,
    env: { ...env, CI: "true" },
  });
  const dev = spawn(
    bin("wrangler"),
    devArgs({ port, persist, publicUrl: base, extra: ["--inspector-port", String(inspectorPort), "--log-level", "error"] }),
    {
      ...quiet,
      // gc() for the live readings (scripts/heap-sampler.mjs); no local trace capture (the dev server's work).
      env: { ...env, X_LOCAL_OBSERVABILITY: "false", MINIFLARE_WORKERD_V8_FLAGS: "--expose-gc" },
      detached: true,
    },
  );
  const stop = () => {
    try {
      process.kill(-dev.pid, "SIGINT");
    } catch {
      // already gone
    }
    rmSync(persist, { recursive: true, force: true });
  };
  process.on("exit", stop);
  // Interrupted: still stop the dev server (it runs in its own process group).
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));
  await waitForServer(`${base}/api/me`, 180_000);
  if (!(await seedDemo(base))) throw new Error("the demo seed failed");
  return { base, stop, inspectorPort };
}

function generateCsv(n) {
  // BENCH_MEMORY_FILE_MB=50: a Notes column pads each row so the file weighs about that much (the upload
  // limit is 50 MB), to see what the largest upload holds.
  const pad = FILE_MB ? Math.max(0, Math.floor((FILE_MB * 1024 * 1024) / n) - 200) : 0;
  const notes = pad ? `,${"n".repeat(pad)}` : "";
  const lines = [`Email,First Name,Last Name,Company,Title,Phone,LinkedIn,City,Country,Time zone,Website,Industry${pad ? ",Notes" : ""}`];
  for (let i = 0; i < n; i++) {
    const email = i % 100 === 99 ? `broken-${i}.example.test` : `mem${i}@co${i % 997}.example.test`;
    lines.push(
      `${email},First${i},Last${i},"Company ${i % 997}, Inc.",Head of Ops,+1 555 ${String(i).padStart(7, "0")},https://linkedin.com/in/mem${i},Springfield,United States,America/Chicago,co${i % 997}.example.test,Software${notes}`,
    );
  }
  return lines.join("\r\n") + "\r\n";
}

async function main() {
  const { base, stop, inspectorPort } = await startApp();
  const res = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "admin@demo.test", password: "demo1234" }),
  });
  if (!res.ok) throw new Error(`sign-in answered ${res.status}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const { csrf_token: csrf } = await res.json();
  const api = async (method, p, body, attempt = 1) => {
    const headers = { cookie };
    if (method !== "GET") headers["x-csrf-token"] = csrf;
    if (body !== undefined && !(body instanceof FormData)) headers["content-type"] = "application/json";
    const r = await fetch(`${base}/api${p}`, {
      method,
      headers,
      body: body === undefined || body instanceof FormData ? body : JSON.stringify(body),
    });
    const json = await r.json().catch(() => null);
    // wrangler dev answers 503 (no body) while it reloads the Worker after a source change: the request
    // never reached the app, so it is sent again.
    if (r.status === 503 && json === null && attempt < 10) {
      await new Promise((res) => setTimeout(res, 3000));
      return api(method, p, body, attempt + 1);
    }
    if (!r.ok) throw new Error(`${method} ${p} answered ${r.status}: ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };
  // `done` answers the result when finished, else how far it got. Stopped for 5 minutes: wrangler dev
  // reloads the Worker when a source file changes and its local queue loses the messages in flight, so a
  // run in a tree someone is editing can stall for good (no deployed queue loses a message).
  const until = async (what, done) => {
    let progress = null;
    for (let t = Date.now(); ; await new Promise((r) => setTimeout(r, 500))) {
      const v = await done();
      if (v.result) return v.result;
      if (v.progress !== progress) ((progress = v.progress), (t = Date.now()));
      if (Date.now() - t > 300_000)
        throw new Error(`${what} stopped at ${progress} for 5 minutes (a Worker reload after a file change loses queued messages)`);
    }
  };
  const waitJob = (id) =>
    until(`job ${id}`, async () => {
      const { job } = await api("GET", `/jobs/${id}`);
      return ["completed", "failed", "cancelled"].includes(job.status) ? { result: job } : { progress: job.processed };
    });

  const { sequences } = await api("GET", "/sequences");
  // Two sequences: the net-new people don't queue behind the SequenceDO still handing the CSV's
  // 100,000 enrollments their first step (a wait of the engine, not a question of memory).
  const active = sequences.filter((s) => s.active);
  const [sequence, second] = [active[0] ?? sequences[0], active[1] ?? sequences[1] ?? sequences[0]];
  const { mailboxes } = await api("GET", "/mailboxes");
  const mailboxIds = mailboxes.slice(0, 4).map((m) => m.id);
  // The file is built before the sampler starts: it is this script's, in another process anyway.
  const file = new File([generateCsv(CSV_ROWS)], "leads.csv", { type: "text/csv" });

  const heap = await startHeapSampler({ port: inspectorPort, target: () => true, liveEveryMs: LIVE_EVERY_MS, exposedGc: true });
  await new Promise((r) => setTimeout(r, 2 * LIVE_EVERY_MS + 500));
  const idle = heap.resetLivePhase();
  heap.resetPhase();
  console.log(`bench memory_idle_js_heap_live: ${mb(idle.peakBytes)} MB`);
  const phase = async (name, work) => {
    const t = Date.now();
    const out = await work();
    // One more reading at the end: a phase shorter than the interval still gets a live figure.
    await heap.liveNow();
    const live = heap.resetLivePhase();
    console.log(`bench memory_${name}_wall_time: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    console.log(`bench memory_${name}_js_heap_peak: ${mb(heap.resetPhase())} MB`);
    console.log(`bench memory_${name}_js_heap_live_peak: ${mb(live.peakBytes)} MB`);
    console.log(`bench memory_${name}_array_buffers_peak: ${mb(live.arrayBuffersPeakBytes)} MB`);
    console.log(`bench memory_${name}_array_buffers_live_peak: ${mb(live.arrayBuffersBytes)} MB`);
    // Workers count both against the isolate's 128 MB: their largest live readings added up (an upper bound).
    console.log(`bench memory_${name}_live_with_array_buffers: ${mb(live.peakBytes + live.arrayBuffersBytes)} MB`);
    return out;
  };

  try {
    const imp = await phase(`csv_upload_${CSV_ROWS}`, async () => {
      const form = new FormData();
      form.append("file", file);
      return (await api("POST", "/imports", form)).import;
    });
    await phase(`csv_save_${CSV_ROWS}`, async () => {
      await api("POST", `/imports/${imp.id}/save`);
      const saved = await until("saving", async () => {
        const { import: i } = await api("GET", `/imports/${imp.id}`);
        return i.status === "saving" ? { progress: i.progress.parts_done } : { result: i };
      });
      if (saved.status !== "ready") throw new Error(`saving ended ${saved.status}: ${saved.error}`);
    });
    await phase(`csv_enroll_${CSV_ROWS}`, async () => {
      const { job } = await api("POST", `/sequences/${sequence.id}/add-contacts`, {
        source: { import_id: imp.id },
        mailbox_ids: mailboxIds,
        overrides: { unverified_email: true },
      });
      const done = await waitJob(job.id);
      if (done.status !== "completed") throw new Error(`CSV job ${done.status}: ${done.error}`);
    });
    // The top score band of the demo directory holding at least NET_NEW net-new people.
    const count = async (band) =>
      (await api("POST", "/people/search", { saved: "net_new", score_min: 100 - band, score_max: 100, per_page: 1 })).pagination
        .total_entries;
    let band = 1;
    while (band < 100 && (await count(band)) < NET_NEW) band++;
    await phase(`net_new_${await count(band)}`, async () => {
      const { job } = await api("POST", `/sequences/${second.id}/add-contacts`, {
        source: { search: { saved: "net_new", score_min: 100 - band, score_max: 100 } },
        mailbox_ids: mailboxIds,
        enrich: true,
        overrides: { no_email: true, unverified_email: true },
      });
      const done = await waitJob(job.id);
      console.log(`  net-new job: ${done.status}, ${done.total} people, ${done.enrolled} enrolled, ${done.credits_used} credits`);
    });
  } finally {
    const h = await heap.stop();
    console.log(`bench memory_js_heap_peak: ${mb(h.peakBytes)} MB`);
    console.log(`bench memory_js_heap_live_peak: ${mb(h.live.peakBytes)} MB`);
    console.log(`bench memory_array_buffers_live_peak: ${mb(h.live.arrayBuffersBytes)} MB`);
    if (h.setUps)
      console.log(`  (live readings set up again ${h.setUps} times: wrangler dev reloads the Worker when a source file changes)`);
    stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
