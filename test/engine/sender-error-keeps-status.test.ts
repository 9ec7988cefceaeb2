// A sending error pauses a connected mailbox only: a disconnect (or a "needs reconnect") written while the
// transport had the email stays as it is, with its own reason (durable-objects/mailbox-do.ts, outcome "sender").
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";
import { client, env, ok } from "../helpers";

const statusOf = (id: string) =>
  env.DB.prepare("SELECT status, status_reason FROM mailboxes WHERE id = ?")
    .bind(id)
    .first<{ status: string; status_reason: string | null }>();

describe("a sending error after the mailbox was taken out of rotation", () => {
  const overridden: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const id of overridden.splice(0)) setTransportOverride(id, null);
  });

  async function sendingWhile(change: (mailboxId: string, s: Awaited<ReturnType<typeof sessionFor>>) => Promise<unknown>) {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const mailboxId = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    overridden.push(mailboxId);
    let calls = 0;
    setTransportOverride(mailboxId, {
      async send() {
        calls++;
        // While the server has the email, the mailbox's status changes; then the server refuses the sender.
        await change(mailboxId, s);
        return { ok: false, kind: "sender", code: "535", message: "5.7.8 Authentication credentials invalid" };
      },
    });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mailboxId]);
    await runUntil(now() + HOUR);
    return { mailboxId, calls: () => calls };
  }

  it("a disconnect while a send is in flight stays 'disconnected': the refusal doesn't turn it into 'paused'", async () => {
    const { mailboxId, calls } = await sendingWhile((id, s) => ok(client(s).api.mailboxes[":id"].disconnect.$post({ param: { id } })));
    expect(calls()).toBe(1);
    const row = await statusOf(mailboxId);
    expect(row!.status).toBe("disconnected");
    expect(row!.status_reason ?? "").not.toMatch(/Sending error/);
  });

  it("a 'needs reconnect' written while a send is in flight stays, with its reason", async () => {
    const { mailboxId } = await sendingWhile((id) =>
      env.DB.prepare("UPDATE mailboxes SET status = 'needs_reconnect', status_reason = 'Sign in again' WHERE id = ?").bind(id).run(),
    );
    expect(await statusOf(mailboxId)).toEqual({ status: "needs_reconnect", status_reason: "Sign in again" });
  });

  it("a connected mailbox is still paused with the sending error", async () => {
    const { mailboxId } = await sendingWhile(async () => undefined);
    expect(await statusOf(mailboxId)).toEqual({
      status: "paused",
      status_reason: "Sending error: 535 5.7.8 Authentication credentials invalid",
    });
  });
});
