// The JS heap of a workerd isolate, read through the V8 inspector (Chrome DevTools Protocol) while a
// benchmark runs.
//
// - peak (`Runtime.getHeapUsage` every `everyMs`): the V8 heap's used bytes, garbage included. V8 lets
//   garbage pile up far past what is reachable (its local limit is ~1.4 GB, not 128 MB), so this says
//   little about one invocation: add-contacts read 207 MB here while at most 50 MB was ever reachable.
// - live (with `liveEveryMs`): every `liveEveryMs` a full GC runs and the used size is read right after
//   it, in the same turn of the isolate (workerd started with --expose-gc; `gc()` is evaluated, then
//   the reading and the profile are answered before any JS runs again): what was reachable then. The
//   sampling heap profiler (`HeapProfiler.startSampling`, started with the sampler) says which code
//   allocated those live bytes: `app` = the outermost project frame of the allocating stack is in
//   worker/ or durable-objects/ (a request, queue batch or alarm); `harness` = it is in bench/ or test/
//   (the bench's own data and setup, even when they call worker/ helpers); `other` = no project frame
//   (vitest's runner and its module sources, the runtime; also app data built in a library's async
//   continuation, e.g. D1's result rows: ~0.5 MB seen). The profiler sees only objects allocated after
//   it started and scales samples (one per ~32 KB) into an estimate; compiled code is not sampled.
// - ArrayBuffer backing stores (`backingStorageSize`: request bodies, R2 reads) live outside the V8
//   heap and are reported apart.
//
// In local workerd the Worker, its Durable Objects and (for `npm run bench`) vitest share one isolate,
// so the live peak is an upper bound of what one request, queue batch or alarm held, and even `app`
// adds up every invocation running at that moment.
//
//   const s = await startHeapSampler({ port, target: (t) => t.id.startsWith("core:user:"), liveEveryMs: 2000, exposedGc: true });
//   ...; const { peakBytes, live } = await s.stop();

const PROJECT = /\/(worker|durable-objects|bench|test)\/[^?#]*\.(ts|tsx|js|mjs)/;

/** Which part of the isolate an allocation belongs to, by the outermost project frame of its stack. */
function ownerOf(stack) {
  for (const url of stack) {
    const m = PROJECT.exec(url);
    if (!m || url.includes("/node_modules/")) continue;
    return m[1] === "bench" || m[1] === "test" ? "harness" : "app";
  }
  return "other";
}

const frameName = (f) => {
  const file = f.url ? f.url.replace(/^.*\/(?=[^/]+\/[^/]+$)/, "").replace(/\?.*$/, "") : "";
  return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
};

/**
 * Live bytes of a sampling heap profile by owner, and the app's allocation sites with the most live
 * bytes (the innermost app frame of each stack: the line of worker/ or durable-objects/ code that allocated).
 */
export function attribute(profile) {
  const by = { app: 0, harness: 0, other: 0 };
  const sites = new Map();
  const otherSites = new Map();
  const walk = (node, stack, appFrame) => {
    const url = node.callFrame.url ?? "";
    const here = [...stack, url];
    const isApp = PROJECT.test(url) && !url.includes("/node_modules/") && !/\/(bench|test)\//.test(url);
    const site = isApp ? frameName(node.callFrame) : appFrame;
    if (node.selfSize) {
      const owner = ownerOf(here);
      by[owner] += node.selfSize;
      if (owner === "app") {
        const key = site ?? frameName(node.callFrame);
        sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
      } else if (owner === "other") {
        const key = frameName(node.callFrame);
        otherSites.set(key, (otherSites.get(key) ?? 0) + node.selfSize);
      }
    }
    for (const c of node.children ?? []) walk(c, here, site);
  };
  walk(profile.head, [], null);
  const topOf = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 12);
  return { ...by, top: topOf(sites), topOther: topOf(otherSites) };
}

