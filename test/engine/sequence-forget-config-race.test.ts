// SequenceDO.forget() while a config load waits on D1: the load, answering after the forget, wrote the steps'
// places back into the storage the forget had just emptied (followStepPlaces). A load started before the forget
// no longer applies its places.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import type { SequenceDO } from "../../durable-objects/sequence-do";
import { db } from "../../worker/db/client";
import { env } from "../helpers";
import { makeSequence, makeTeam } from "../fixtures";

/** A D1 whose first `first()` (the config load's one read) is answered only once `release` is called. */
function heldD1() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let held = false;
  let reached!: () => void;
  const waiting = new Promise<void>((r) => (reached = r));
  const DB = new Proxy(env.DB, {
    get(t, k) {
      if (k === "prepare")
        return (q: string) => {
          const stmt = t.prepare(q);
          const wrap = (s: D1PreparedStatement): D1PreparedStatement => {
            const first = s.first.bind(s) as (...a: unknown[]) => Promise<unknown>;
            (s as unknown as { first: (...a: unknown[]) => Promise<unknown> }).first = async (...a: unknown[]) => {
              // The read is made now (the sequence still in D1); its answer waits.
              const answer = await first(...a);
              if (!held) {
                held = true;
                reached();
                await gate;
              }
              return answer;
            };
            const bind = s.bind.bind(s);
            s.bind = (...a: unknown[]) => wrap(bind(...a));
            return s;
          };
          return wrap(stmt);
        };
      const v: unknown = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return { DB, release, waiting };
}

describe("SequenceDO.forget() with a config load in flight", () => {
  it("the load answering after the forget writes no step places back", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }], null);
    await runInDurableObject(sequenceStub(env, sequenceId), async (instance: SequenceDO, state) => {
      const held = heldD1();
      (instance as unknown as { d: unknown }).d = db(held.DB);
      const following = instance.followSteps(sequenceId, teamId).catch(() => undefined);
      await held.waiting;
      // As deleteSequence does: D1's rows go, then the object forgets (a load from now on finds no sequence).
      await env.DB.batch([
        env.DB.prepare("DELETE FROM steps WHERE sequence_id = ?").bind(sequenceId),
        env.DB.prepare("DELETE FROM sequence_counts WHERE sequence_id = ?").bind(sequenceId),
        env.DB.prepare("DELETE FROM sequences WHERE id = ?").bind(sequenceId),
      ]);
      expect(await instance.forget(sequenceId)).toBe(true);
      held.release();
      await following;
      const meta = state.storage.sql
        .exec<{ key: string }>("SELECT key FROM meta WHERE key IN ('step_places', 'step_ids') ORDER BY key")
        .toArray();
      expect(meta).toEqual([]);
    });
  });
});
