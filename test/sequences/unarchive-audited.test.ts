// Archiving a sequence was audited and bringing it back was not: the audit log showed a sequence
// archived that was live again, with no word of who brought it back or when.
import { describe, expect, it } from "vitest";
import { makeSequence, makeTeam, makeUser, sessionFor } from "../fixtures";
import { client, env, ok } from "../helpers";

const auditOf = async (sequenceId: string) =>
  (
    await env.DB.prepare("SELECT action, user_id FROM audit_log WHERE target_id = ? AND action LIKE 'sequence.%archive' ORDER BY rowid")
      .bind(sequenceId)
      .all<{ action: string; user_id: string }>()
  ).results;

describe("unarchiving a sequence", () => {
  it("is audited with who did it, after the archive; bringing back one not archived writes nothing", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const admin = await makeUser(teamId, "admin");
    const owner = client(await sessionFor(teamId, userId)).api.sequences[":id"];
    const other = client(await sessionFor(teamId, admin)).api.sequences[":id"];
    const param = { id: sequenceId };

    await ok(owner.archive.$post({ param }));
    const back = (await ok(other.unarchive.$post({ param }))).sequence;
    expect(back.archived_at).toBeNull();
    expect(await auditOf(sequenceId)).toEqual([
      { action: "sequence.archive", user_id: userId },
      { action: "sequence.unarchive", user_id: admin },
    ]);

    await ok(other.unarchive.$post({ param }));
    expect(await auditOf(sequenceId)).toHaveLength(2);
  });
});
