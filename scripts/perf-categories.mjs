// Splits a `perf script` dump of workerd (recorded with `perf record -g`) by what each sample was doing:
// local D1's SQLite and the Durable Objects' SQLite (statements, commits, WAL checkpoints, savepoint page
// copies), garbage collection, and everything else. The isolate's own CPU profile can't see these: local D1
// is another object, and commits and journals run around the statements. `BENCH_PERF=1 npm run bench`
// records and splits each marked span itself (bench/run.mjs); by hand:
//   perf record -g -p <workerd pid> -o /tmp/w.data -- sleep 10
//   perf script -i /tmp/w.data --comm workerd | node scripts/perf-categories.mjs
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** First match wins, in this order: a sample is counted once. [name, id in a bench line, match] */
const KINDS = [
  ["savepoint page copies", "savepoint_copies", (s) => s.includes("subjournalPageIfRequired")],
  ["WAL checkpoints", "wal_checkpoints", (s) => s.includes("sqlite3WalCheckpoint")],
  ["commits", "commits", (s) => /ExplicitTxn::commitImpl|startImplicitTxnImpl|vdbeCommit/.test(s)],
  ["statements", "statements", (s) => /sqlite3_step|sqlite3_prepare|sqlite3LockAndPrepare/.test(s)],
  // A collection, not an allocation that merely passes through the heap's code.
  [
    "garbage collection",
    "gc",
    (s) => /Heap::(CollectGarbage|PerformGarbageCollection)|Scaveng|MarkCompact|ConcurrentMarking|Sweeper/.test(s),
  ],
];
const OTHER = ["other (JavaScript, RPC, serialization, event loop)", "other"];
const STORAGE = new Set(["savepoint_copies", "wal_checkpoints", "commits", "statements"]);

/**
 * Shares of the samples by where and kind. Local D1 runs each call inside `storage.transaction` (a
 * DurableObjectTransaction in the stack); the app's objects never use that API, so the rest of the
 * storage work is theirs. `id` names a row in a bench line: d1_statements, objects_commits, app_other.
 */
export function categorize(dump) {
  const samples = dump.split(/\n\s*\n/).filter((s) => s.trim());
  const counts = new Map();
  for (const s of samples) {
    const [kind, slug] = KINDS.find(([, , match]) => match(s)) ?? OTHER;
    const where = s.includes("DurableObjectTransaction") ? "local D1" : STORAGE.has(slug) ? "objects" : "";
    const key = `${where}\t${kind}\t${slug}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows = [...counts]
    .map(([key, n]) => {
      const [where, kind, slug] = key.split("\t");
      const id = `${where === "local D1" ? "d1" : where || "app"}_${slug}`;
      return { where, kind, id, samples: n, share: samples.length ? n / samples.length : 0 };
    })
    .sort((a, b) => b.samples - a.samples);
  return { samples: samples.length, rows };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { samples, rows } = categorize(readFileSync(process.argv[2] ?? 0, "utf8"));
  console.log(`${samples} samples`);
  for (const r of rows) console.log(`${(r.share * 100).toFixed(1).padStart(5)}%  ${r.where.padEnd(8)} ${r.kind}`);
}
