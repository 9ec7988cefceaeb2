// Removing a mailbox (DELETE /mailboxes/{id}). Before: there was no way to remove one; Disconnect only held
// its sending while its inbox was still read for replies and its sign-in or password stayed stored.
import { beforeEach, describe, expect, inject, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { pollReplies } from "../../worker/services/reply-polling";
import { as, client, env, errorOf, fieldsOf, ok, type Session } from "../helpers";
import {
  enroll,
  enrollmentsOf,
  HOUR,
  mailboxLedger,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  makeUser,
  sessionFor,
  runUntil,
  setMailboxStatus,
  startSimulation,
} from "../fixtures";
import { control, mailboxRow, providerState, signIn, teamWith } from "./oauth-sign-in";

const smtpServer = inject("smtp");

const remove = (s: Session, id: string, reassignTo?: string) =>
  client(s).api.mailboxes[":id"].$delete({ param: { id }, query: reassignTo ? { reassign_to: reassignTo } : {} });

const listed = async (s: Session) => (await ok(client(s).api.mailboxes.$get())).mailboxes.map((m) => m.id);

const auditOf = (teamId: string, id: string) =>
  env.DB.prepare("SELECT user_id, details FROM audit_log WHERE team_id = ? AND action = 'mailbox.remove' AND target_id = ?")
    .bind(teamId, id)
    .all<{ user_id: string; details: string }>()
    .then((r) => r.results);

const sentFrom = async (sequenceId: string) =>
  Object.fromEntries(
    (
      await env.DB.prepare("SELECT mailbox_id, count(*) n FROM messages WHERE sequence_id = ? AND status = 'sent' GROUP BY mailbox_id")
        .bind(sequenceId)
        .all<{ mailbox_id: string; n: number }>()
    ).results.map((m) => [m.mailbox_id, m.n]),
  );

describe("removing a mailbox", () => {
  beforeEach(() => startSimulation());

  it("an unused SMTP mailbox: its password is deleted, it leaves the list, answers 404 after, is audited; its address can be connected again", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const email = `smtp-${crypto.randomUUID().slice(0, 8)}@sim.test`;
    const create = () =>
      api.mailboxes.$post({
        json: {
          email,
          sender_name: "Riley",
          transport: "smtp",
          smtp: { host: smtpServer.host, port: smtpServer.ports.plain, security: "none", username: "riley", password: "hunter2-secret" },
        },
      });
    const { mailbox } = await ok(create(), 201);
    expect((await mailboxRow(mailbox.id))!.secret_ciphertext).toBeTruthy();

    const { removed } = await ok(remove(s, mailbox.id));
    expect(removed).toMatchObject({ id: mailbox.id, email, moved: 0, withdrawn: 0, sign_in: null });
    expect(await mailboxRow(mailbox.id)).toMatchObject({ status: "removed", secret_ciphertext: null });
    expect(await listed(s)).not.toContain(mailbox.id);
    expect((await api.mailboxes[":id"].$get({ param: { id: mailbox.id } })).status).toBe(404);
    expect((await remove(s, mailbox.id)).status).toBe(404);
    expect((await api.mailboxes[":id"].disconnect.$post({ param: { id: mailbox.id } })).status).toBe(404);
    const audit = await auditOf(teamId, mailbox.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.user_id).toBe(userId);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ email, transport: "smtp" });
    expect((await mailboxLedger(mailbox.id)).alarm).toBeNull();

    // The same address again: a new mailbox; the removed row stays as it was.
    const again = await ok(create(), 201);
    expect(again.mailbox.id).not.toBe(mailbox.id);
    expect(await listed(s)).toEqual([again.mailbox.id]);
    expect((await mailboxRow(mailbox.id))!.status).toBe("removed");
  });

  it("is refused (409 mailbox_in_use, with the count and the sequences) while contacts send from it; nothing changes", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }], null);
    const mb = await makeMailbox(teamId, userId, { daily: 1, hourly: 1, gapSeconds: 0 });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mb]);
    await runUntil(now() + 10 * 60_000);

    const res = await remove(s, mb);
    expect(res.status).toBe(409);
    const err = await errorOf(res);
    expect(err.code).toBe("mailbox_in_use");
    expect(err.message).toMatch(/^3 contacts still send from .* Change mailbox/);
    expect(err.details).toMatchObject({ enrollments: 3, sequences: [{ id: sequenceId, contacts: 3 }] });
    expect((await mailboxRow(mb))!.status).toBe("connected");
    expect(await listed(s)).toContain(mb);
    expect((await mailboxLedger(mb)).queue.filter((q) => q.state === "queued")).toHaveLength(2);
    expect(await auditOf(teamId, mb)).toHaveLength(0);
  });

  it("with reassign_to, its contacts and their queued emails move first; nothing is sent from it afterwards", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const oldMb = await makeMailbox(teamId, userId, { daily: 1, hourly: 1, gapSeconds: 0 });
    const newMb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [oldMb]);
    await runUntil(now() + 10 * 60_000); // one sent, two queued behind the cap
    expect((await mailboxLedger(oldMb)).queue.filter((q) => q.state === "queued")).toHaveLength(2);

    // A target that can't take them is refused, naming reassign_to, and nothing moves.
    const other = await makeTeam();
    for (const bad of [await makeMailbox(other.teamId, other.userId), oldMb]) {
      const e = await errorOf(await remove(s, oldMb, bad));
      expect(fieldsOf(e).map((f) => f.field)).toEqual(["reassign_to"]);
    }
    await setMailboxStatus(newMb, "disconnected");
    expect(fieldsOf(await errorOf(await remove(s, oldMb, newMb)))[0]!.message).toMatch(/disconnected/);
    await setMailboxStatus(newMb, "connected");
    expect((await enrollmentsOf(sequenceId)).every((e) => e.mailbox_id === oldMb)).toBe(true);

    const { removed } = await ok(remove(s, oldMb, newMb));
    expect(removed.moved).toBe(3);
    expect((await enrollmentsOf(sequenceId)).map((e) => e.mailbox_id)).toEqual([newMb, newMb, newMb]);
    const ledger = await mailboxLedger(oldMb);
    expect(ledger.queue.filter((q) => q.state === "queued")).toHaveLength(0);
    expect(ledger.alarm).toBeNull();
    expect(JSON.parse((await auditOf(teamId, oldMb))[0]!.details)).toMatchObject({ reassign_to: newMb, moved: 3 });

    await runUntil(now() + 3 * 24 * HOUR);
    // Step 1's two held emails and all three second steps went out from the new mailbox; the old one sent only its first.
    expect(await sentFrom(sequenceId)).toEqual({ [oldMb]: 1, [newMb]: 5 });
  });

  it("only the mailbox's owner or an admin removes it; another team's answers 404", async () => {
    const { teamId, userId: adminId } = await makeTeam();
    const memberId = await makeUser(teamId, "member");
    const member = await sessionFor(teamId, memberId);
    const admin = await sessionFor(teamId, adminId);
    const adminsMb = await makeMailbox(teamId, adminId);
    const membersMb = await makeMailbox(teamId, memberId);

    const refused = await remove(member, adminsMb);
    expect(refused.status).toBe(403);
    expect((await mailboxRow(adminsMb))!.status).toBe("connected");

    const other = await makeTeam();
    const foreign = await makeMailbox(other.teamId, other.userId);
    expect((await remove(member, foreign)).status).toBe(404);
    expect((await remove(admin, foreign)).status).toBe(404);
    expect((await mailboxRow(foreign))!.status).toBe("connected");

    await ok(remove(admin, membersMb));
    expect((await mailboxRow(membersMb))!.status).toBe("removed");
    const own = await makeMailbox(teamId, memberId);
    await ok(remove(member, own));
    expect((await mailboxRow(own))!.status).toBe("removed");
  });

  it("stays removed when its owner is disabled later (disabling disconnects only their live mailboxes)", async () => {
    const { teamId, userId: adminId } = await makeTeam();
    const admin = await sessionFor(teamId, adminId);
    const memberId = await makeUser(teamId, "member");
    const removedMb = await makeMailbox(teamId, memberId);
    const liveMb = await makeMailbox(teamId, memberId);
    await ok(remove(admin, removedMb));
    expect((await as(admin, "PATCH", `/api/users/${memberId}`, { disabled: true })).status).toBe(200);
    expect((await mailboxRow(removedMb))!.status).toBe("removed");
    expect((await mailboxRow(liveMb))!.status).toBe("disconnected");
    expect(await listed(admin)).toEqual([liveMb]);
  });
});

