// The Reassign picker offers only users the API would give the task to: active, and able to edit its
// sequence (an admin, its owner, an editor). Before, it listed every team user, and picking a member the
// sequence isn't shared with for editing, or a viewer, was a 422.
import { beforeEach, describe, expect, it } from "vitest";
import { env, errorOf, ok } from "../helpers";
import { makeUser, startSimulation } from "../fixtures";
import { onACall } from "./on-a-call";

beforeEach(() => startSimulation());

describe("an open task's assignable users", () => {
  it("are the active admins, the sequence's owner and its editors: not a viewer, an unshared member or a disabled editor", async () => {
    const x = await onACall(1);
    const editor = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    const viewer = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "view" });
    const unshared = await makeUser(x.teamId, "member");
    const gone = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "edit" });
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(gone).run();

    const [task] = (await ok(x.api.tasks.$get({ query: { view: "open" } }))).tasks;
    expect([...task!.assignable_ids].sort()).toEqual([x.userId, editor].sort());
    // Each one offered is taken by PATCH; one left out is refused.
    expect((await ok(x.api.tasks[":id"].$patch({ param: { id: task!.id }, json: { assignee_id: editor } }))).task.assignee_id).toBe(editor);
    for (const u of [viewer, unshared])
      expect((await errorOf(await x.api.tasks[":id"].$patch({ param: { id: task!.id }, json: { assignee_id: u } }))).status).toBe(422);
  });
});
