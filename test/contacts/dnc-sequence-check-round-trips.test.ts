// Before a Do Not Contact change (or a delete) ends contacts' runs, the caller is checked to edit every sequence
// they are in (refuseLockedRuns). That check read one sequence per D1 round trip, one after another: a change
// touching many sequences waited on each. Now every sequence's check goes in one batch.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { ApiError } from "../../worker/lib/errors";
import { countingD1 } from "../../worker/middleware/d1-count";
import { refuseLockedRuns } from "../../worker/services/contacts";
import { env } from "../helpers";
import { makeContacts, makeSequence, makeTeam, makeUser } from "../fixtures";

const share = (teamId: string, sequenceId: string, userId: string) =>
  env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'edit')")
    .bind(sequenceId, userId, teamId)
    .run();

describe("refuseLockedRuns: the caller's right to edit each sequence", () => {
  it("checks three sequences in one round trip, and still refuses the one not shared for editing", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const seqs: string[] = [];
    for (let i = 0; i < 3; i++) seqs.push((await makeSequence(teamId, admin, [{ wait: 5 }], null)).sequenceId);
    const cs = (await makeContacts(teamId, 3)) as string[];
    const member = await makeUser(teamId, "member");
    await share(teamId, seqs[0]!, member);
    await share(teamId, seqs[1]!, member);
    const open = seqs.map((sequenceId, i) => ({ id: `run-${i}`, sequenceId, contactId: cs[i]! }));
    const caller: Caller = { teamId, userId: member, role: "member", via: "session" };

    const counted = countingD1(env.DB);
    const refused = await refuseLockedRuns(db(counted.db), caller, open, "moving them to Do Not Contact").catch((e: unknown) => e);
    expect(counted.count.roundTrips, counted.count.statements.join("\n")).toBe(1);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).message).toMatch(/^1 of these contacts is in a sequence you can't edit/);

    // Shared for editing, all three pass, again in one round trip.
    await share(teamId, seqs[2]!, member);
    counted.reset();
    await refuseLockedRuns(db(counted.db), caller, open, "moving them to Do Not Contact");
    expect(counted.count.roundTrips).toBe(1);
  });
});