describe("removing a Gmail / Microsoft 365 mailbox", () => {
  it("revokes the Google sign-in once, deletes the tokens, stops reading its inbox; signing in again connects a new mailbox", async () => {
    const { s, account, mailboxId, teamId } = await teamWith("google");
    const revokes = async () => (await providerState(account)).calls.filter((c) => c.path === "revoke").length;
    const { removed } = await ok(remove(s, mailboxId));
    expect(removed.sign_in).toMatchObject({ provider: "google", revoked: true });
    expect(await revokes()).toBe(1);
    expect(await mailboxRow(mailboxId)).toMatchObject({ status: "removed", secret_ciphertext: null });
    expect(JSON.parse((await auditOf(teamId, mailboxId))[0]!.details)).toMatchObject({ transport: "gmail" });
    const revokeAudit = await env.DB.prepare("SELECT details FROM audit_log WHERE action = 'mailbox.remove_finished' AND target_id = ?")
      .bind(mailboxId)
      .all<{ details: string }>();
    expect(revokeAudit.results.map((r) => JSON.parse(r.details))).toMatchObject([{ sign_in: { provider: "google", revoked: true } }]);

    const calls = (await providerState(account)).calls.length;
    const polled = await pollReplies(env);
    expect(polled.map((o) => o.mailboxId)).not.toContain(mailboxId);
    expect((await providerState(account)).calls.length).toBe(calls);

    const again = await signIn(s, "google", account);
    expect(again.error).toBeNull();
    expect(again.id).not.toBe(mailboxId);
    expect((await mailboxRow(again.id!))!.status).toBe("connected");
    expect(await listed(s)).toEqual([again.id]);
  });

  it("a revocation Google refuses still removes the mailbox, and the answer says so", async () => {
    const { s, account, mailboxId } = await teamWith("google");
    await control("fail", { match: "revoke", status: 400, body: { error: "invalid_request" }, times: 1 });
    const { removed } = await ok(remove(s, mailboxId));
    expect(removed.sign_in).toMatchObject({ provider: "google", revoked: false });
    expect(removed.sign_in!.message).toMatch(/invalid_request/);
    expect((await providerState(account)).calls.filter((c) => c.path === "revoke")).toHaveLength(1);
    expect(await mailboxRow(mailboxId)).toMatchObject({ status: "removed", secret_ciphertext: null });
  });

  it("Microsoft: the tokens are deleted and the answer says Microsoft has no revocation endpoint", async () => {
    const { s, mailboxId } = await teamWith("microsoft");
    const { removed } = await ok(remove(s, mailboxId));
    expect(removed.sign_in).toMatchObject({ provider: "microsoft", revoked: false });
    expect(removed.sign_in!.message).toMatch(/Microsoft has no way/);
    expect(await mailboxRow(mailboxId)).toMatchObject({ status: "removed", secret_ciphertext: null });
  });
});