/** Waits for the inspector's target list, then keeps sampling the chosen targets until stop(). */
export async function startHeapSampler({
  port,
  host = "127.0.0.1",
  target,
  everyMs = 100,
  liveEveryMs = 0,
  exposedGc = false,
  timeoutMs = 120_000,
}) {
  // phase*: since the last resetPhase() (a bench's phases, e.g. 10,000 then 100,000 contacts).
  // atPeak: the owners' split at the live peak; app: the split when the app's share was largest.
  // arrayBuffersBytes: the largest ArrayBuffer backing storage left after a GC.
  const emptyLive = () => ({ peakBytes: 0, atPeak: null, appPeakBytes: 0, app: null, arrayBuffersBytes: 0, samples: 0 });
  const state = {
    peakBytes: 0,
    phasePeakBytes: 0,
    arrayBuffersPeakBytes: 0,
    phaseArrayBuffersPeakBytes: 0,
    firstBytes: 0,
    samples: 0,
    stopped: false,
    targets: [],
    error: null,
    live: emptyLive(),
    phaseLive: emptyLive(),
    liveError: null,
    // Times the live readings had to be set up again (a reloaded Worker: its figures restart).
    setUps: 0,
    // Wall time of the live readings (GC, reading and profile; the isolate runs no JS meanwhile).
    liveReadingMs: 0,
  };
  const sockets = new Map();
  const began = Date.now();
  const until = began + timeoutMs;
  let nextId = 1;

  const record = (used, arrayBuffers) => {
    // ArrayBuffer backing stores live outside the V8 heap (usedSize): an R2 read, a request body.
    if (typeof arrayBuffers === "number") {
      state.arrayBuffersPeakBytes = Math.max(state.arrayBuffersPeakBytes, arrayBuffers);
      state.phaseArrayBuffersPeakBytes = Math.max(state.phaseArrayBuffersPeakBytes, arrayBuffers);
    }
    if (!state.samples++) state.firstBytes = used;
    if (used > state.peakBytes) state.peakBytes = used;
    if (used > state.phasePeakBytes) state.phasePeakBytes = used;
  };
  const recordLive = (live, used, split, arrayBuffers) => {
    live.samples++;
    if (arrayBuffers > live.arrayBuffersBytes) live.arrayBuffersBytes = arrayBuffers;
    if (used > live.peakBytes) ((live.peakBytes = used), (live.atPeak = split));
    if (split && (!live.app || split.app > live.appPeakBytes)) ((live.appPeakBytes = split.app), (live.app = split));
  };

  const connect = (t) => {
    // wrangler's inspector proxy refuses a connection without an allowed Origin (a browser DevTools page).
    const ws = new WebSocket(t.webSocketDebuggerUrl.replace(/^ws:\/\/[^/]+/, `ws://${host}:${port}`), {
      headers: { origin: "http://localhost" },
    });
    const pending = new Map();
    // The context gc() is evaluated in (Runtime.enable announces it).
    let contextId;
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data));
      if (msg.method === "Runtime.executionContextCreated") contextId ??= msg.params.context.id;
      const done = msg.id !== undefined && pending.get(msg.id);
      if (!done) return;
      pending.delete(msg.id);
      if (process.env.HEAP_SAMPLER_DEBUG && msg.error) console.log("inspector error:", JSON.stringify(msg).slice(0, 300));
      done(msg.error ? { error: msg.error.message } : msg.result);
    });
    ws.addEventListener("close", () => sockets.delete(t.id));
    ws.addEventListener("error", () => sockets.delete(t.id));
    // Answers the result, or undefined when closed, late or refused (an isolate busy in a long
    // synchronous stretch answers late: don't stack requests behind it).
    const call = (method, params = {}, lateMs = 5_000) =>
      new Promise((resolve) => {
        if (ws.readyState !== WebSocket.OPEN) return resolve(undefined);
        const id = nextId++;
        pending.set(id, (r) => resolve(r?.error ? undefined : r));
        ws.send(JSON.stringify({ id, method, params }));
        setTimeout(() => pending.delete(id) && resolve(undefined), lateMs);
      });
    const opened = new Promise((r) => ws.addEventListener("open", r, { once: true }));
    // The context gc() runs in and the sampling profiler: set up again when a reading fails, since
    // wrangler dev reloads the Worker (a new isolate behind the same socket) when a source file changes.
    const setUp = async () => {
      contextId = undefined;
      if (exposedGc) {
        await call("Runtime.enable");
        // Only the context id was wanted, not every console line.
        await call("Runtime.disable");
      }
      await call("HeapProfiler.enable");
      const r = await call("HeapProfiler.startSampling", { samplingInterval: 32768 });
      if (!r) state.liveError = "HeapProfiler.startSampling was refused";
      return Boolean(r);
    };
    let profiling = liveEveryMs ? opened.then(setUp) : Promise.resolve(false);
    const sample = async () => {
      const r = await call("Runtime.getHeapUsage");
      if (typeof r?.usedSize === "number") record(r.usedSize, r.backingStorageSize);
    };
    // The reading under way, if any: the timer skips a turn while one is out; liveNow() waits for it.
    let inflight = null;
    const sampleLive = () => (inflight ??= readLive().finally(() => (inflight = null)));
    const readLive = async () => {
      // The three go out together so the isolate answers them in one turn, with no JS running between
      // the GC and the readings (awaited one by one, a busy isolate allocated tens of MB in between).
      // A full GC of a few hundred MB can take seconds on a loaded machine.
      const withProfile = await profiling;
      const t = Date.now();
      const [gc, r, p] = await Promise.all([
        // HeapProfiler.collectGarbage only posts a GC task (it answers later, after JS ran again): with
        // workerd started with --expose-gc, gc() runs synchronously inside this message instead.
        exposedGc
          ? call("Runtime.evaluate", { expression: "gc(), 0", contextId }, 60_000)
          : call("HeapProfiler.collectGarbage", {}, 60_000),
        call("Runtime.getHeapUsage", {}, 60_000),
        withProfile ? call("HeapProfiler.getSamplingProfile", {}, 60_000) : undefined,
      ]);
      if (!gc || gc.exceptionDetails || typeof r?.usedSize !== "number") {
        state.liveError = gc?.exceptionDetails ? "gc() is not exposed (workerd without --expose-gc)" : "a live reading failed";
        state.setUps++;
        profiling = setUp();
        return;
      }
      record(r.usedSize, r.backingStorageSize);
      state.liveReadingMs += Date.now() - t;
      if (process.env.HEAP_SAMPLER_DEBUG)
        console.log(
          `  live reading at ${((Date.now() - began) / 1000).toFixed(1)} s: ${mb(r.usedSize)} MB heap, ${mb(r.backingStorageSize ?? 0)} MB ArrayBuffers`,
        );
      const split = p?.profile ? attribute(p.profile) : null;
      recordLive(state.live, r.usedSize, split, r.backingStorageSize ?? 0);
      recordLive(state.phaseLive, r.usedSize, split, r.backingStorageSize ?? 0);
    };
    // A heap snapshot (every object and its retainers) streamed into a file: open it in Chrome DevTools
    // (Memory → Load) to see what holds the live heap. The isolate is paused while it is taken.
    const snapshot = async (file) => {
      const { createWriteStream } = await import("node:fs");
      const out = createWriteStream(file);
      const onChunk = (ev) => {
        const msg = JSON.parse(String(ev.data));
        if (msg.method === "HeapProfiler.addHeapSnapshotChunk") out.write(msg.params.chunk);
      };
      ws.addEventListener("message", onChunk);
      await call("HeapProfiler.enable");
      await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false }, 600_000);
      ws.removeEventListener("message", onChunk);
      await new Promise((r) => out.end(r));
    };
    sockets.set(t.id, { ws, sample, sampleLive, busy: () => inflight !== null, snapshot });
  };

  const discover = async () => {
    try {
      const res = await fetch(`http://${host}:${port}/json/list`);
      const list = await res.json();
      for (const t of list) if (target(t) && !sockets.has(t.id)) (connect(t), state.targets.push(t.id));
    } catch {
      // not listening yet
    }
  };

  let lastLive = Date.now();
  const loop = (async () => {
    while (!state.stopped) {
      if (!sockets.size) {
        if (Date.now() > until && !state.targets.length) {
          state.error = `no inspector target on port ${port} within ${timeoutMs / 1000}s`;
          return;
        }
        await discover();
      }
      const started = Date.now();
      if (liveEveryMs && started - lastLive >= liveEveryMs) {
        lastLive = started;
        // Not awaited: the plain samples go on while the GC and the profile are under way.
        for (const s of sockets.values()) if (!s.busy()) void s.sampleLive();
      }
      await Promise.all([...sockets.values()].map((s) => s.sample()));
      await new Promise((r) => setTimeout(r, Math.max(10, everyMs - (Date.now() - started))));
    }
  })();

  return {
    state,
    /** The peak since the last call, then starts a new phase. */
    resetPhase() {
      const peak = state.phasePeakBytes;
      state.phasePeakBytes = 0;
      return peak;
    },
    /** The live figures since the last call, then starts a new phase. */
    resetLivePhase() {
      const live = { ...state.phaseLive, arrayBuffersPeakBytes: state.phaseArrayBuffersPeakBytes };
      state.phaseLive = emptyLive();
      state.phaseArrayBuffersPeakBytes = 0;
      return live;
    },
    /** Heap snapshots of the sampled isolates, into `${prefix}-<n>.heapsnapshot`. */
    async snapshot(prefix) {
      let n = 0;
      for (const s of sockets.values()) await s.snapshot(`${prefix}-${n++}.heapsnapshot`);
    },
    /** One more live reading now (e.g. at the end of a phase). */
    async liveNow() {
      // A reading already under way may predate the caller's moment: wait for it, then take a fresh one.
      await Promise.all([...sockets.values()].map(async (s) => (await s.sampleLive(), s.sampleLive())));
    },
    /** The peak so far (bytes) and how many samples it rests on. */
    async stop() {
      state.stopped = true;
      await loop;
      for (const { ws } of sockets.values()) ws.close();
      return state;
    },
  };
}

export const mb = (bytes) => (bytes / (1024 * 1024)).toFixed(1);
