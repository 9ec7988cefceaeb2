// scripts/perf-categories.mjs: each `perf script` sample counted once, by where (local D1 or the objects)
// and what (statements, commits, checkpoints, savepoint copies), the first matching kind winning.
import assert from "node:assert/strict";
import { test } from "node:test";
import { categorize } from "../../scripts/perf-categories.mjs";

const sample = (...frames) => `workerd 1 [000] 1.0: 1 cpu-clock:\n${frames.map((f) => `\t    1 ${f} (/bin/workerd)`).join("\n")}\n`;

test("splits samples by D1 or the objects, and a page copy inside a statement counts as a page copy", () => {
  const dump = [
    // local D1: a statement inside its storage.transaction, and a savepoint copy under a statement
    sample("sqlite3VdbeExec", "sqlite3_step", "workerd::api::DurableObjectTransaction::get"),
    sample("__libc_pwrite", "subjournalPageIfRequired", "sqlite3_step", "workerd::api::DurableObjectTransaction::get"),
    // the objects: a statement, a commit with a checkpoint, a plain commit
    sample("sqlite3VdbeExec", "sqlite3_step", "workerd::api::SqlStorage::exec"),
    sample("__libc_pwrite", "sqlite3WalCheckpoint", "vdbeCommit", "workerd::ActorSqlite::startImplicitTxnImpl"),
    sample("pagerWalFrames", "vdbeCommit", "workerd::ActorSqlite::startImplicitTxnImpl"),
    // neither
    sample("v8::internal::Heap::CollectGarbage"),
    sample("Builtins_JSEntry"),
    sample("Builtins_JSEntry"),
  ].join("\n");
  const { samples, rows } = categorize(dump);
  assert.equal(samples, 8);
  const n = (where, kind) => rows.find((r) => r.where === where && r.kind === kind)?.samples ?? 0;
  assert.equal(n("local D1", "statements"), 1);
  assert.equal(n("local D1", "savepoint page copies"), 1);
  assert.equal(n("objects", "statements"), 1);
  assert.equal(n("objects", "WAL checkpoints"), 1);
  assert.equal(n("objects", "commits"), 1);
  assert.equal(n("", "garbage collection"), 1);
  assert.deepEqual(
    rows.map((r) => r.id).sort(),
    ["app_gc", "app_other", "d1_savepoint_copies", "d1_statements", "objects_commits", "objects_statements", "objects_wal_checkpoints"],
    "the names of bench lines",
  );
  assert.equal(rows[0].samples, 2, "the largest first");
  assert.equal(rows[0].share, 0.25);
  assert.equal(
    rows.reduce((t, r) => t + r.samples, 0),
    8,
    "each sample counted once",
  );
});
