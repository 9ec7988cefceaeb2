// The largest JS heap seen in a workerd isolate, read through the V8 inspector (Chrome DevTools
// Protocol, `Runtime.getHeapUsage`: the V8 heap's used bytes) every `everyMs` while a benchmark runs.
// workerd's inspector lists one target per worker; in local workerd the Worker and its Durable Objects
// share one isolate, so the peak is an upper bound of what any one request, batch or alarm held.
//
//   const s = await startHeapSampler({ port, target: (t) => t.id.startsWith("core:user:") });
//   ...; const { peakBytes, firstBytes } = await s.stop();
// The first sample is the isolate soon after start (for `npm run bench`: the vitest runner and the
// Worker's modules loaded), so the peak minus it is what the benchmark itself added at most.

/** Waits for the inspector's target list, then keeps sampling the chosen targets until stop(). */
export async function startHeapSampler({ port, host = "127.0.0.1", target, everyMs = 100, timeoutMs = 120_000 }) {
  // phasePeakBytes: the peak since the last resetPhase() (a bench's phases, e.g. 10,000 then 100,000 contacts).
  const state = { peakBytes: 0, phasePeakBytes: 0, firstBytes: 0, samples: 0, stopped: false, targets: [], error: null };
  const sockets = new Map();
  const until = Date.now() + timeoutMs;
  let nextId = 1;

  const connect = (t) => {
    // wrangler's inspector proxy refuses a connection without an allowed Origin (a browser DevTools page).
    const ws = new WebSocket(t.webSocketDebuggerUrl.replace(/^ws:\/\/[^/]+/, `ws://${host}:${port}`), {
      headers: { origin: "http://localhost" },
    });
    const pending = new Map();
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data));
      const done = msg.id !== undefined && pending.get(msg.id);
      if (!done) return;
      pending.delete(msg.id);
      const used = msg.result?.usedSize;
      if (typeof used === "number") {
        if (!state.samples++) state.firstBytes = used;
        if (used > state.peakBytes) state.peakBytes = used;
        if (used > state.phasePeakBytes) state.phasePeakBytes = used;
      }
      done();
    });
    ws.addEventListener("close", () => sockets.delete(t.id));
    ws.addEventListener("error", () => sockets.delete(t.id));
    const sample = () =>
      new Promise((resolve) => {
        if (ws.readyState !== WebSocket.OPEN) return resolve();
        const id = nextId++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method: "Runtime.getHeapUsage" }));
        // An isolate busy in a long synchronous stretch answers late: don't stack requests behind it.
        setTimeout(() => pending.delete(id) && resolve(), 5_000);
      });
    sockets.set(t.id, { ws, sample });
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
