import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import { makeMailbox, makeSequence, makeTeam, makeUser, sessionFor } from "../fixtures";
import { newId } from "../../worker/lib/ids";

beforeEach(() => resetClock());

const row = (id: string) =>
  env.DB.prepare("SELECT user_id, status, sender_name FROM mailboxes WHERE id = ?")
    .bind(id)
    .first<{ user_id: string; status: string; sender_name: string }>();

/**
 * A disabled user's mailboxes were disconnected with no way to a new owner: the PATCH had no user_id (only
 * connecting one took it). An admin gives one to an active user of the team, who may then edit it and send from it.
 */
describe("giving a mailbox a new owner", () => {
  async function setup() {
    const t = await makeTeam();
    const admin = client(await sessionFor(t.teamId, t.userId)).api;
    const repId = await makeUser(t.teamId, "member");
    const rep = client(await sessionFor(t.teamId, repId)).api;
    const nextId = await makeUser(t.teamId, "member");
    const next = client(await sessionFor(t.teamId, nextId)).api;
    const mailboxId = await makeMailbox(t.teamId, repId);
    return { ...t, admin, rep, repId, next, nextId, mailboxId };
  }

  it("a member can't give their own mailbox away (403); it stays theirs", async () => {
    const x = await setup();
    const res = await x.rep.mailboxes[":id"].$patch({ param: { id: x.mailboxId }, json: { user_id: x.nextId } });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toContain("Only an admin");
    expect((await row(x.mailboxId))!.user_id).toBe(x.repId);
  });

  it("refuses another team's user or a disabled one (422 naming user_id); nothing is saved", async () => {
    const x = await setup();
    const other = await makeTeam("Other");
    const disabledId = await makeUser(x.teamId, "member");
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(disabledId).run();
    for (const [user_id, words] of [
      [other.userId, "No such user in your team"],
      [disabledId, "This user is disabled"],
    ] as const) {
      const res = await x.admin.mailboxes[":id"].$patch({ param: { id: x.mailboxId }, json: { user_id, sender_name: "Changed" } });
      expect(res.status).toBe(422);
      expect(fieldsOf(await errorOf(res))).toMatchObject([{ field: "user_id", message: words }]);
    }
    expect(await row(x.mailboxId)).toMatchObject({ user_id: x.repId, sender_name: "Sim Sender" });
  });

  it("a disabled user's mailbox is given by an admin to another user: theirs to edit and reconnect, still disconnected until then", async () => {
    const x = await setup();
    await ok(x.admin.users[":id"].$patch({ param: { id: x.repId }, json: { disabled: true } }));
    expect((await row(x.mailboxId))!.status).toBe("disconnected");
    // Before: not the next user's to change.
    expect((await x.next.mailboxes[":id"].$patch({ param: { id: x.mailboxId }, json: { sender_name: "Mine" } })).status).toBe(403);

    const { mailbox } = await ok(x.admin.mailboxes[":id"].$patch({ param: { id: x.mailboxId }, json: { user_id: x.nextId } }));
    expect(mailbox).toMatchObject({ user_id: x.nextId, status: "disconnected" });
    expect(await row(x.mailboxId)).toMatchObject({ user_id: x.nextId, status: "disconnected" });
    const audit = await env.DB.prepare("SELECT details FROM audit_log WHERE action = 'mailbox.update' AND target_id = ?")
      .bind(x.mailboxId)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ user_id: x.nextId, previous_user_id: x.repId });

    // The new owner edits it and reconnects it.
    await ok(x.next.mailboxes[":id"].$patch({ param: { id: x.mailboxId }, json: { sender_name: "Mine" } }));
    await ok(x.next.mailboxes[":id"].reconnect.$post({ param: { id: x.mailboxId } }));
    expect(await row(x.mailboxId)).toMatchObject({ user_id: x.nextId, status: "connected", sender_name: "Mine" });
  });

  it("answers as warnings the workflows of other members that send from it: they would fail mailbox.send at their next run and turn off", async () => {
    const x = await setup();
    const otherMailbox = await makeMailbox(x.teamId, x.repId);
    const { sequenceId: seq } = await makeSequence(x.teamId, x.repId, [], null);
    const workflow = (owner: string, name: string, mailboxIds: string[], active = 1) =>
      env.DB.prepare(
        "INSERT INTO workflows (id, team_id, owner_id, name, sequence_id, filters, options, interval_minutes, max_per_run, active, created_at) VALUES (?, ?, ?, ?, ?, '{}', ?, 1440, 10, ?, 0)",
      )
        .bind(newId(), x.teamId, owner, name, seq, JSON.stringify({ mailbox_ids: mailboxIds }), active)
        .run();
    await env.DB.prepare("UPDATE users SET name = 'Sam' WHERE id = ?").bind(x.repId).run();
    await workflow(x.repId, "Weekly VP adds", [otherMailbox, x.mailboxId]);
    await workflow(x.repId, "Paused one", [x.mailboxId], 0); // off: nothing turns off at a next run
    await workflow(x.repId, "Other mailbox only", [otherMailbox]);
    await workflow(x.nextId, "The new owner's own", [x.mailboxId]); // may send from it now
    await workflow(x.userId, "The admin's", [x.mailboxId]); // admins send from any mailbox

    // A change that keeps the owner warns of nothing.
    const same = await ok(x.admin.mailboxes[":id"].$patch({ param: { id: x.mailboxId }, json: { sender_name: "Kept" } }));
    expect(same.warnings).toEqual([]);

    const given = await ok(x.admin.mailboxes[":id"].$patch({ param: { id: x.mailboxId }, json: { user_id: x.nextId } }));
    expect(given.mailbox.user_id).toBe(x.nextId);
    expect(given.warnings).toEqual([
      {
        field: "user_id",
        message:
          "“Weekly VP adds” (owned by Sam) sends from this mailbox and will turn off at its next run: give it another mailbox or a new owner",
      },
    ]);
    // Only warned: the owner moved, the workflows are as they were.
    expect((await row(x.mailboxId))!.user_id).toBe(x.nextId);
    const active = await env.DB.prepare("SELECT count(*) AS n FROM workflows WHERE team_id = ? AND active = 1")
      .bind(x.teamId)
      .first<{ n: number }>();
    expect(active!.n).toBe(4);
  });
});
