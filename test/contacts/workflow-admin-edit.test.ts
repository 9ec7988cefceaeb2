import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { client, env, errorOf, ok } from "../helpers";
import { addContactsSetup, makeMailbox, makeSequence, makeUser, sessionFor } from "../fixtures";

beforeEach(() => resetClock());

/**
 * A member's workflow runs as the member: an admin's edit that points it at a sequence the member can't edit,
 * or a mailbox the member can't send from, is refused (422 naming the field), not saved for the member's next
 * run to fail "forbidden" and turn the workflow off.
 */
describe("an admin editing a member's workflow", () => {
  async function setup() {
    const x = await addContactsSetup();
    const memberId = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    const member = client(await sessionFor(x.teamId, memberId)).api;
    const memberMailbox = await makeMailbox(x.teamId, memberId);
    const { workflow } = await ok(
      member.workflows.$post({ json: { name: "Member's", sequence_id: x.sequenceId, filters: {}, mailbox_ids: [memberMailbox] } }),
      201,
    );
    // The admin's own sequence, not shared with the member.
    const { sequenceId: adminSequence } = await makeSequence(x.teamId, x.userId, [{ wait: 0 }], x.scheduleId);
    const admin = client(x.s).api;
    const row = () =>
      env.DB.prepare("SELECT sequence_id, options FROM workflows WHERE id = ?")
        .bind(workflow.id)
        .first<{ sequence_id: string; options: string }>();
    return { ...x, admin, workflow, adminSequence, memberMailbox, row };
  }

  it("is refused for a sequence the owner can't edit (422 naming sequence_id); the workflow is unchanged", async () => {
    const x = await setup();
    const before = await x.row();
    const res = await x.admin.workflows[":id"].$patch({ param: { id: x.workflow.id }, json: { sequence_id: x.adminSequence } });
    expect(res.status).toBe(422);
    const e = await errorOf(res);
    expect(e.code).toBe("validation_failed");
    expect(JSON.stringify(e)).toContain('"field":"sequence_id"');
    expect(await x.row()).toEqual(before);
  });

  it("is refused for a mailbox the owner can't send from (422 naming mailbox_ids); one of the owner's is taken", async () => {
    const x = await setup();
    const before = await x.row();
    const res = await x.admin.workflows[":id"].$patch({ param: { id: x.workflow.id }, json: { mailbox_ids: [x.mailboxIds[0]!] } });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await errorOf(res))).toContain('"field":"mailbox_ids"');
    expect(await x.row()).toEqual(before);
    await ok(x.admin.workflows[":id"].$patch({ param: { id: x.workflow.id }, json: { name: "Renamed", mailbox_ids: [x.memberMailbox] } }));
  });
});
