// Splits a `perf script` dump of workerd (recorded with `perf record -g`) by what each sample was doing:
// local D1's SQLite and the Durable Objects' SQLite (statements, commits, WAL checkpoints, savepoint page
// copies), garbage collection, and everything else. The isolate's own CPU profile can't see these: local D1
// is another object, and commits and journals run around the statements. Usage:
//   perf record -g -p <workerd pid> -o /tmp/w.data -- sleep 10
//   perf script -i /tmp/w.data --comm workerd | node scripts/perf-categories.mjs
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** First match wins, in this order: a sample is counted once. */
const KINDS = [
  ["savepoint page copies", (s) => s.includes("subjournalPageIfRequired")],
  ["WAL checkpoints", (s) => s.includes("sqlite3WalCheckpoint")],
  ["commits", (s) => /ExplicitTxn::commitImpl|startImplicitTxnImpl|vdbeCommit/.test(s)],
  ["statements", (s) => /sqlite3_step|sqlite3_prepare|sqlite3LockAndPrepare/.test(s)],
  ["garbage collection", (s) => /Heap::|Scavenge|MarkCompact|GarbageCollect/.test(s)],
];

/**
 * Shares of the samples by where (local D1 runs each call inside `storage.transaction`, a
 * DurableObjectTransaction; the app's objects don't use that API) and kind.
 */
export function categorize(dump) {
  const samples = dump.split(/\n\s*\n/).filter((s) => s.trim());
  const counts = new Map();
  for (const s of samples) {
    const kind = KINDS.find(([, match]) => match(s))?.[0] ?? "other (JavaScript, RPC, serialization, event loop)";
    const inD1 = s.includes("DurableObjectTransaction");
    const where = inD1
      ? "local D1"
      : kind === "statements" || kind === "commits" || kind.includes("WAL") || kind.includes("savepoint")
        ? "objects"
        : "";
    const key = `${where}\t${kind}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows = [...counts]
    .map(([key, n]) => {
      const [where, kind] = key.split("\t");
      return { where, kind, samples: n, share: samples.length ? n / samples.length : 0 };
    })
    .sort((a, b) => b.samples - a.samples);
  return { samples: samples.length, rows };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { samples, rows } = categorize(readFileSync(process.argv[2] ?? 0, "utf8"));
  console.log(`${samples} samples`);
  for (const r of rows) console.log(`${(r.share * 100).toFixed(1).padStart(5)}%  ${r.where.padEnd(8)} ${r.kind}`);
}
