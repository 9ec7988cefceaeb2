import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { ApiError } from "../../worker/lib/errors";
import { createWorkflow, updateWorkflow } from "../../worker/services/workflows";
import { env } from "../helpers";
import { addContactsSetup, makeSequence } from "../fixtures";

// A workflow saved while its sequence is deleted: the delete's in-batch guard sees only workflows that exist when
// its batch runs, and the save read the sequence (checkTargets) before the delete committed. The save's own write
// must hold only while the sequence exists, or the workflow points at nothing.

/**
 * A D1 whose first batch writing a workflow waits for `hook` first (the delete committing between the save's
 * read of the sequence and its write); the reads before it (some of them batches) go through untouched.
 */
function deletesBeforeWrite(hook: () => Promise<void>): { DB: D1Database; fired: () => boolean } {
  let fired = false;
  const sqlOf = new WeakMap<object, string>();
  const writesWorkflow = (q: string) => /^\s*(insert into|update) "workflows"/i.test(q);
  const DB = new Proxy(env.DB, {
    get(t, k) {
      if (k === "prepare")
        return (q: string) => {
          const stmt = t.prepare(q);
          const bind = stmt.bind.bind(stmt);
          stmt.bind = (...a: unknown[]) => {
            const bound = bind(...a);
            sqlOf.set(bound, q);
            return bound;
          };
          sqlOf.set(stmt, q);
          return stmt;
        };
      if (k === "batch")
        return async (stmts: D1PreparedStatement[]) => {
          if (!fired && stmts.some((s) => writesWorkflow(sqlOf.get(s) ?? ""))) {
            fired = true;
            await hook();
          }
          return t.batch(stmts);
        };
      const v: unknown = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return { DB, fired: () => fired };
}

const dropSequence = (id: string) => async () => {
  await env.DB.batch([
    env.DB.prepare("DELETE FROM steps WHERE sequence_id = ?").bind(id),
    env.DB.prepare("DELETE FROM sequence_counts WHERE sequence_id = ?").bind(id),
    env.DB.prepare("DELETE FROM sequences WHERE id = ?").bind(id),
  ]);
};

const count = async (q: string, ...b: unknown[]) =>
  (await env.DB.prepare(q)
    .bind(...b)
    .first<{ n: number }>())!.n;

describe("a workflow saved while its sequence is deleted", () => {
  it("create: nothing is written (no workflow, no audit entry) and it answers 404", async () => {
    const x = await addContactsSetup();
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    const race = deletesBeforeWrite(dropSequence(x.sequenceId));
    const d = db(race.DB);
    const err = await createWorkflow(d, caller, {
      name: "Orphan",
      sequence_id: x.sequenceId,
      filters: {},
      mailbox_ids: [x.mailboxIds[0]!],
    } as Parameters<typeof createWorkflow>[2]).catch((e: unknown) => e);
    expect(race.fired()).toBe(true);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
    expect(await count("SELECT count(*) AS n FROM sequences WHERE id = ?", x.sequenceId)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM workflows WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM audit_log WHERE team_id = ? AND action = 'workflow.create'", x.teamId)).toBe(0);
  });

  it("update to another sequence: the workflow keeps its sequence, nothing is audited, and it answers 404", async () => {
    const x = await addContactsSetup();
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    const id = await createWorkflow(db(env.DB), caller, {
      name: "Moves",
      sequence_id: x.sequenceId,
      filters: {},
      mailbox_ids: [x.mailboxIds[0]!],
    } as Parameters<typeof createWorkflow>[2]);
    const other = (await makeSequence(x.teamId, x.userId, [{ wait: 0 }], x.scheduleId, false)).sequenceId;
    const race = deletesBeforeWrite(dropSequence(other));
    const d = db(race.DB);
    const err = await updateWorkflow(d, caller, id, { sequence_id: other, name: "Renamed" }).catch((e: unknown) => e);
    expect(race.fired()).toBe(true);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
    expect(await env.DB.prepare("SELECT sequence_id, name FROM workflows WHERE id = ?").bind(id).first()).toEqual({
      sequence_id: x.sequenceId,
      name: "Moves",
    });
    expect(await count("SELECT count(*) AS n FROM audit_log WHERE team_id = ? AND action = 'workflow.update'", x.teamId)).toBe(0);
  });
});
