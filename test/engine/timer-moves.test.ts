import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import { DUE_ROWS } from "../../durable-objects/sequence-do";
import { env } from "../helpers";
import { addContactsSetup } from "../fixtures";
import { oneLine, watchStatements, type Counted } from "./statements";

type WithTimers = { setTimers(timers: [string, number][], existing?: "move" | "keep"): void };

// A timer is set again at every step of every contact (the sending bench moves about one per email).
// INSERT OR REPLACE deleted and re-inserted its row, its id's entry and its due entry: 6 rows written.
// Moved in place, its row and its due entry are rewritten: 2. The due order must stay what REPLACE's
// new rowid gave it: among timers due at one instant, the one set last is taken last.
describe("SequenceDO timers", () => {
  it("a timer moves in place (2 rows written, not 6), keeps its place by when it was set, and 'keep' leaves one alone", async () => {
    const x = await addContactsSetup();
    const stub = sequenceStub(env, x.sequenceId);
    const T = Date.UTC(2031, 0, 6, 9);
    const ids = Array.from({ length: 40 }, (_, i) => `tm-${String(i).padStart(2, "0")}`);
    const moved = ids.filter((_, i) => i % 2 === 0).reverse();
    const writes: { q: string; cursor: Counted }[] = [];
    // The object starts (its storage migrations run) before anything is watched.
    await runInDurableObject(stub, () => {});
    const stop = await watchStatements((q, _b, cursor) => {
      if (/^INSERT\b.*\btimers\b/.test(oneLine(q))) writes.push({ q: oneLine(q), cursor });
    });
    const due = await runInDurableObject(stub, (o, state) => {
      const sql = state.storage.sql;
      for (const id of ids)
        sql.exec(
          "INSERT INTO enrollments (id, contact_id, status, waiting, created_at) VALUES (?, ?, 'active', 'timer', ?)",
          id,
          `c-${id}`,
          T,
        );
      const timers = o as unknown as WithTimers;
      timers.setTimers(ids.map((id) => [id, T]));
      // The even ones set again at the same instant, last to first: behind the odd ones, in that new order.
      timers.setTimers(moved.map((id) => [id, T]));
      // "keep" (a row bound from D1 that already has a timer here) leaves the timer where it is (moved, it would go first).
      timers.setTimers([[ids[3]!, T - 60_000]], "keep");
      return sql
        .exec<{ id: string }>(DUE_ROWS, T, 100)
        .toArray()
        .map((r) => r.id);
    });
    stop();
    expect(due).toEqual([...ids.filter((_, i) => i % 2 === 1), ...moved]);
    // A new timer: its row, its id's entry, its due entry. A move: its row and its due entry (REPLACE: 6).
    expect(writes.map((w) => w.cursor.rowsWritten)).toEqual([3 * ids.length, 2 * moved.length, 0]);
  });
});
