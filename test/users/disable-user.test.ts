// Disabling a user stops outreach in their name: their mailboxes are disconnected (saying why) and send
// nothing more; and nothing new is given to a disabled user (sequence owner, share, contact owner).
import { beforeEach, describe, expect, it } from "vitest";
import {
  enroll,
  HOUR,
  mailboxMessages,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  SIM_START,
  startSimulation,
} from "../fixtures";
import { as, env, errorOf, fieldsOf } from "../helpers";
import { OWNER_DISABLED } from "../../worker/services/users";

const mailboxRow = (id: string) =>
  env.DB.prepare("SELECT status, status_reason FROM mailboxes WHERE id = ?")
    .bind(id)
    .first<{ status: string; status_reason: string | null }>();

/** A team whose admin is signed in, and a rep who owns a sequence and a mailbox sending one email per 10 minutes to 20 contacts. */
async function world() {
  const { teamId, userId } = await makeTeam("Offboarding");
  const admin = await sessionFor(teamId, userId);
  const repId = `r${teamId.slice(1)}`;
  await env.DB.prepare(
    "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Rep', 'member', 'x', 0)",
  )
    .bind(repId, teamId, `${repId}@sim.test`)
    .run();
  const { sequenceId } = await makeSequence(teamId, repId, [{ wait: 0 }], null);
  const repMailbox = await makeMailbox(teamId, repId, { daily: 100, hourly: 100, gapSeconds: 600 });
  const adminMailbox = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 600 });
  const contactIds = await makeContacts(teamId, 20);
  await enroll(teamId, sequenceId, contactIds, [repMailbox]);
  return { teamId, adminId: userId, admin, repId, sequenceId, repMailbox, adminMailbox };
}

describe("disabling a user", () => {
  beforeEach(() => startSimulation());

  it("disconnects their mailboxes with the reason, and nothing more is sent from them, also once they are enabled again", async () => {
    const w = await world();
    await runUntil(SIM_START + HOUR);
    const before = (await mailboxMessages(w.repMailbox)).length;
    expect(before).toBeGreaterThan(2);
    expect(before).toBeLessThan(20);

    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: true })).status).toBe(200);
    expect(await mailboxRow(w.repMailbox)).toEqual({ status: "disconnected", status_reason: OWNER_DISABLED });
    // Someone else's mailbox is untouched.
    expect(await mailboxRow(w.adminMailbox)).toEqual({ status: "connected", status_reason: null });
    await runUntil(SIM_START + 6 * HOUR);
    expect(await mailboxMessages(w.repMailbox)).toHaveLength(before);

    // Enabling the user gives them their sign-in back, not their mailboxes' sending: someone reconnects it.
    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: false })).status).toBe(200);
    expect((await mailboxRow(w.repMailbox))!.status).toBe("disconnected");
    const audit = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'user.update' AND target_id = ?")
      .bind(w.repId)
      .first<{ n: number }>();
    expect(audit!.n).toBe(2);
  });

  it("new tasks of a disabled user's mailbox go to the sequence owner, who can see them", async () => {
    const w = await world();
    const { sequenceId } = await makeSequence(w.teamId, w.adminId, [{ type: "call", wait: 0 }], null);
    const contactIds = await makeContacts(w.teamId, 3);
    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: true })).status).toBe(200);
    await enroll(w.teamId, sequenceId, contactIds, [w.repMailbox]);
    await runUntil(SIM_START + HOUR);
    const tasks = await env.DB.prepare("SELECT assignee_id FROM tasks WHERE sequence_id = ?")
      .bind(sequenceId)
      .all<{ assignee_id: string }>();
    expect(tasks.results.map((r) => r.assignee_id)).toEqual([w.adminId, w.adminId, w.adminId]);
  });

  it("a refused disable (a member asking) disconnects nothing", async () => {
    const w = await world();
    const res = await as(await sessionFor(w.teamId, w.repId), "PATCH", `/api/users/${w.adminId}`, { disabled: true });
    expect(res.status).toBe(403);
    // Nothing was changed: the admin's mailbox keeps sending.
    expect(await mailboxRow(w.adminMailbox)).toEqual({ status: "connected", status_reason: null });
  });

  it("a disabled user can't be given a sequence, a share or a contact (422 naming the field)", async () => {
    const w = await world();
    const other = await makeSequence(w.teamId, w.adminId, [{ wait: 0 }], null);
    expect((await as(w.admin, "PATCH", `/api/users/${w.repId}`, { disabled: true })).status).toBe(200);

    const share = await as(w.admin, "PUT", `/api/sequences/${other.sequenceId}/shares`, { shares: [{ user_id: w.repId, access: "edit" }] });
    expect(share.status).toBe(422);
    expect(fieldsOf(await errorOf(share)).map((f) => [f.field, f.message])).toEqual([["shares.user_id", `User ${w.repId} is disabled`]]);
    const shares = await env.DB.prepare("SELECT count(*) AS n FROM sequence_shares WHERE sequence_id = ?")
      .bind(other.sequenceId)
      .first<{ n: number }>();
    expect(shares!.n).toBe(0);

    const owner = await as(w.admin, "PATCH", `/api/sequences/${other.sequenceId}`, { owner_id: w.repId });
    expect(owner.status).toBe(422);
    expect(fieldsOf(await errorOf(owner)).map((f) => f.field)).toEqual(["owner_id"]);

    const contact = await as(w.admin, "POST", "/api/contacts", { first_name: "Ann", last_name: "Other", owner_id: w.repId });
    expect(contact.status).toBe(422);
    expect(fieldsOf(await errorOf(contact)).map((f) => f.field)).toEqual(["owner_id"]);
    const seq = await env.DB.prepare("SELECT owner_id FROM sequences WHERE id = ?").bind(other.sequenceId).first<{ owner_id: string }>();
    expect(seq!.owner_id).toBe(w.adminId);
  });
});
