// scripts/perf-categories.mjs: each `perf script` sample counted once, by where (local D1 or the objects)
// and what (statements, commits, checkpoints, savepoint copies), the first matching kind winning. The frames
// are trimmed from a real recording of workerd (bench sending), in `perf script`'s own layout.
import assert from "node:assert/strict";
import { test } from "node:test";
import { categorize } from "../../scripts/perf-categories.mjs";

const BIN = "(/work/main/node_modules/@cloudflare/workerd-linux-64/bin/workerd)";
const sample = (...frames) =>
  `workerd 16054 82586.580881:    2004008 cpu-clock:ppp: \n${frames.map((f) => `\t         406990b ${f}+0x1e ${BIN}`).join("\n")}\n`;
// Local D1 runs each call inside storage.transaction: its callback's frame names DurableObjectTransaction.
const D1_TXN =
  "workerd::jsg::Function<workerd::jsg::Promise<workerd::jsg::JsRef<workerd::jsg::JsValue> > (workerd::jsg::Ref<workerd::api::DurableObjectTransaction>)>::operator()";
const TXN_SYNC = "workerd::api::DurableObjectStorage::transactionSync";

test("splits samples by D1 or the objects, and a page copy inside a statement counts as a page copy", () => {
  const dump = [
    // local D1: a statement, a savepoint copy under a statement, and its own JavaScript
    sample("jsonStringGrow", "sqlite3VdbeExec", "sqlite3_step", "workerd::SqliteDatabase::Query::nextRow", D1_TXN),
    sample("__libc_pwrite", "memjrnlWrite", "subjournalPageIfRequired", "pager_write", "sqlite3_step", D1_TXN),
    sample("v8::internal::JsonStringifier::SerializeString<false>", D1_TXN),
    // the objects: a statement, a page copy in transactionSync, a commit with a checkpoint, a plain commit
    sample("sqlite3VdbeExec", "sqlite3_step", "workerd::api::SqlStorage::exec"),
    sample("__libc_pwrite", "subjournalPageIfRequired", "pager_write", "sqlite3_step", "workerd::api::SqlStorage::exec", TXN_SYNC),
    sample("__libc_pwrite", "sqlite3WalCheckpoint", "sqlite3WalDefaultHook", "vdbeCommit", "workerd::ActorSqlite::startImplicitTxnImpl"),
    sample("pagerWalFrames", "vdbeCommit", "sqlite3VdbeHalt", "workerd::ActorSqlite::startImplicitTxnImpl"),
    // neither: a collection, and JavaScript twice
    sample("v8::internal::Heap::CollectGarbage"),
    sample("Builtins_JSEntry"),
    sample("Builtins_JSEntry"),
  ].join("\n");
  const { samples, rows } = categorize(dump);
  assert.equal(samples, 10);
  const n = (id) => rows.find((r) => r.id === id)?.samples ?? 0;
  assert.deepEqual(Object.fromEntries(rows.map((r) => [r.id, r.samples])), {
    d1_statements: 1,
    d1_savepoint_copies: 1,
    d1_other: 1,
    objects_statements: 1,
    objects_savepoint_copies: 1,
    objects_wal_checkpoints: 1,
    objects_commits: 1,
    app_gc: 1,
    app_other: 2,
  });
  assert.equal(rows[0].id, "app_other", "the largest first");
  assert.equal(rows[0].share, 0.2);
  assert.equal(n("d1_savepoint_copies") + n("objects_savepoint_copies"), 2, "a copy under a statement is a copy");
});
