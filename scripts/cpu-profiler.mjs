// A sampled CPU profile of a workerd isolate, through the V8 inspector (Chrome DevTools Protocol,
// `Profiler` domain), and a summary of where the time went: self time per function and the time
// spent inside each function including what it called (once per sample, so recursion doesn't count
// twice). `npm run bench` takes one between a bench's `bench-cpu-mark` lines when BENCH_CPU_PROFILE
// names a file; open that file in Chrome DevTools (Performance → Load profile) for the flame chart.
//
//   const p = await connectProfiler({ port, target: (t) => t.id.startsWith("core:user:") });
//   await p.start(); ...; const profile = await p.stop(); console.log(summarize(profile));

export async function connectProfiler({ port, host = "127.0.0.1", target, intervalUs = 250, timeoutMs = 120_000 }) {
  const until = Date.now() + timeoutMs;
  let t;
  while (!t) {
    try {
      t = (await (await fetch(`http://${host}:${port}/json/list`)).json()).find(target);
    } catch {
      // not listening yet
    }
    if (!t) {
      if (Date.now() > until) throw new Error(`no inspector target on port ${port}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // wrangler's inspector proxy refuses a connection without an allowed Origin.
  const ws = new WebSocket(t.webSocketDebuggerUrl.replace(/^ws:\/\/[^/]+/, `ws://${host}:${port}`), {
    headers: { origin: "http://localhost" },
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", reject, { once: true });
  });
  let nextId = 1;
  const pending = new Map();
  ws.addEventListener("message", (ev) => {
    const msg = JSON.parse(String(ev.data));
    const p = msg.id !== undefined && pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${msg.error.message}`));
    else p.resolve(msg.result);
  });
  // workerd ending (the bench's last test) closes the socket: nothing pending waits forever.
  ws.addEventListener("close", () => {
    for (const p of pending.values()) p.reject(new Error("the inspector closed the connection"));
    pending.clear();
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  if (intervalUs) await call("Profiler.setSamplingInterval", { interval: intervalUs });
  return {
    start: () => call("Profiler.start"),
    async stop() {
      const { profile } = await call("Profiler.stop");
      ws.close();
      return profile;
    },
    close: () => ws.close(),
  };
}

const frameName = (f) => {
  const file = f.url ? f.url.replace(/^.*\/(?=[^/]+\/[^/]+$)/, "") : "";
  return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
};

/** Samples come every 250 µs; one standing for more than this is a gap in sampling. */
const GAP_US = 100_000;

/** The top functions by self time and by total time, as text lines. */
export function summarize(profile, { top = 40 } = {}) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const deltas = profile.timeDeltas ?? [];
  const self = new Map();
  const total = new Map();
  let all = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    // A sample stands for the time until the next one.
    let us = deltas[i + 1] ?? deltas[i] ?? 0;
    // A gap far longer than the sampling interval is time the profiler didn't sample (it was
    // attached while the isolate waited), not CPU of the frame that happens to be next to it.
    if (us > GAP_US) us = 0;
    const n = nodes.get(id);
    const name = frameName(n.callFrame);
    all += us;
    if (n.callFrame.functionName === "(idle)" || n.callFrame.functionName === "(program)") idle += us;
    self.set(name, (self.get(name) ?? 0) + us);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const nm = frameName(nodes.get(cur).callFrame);
      if (seen.has(nm)) continue;
      seen.add(nm);
      total.set(nm, (total.get(nm) ?? 0) + us);
    }
  });
  const pct = (us) => `${((100 * us) / Math.max(1, all)).toFixed(1).padStart(5)}%`;
  const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const lines = [`profile: ${(all / 1000).toFixed(0)} ms sampled, idle/program ${pct(idle)}`, "self time:"];
  for (const [n, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${ms(us)} ${pct(us)}  ${n}`);
  lines.push("total time (self + callees):");
  for (const [n, us] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${ms(us)} ${pct(us)}  ${n}`);
  return lines.join("\n");
}
