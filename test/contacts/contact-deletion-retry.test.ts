import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller, Env } from "../../worker/env";
import { deleteContacts } from "../../worker/services/contact-deletion";
import { env } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam } from "../fixtures";

// Deleting a contact removes its runs through their SequenceDOs. When one of those calls fails, a retry of the
// deletion must still find the runs: marked deleted first, the contact was gone for the retry, which removed
// nothing, and its run stayed open (paused or active) for a contact that no longer exists.

/** The environment with each SequenceDO's transition (remove, finish, …) failing the first `n` times. */
function sequenceFailing(n: number): Env {
  let left = n;
  const ns = env.SEQUENCE_DO;
  return {
    ...env,
    SEQUENCE_DO: {
      idFromName: (name: string) => ns.idFromName(name),
      get: (id: DurableObjectId) => {
        const stub = ns.get(id);
        return new Proxy(stub, {
          get(target, prop) {
            if (prop === "transition" && left > 0) {
              left--;
              return () => Promise.reject(new Error("SequenceDO unavailable"));
            }
            const v = Reflect.get(target, prop);
            return typeof v === "function" ? v.bind(target) : v;
          },
        });
      },
    } as unknown as Env["SEQUENCE_DO"],
  };
}

describe("deleting contacts when a sequence's engine fails", () => {
  it("a retry removes the runs the failed try left open, and the contacts are deleted", async () => {
    const { teamId, userId } = await makeTeam();
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 1 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, {});
    const ids = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, ids, [mb]);
    await env.DB.prepare("UPDATE enrollments SET status = 'paused' WHERE contact_id = ?").bind(ids[0]).run();
    const open = () =>
      env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND status IN ('scheduled', 'active', 'paused', 'held')")
        .bind(sequenceId)
        .first<{ n: number }>()
        .then((r) => r!.n);
    const live = () =>
      env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE team_id = ? AND deleted_at IS NULL")
        .bind(teamId)
        .first<{ n: number }>()
        .then((r) => r!.n);
    expect(await open()).toBe(3);

    await expect(deleteContacts(sequenceFailing(1), db(env.DB), caller, ids)).rejects.toThrow(/SequenceDO unavailable/);
    const again = await deleteContacts(env, db(env.DB), caller, ids);
    expect(again).toMatchObject({ updated: 3, removed_from_sequences: 3, not_found: [] });
    expect(await open()).toBe(0);
    expect(await live()).toBe(0);
    const rows = await env.DB.prepare("SELECT DISTINCT status, reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).all();
    expect(rows.results).toEqual([{ status: "removed", reason: "contact_deleted" }]);
  });
});
