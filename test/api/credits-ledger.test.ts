import { describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { as, env } from "../helpers";
import { addContactsSetup, makeUser, sessionFor } from "../fixtures";

interface Ledger {
  entries: { job_id: string | null; job_visible: boolean; note: string }[];
}

/** A job of `userId` (on `sequenceId`, or none: a save to list) and the ledger's hold for it. */
async function jobWithHold(teamId: string, userId: string, sequenceId: string | null, note: string) {
  const id = newId();
  const t = now();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO jobs (id, team_id, user_id, kind, sequence_id, source, options, status, total, processed, created_at, finished_at) VALUES (?, ?, ?, ?, ?, '{}', '{}', 'completed', 0, 0, ?, ?)",
    ).bind(id, teamId, userId, sequenceId ? "add_contacts" : "save_to_list", sequenceId, t, t),
    env.DB.prepare(
      "INSERT INTO credit_ledger (id, team_id, kind, amount, balance_after, job_id, source, ref, note, created_at) VALUES (?, ?, 'hold', -1, 999, ?, 'people', ?, ?, ?)",
    ).bind(newId(), teamId, id, `job:${id}:hold`, note, t),
  ]);
  return id;
}

describe("the credit ledger", () => {
  it("says which jobs the caller may open: a member sees every entry, but links only to jobs of sequences they can see and their own", async () => {
    const x = await addContactsSetup();
    const memberId = await makeUser(x.teamId);
    const member = await sessionFor(x.teamId, memberId);
    const hidden = await jobWithHold(x.teamId, x.userId, x.sequenceId, "admin's add, sequence not shared");
    const adminsSave = await jobWithHold(x.teamId, x.userId, null, "admin's save to list");
    const ownSave = await jobWithHold(x.teamId, memberId, null, "member's own save");
    const read = async (s: typeof member) => {
      const l = (await (await as(s, "GET", "/api/credits/ledger?per_page=100")).json()) as Ledger;
      return Object.fromEntries(l.entries.filter((e) => e.job_id).map((e) => [e.job_id!, e.job_visible]));
    };
    expect(await read(member)).toMatchObject({ [hidden]: false, [adminsSave]: false, [ownSave]: true });
    // What it says matches what opening the job answers.
    expect((await as(member, "GET", `/api/jobs/${hidden}`)).status).toBe(404);
    expect((await as(member, "GET", `/api/jobs/${adminsSave}`)).status).toBe(404);
    expect((await as(member, "GET", `/api/jobs/${ownSave}`)).status).toBe(200);
    // Shared with the member, the sequence's job opens.
    await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, access, team_id) VALUES (?, ?, 'view', ?)")
      .bind(x.sequenceId, memberId, x.teamId)
      .run();
    expect((await read(member))[hidden]).toBe(true);
    expect((await as(member, "GET", `/api/jobs/${hidden}`)).status).toBe(200);
    expect(await read(x.s)).toMatchObject({ [hidden]: true, [adminsSave]: true, [ownSave]: true });
  });
});
