// The "outbox" transport accepts every email and sends none: it is the local mail catcher. Deployed
// (APP_ENV=production) a mailbox on it said Connected, counted emails as sent and moved contacts on while
// nothing left. So a deployment refuses it (create, update to it), requires a transport (no silent default),
// and an outbox mailbox saved there before sends nothing: it is paused with the reason, its emails held.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { now } from "../../worker/lib/clock";
import {
  DAY,
  enroll,
  enrollmentsOf,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  mailboxLedger,
  runUntil,
  sentMessages,
  sessionFor,
  startSimulation,
} from "../fixtures";
import { BASE, client, env, errorOf, fieldsOf, ok, type Session } from "../helpers";

const DEPLOYED = { APP_ENV: "production", PUBLIC_URL: "https://app.example.com" };
const email = (p: string) => `${p}-${crypto.randomUUID().slice(0, 8)}@demo.test`;
const rows = async (e: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE email = ?").bind(e).first<{ n: number }>())!.n;

// Raw app.request on purpose: the point is a deployment's APP_ENV (the test runner's is "test").
async function asDeployed(s: Session, method: string, path: string, body: unknown) {
  const ctx = createExecutionContext();
  const res = await app.request(
    `${BASE}${path}`,
    {
      method,
      headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" },
      body: JSON.stringify(body),
    },
    { ...env, ...DEPLOYED },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("the outbox transport on a deployment", () => {
  it("is refused on create, named or by default, and nothing is saved", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const named = email("named");
    const refused = await errorOf(
      await asDeployed(s, "POST", "/api/mailboxes", { email: named, sender_name: "Riley", transport: "outbox" }),
    );
    expect(refused.status).toBe(422);
    expect(fieldsOf(refused)).toEqual([expect.objectContaining({ field: "transport", message: expect.stringContaining("Choose SMTP") })]);
    expect(await rows(named)).toBe(0);

    const unnamed = email("unnamed");
    const required = await errorOf(await asDeployed(s, "POST", "/api/mailboxes", { email: unnamed, sender_name: "Riley" }));
    expect(required.status).toBe(422);
    expect(fieldsOf(required)).toEqual([expect.objectContaining({ field: "transport", message: expect.stringContaining("smtp") })]);
    expect(await rows(unnamed)).toBe(0);
  });

  it("is refused on update, and the patch changes nothing", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const mailboxId = await makeMailbox(teamId, userId);
    const err = await errorOf(
      await asDeployed(s, "PATCH", `/api/mailboxes/${mailboxId}`, { transport: "outbox", sender_name: "Changed Name" }),
    );
    expect(err.status).toBe(422);
    expect(fieldsOf(err)[0]).toMatchObject({ field: "transport" });
    const row = await env.DB.prepare("SELECT sender_name FROM mailboxes WHERE id = ?").bind(mailboxId).first<{ sender_name: string }>();
    expect(row!.sender_name).toBe("Sim Sender");
  });

  it("locally (and in tests) stays the default", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { mailbox } = await ok(api.mailboxes.$post({ json: { email: email("local"), sender_name: "Riley" } }), 201);
    expect(mailbox.transport).toBe("outbox");
  });
});

describe("an outbox mailbox saved on a deployment, at send time", () => {
  const live = workerEnv as { APP_ENV?: string; PUBLIC_URL?: string };
  const before = { APP_ENV: live.APP_ENV, PUBLIC_URL: live.PUBLIC_URL };
  beforeEach(() => startSimulation());
  afterEach(() => {
    live.APP_ENV = before.APP_ENV;
    live.PUBLIC_URL = before.PUBLIC_URL;
  });

  it("sends nothing: the mailbox is paused with the reason and its emails are held", async () => {
    const { teamId, userId } = await makeTeam();
    const mailboxId = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const contacts = await makeContacts(teamId, 2);
    // From here the Worker (and its MailboxDO) runs as deployed.
    Object.assign(live, DEPLOYED);
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    await runUntil(now() + 2 * DAY);

    expect(await sentMessages(sequenceId)).toEqual([]);
    const row = await env.DB.prepare("SELECT status, status_reason FROM mailboxes WHERE id = ?")
      .bind(mailboxId)
      .first<{ status: string; status_reason: string }>();
    expect(row).toMatchObject({ status: "paused", status_reason: expect.stringContaining("Outbox (test) transport only stores emails") });
    expect((await mailboxLedger(mailboxId)).queue.map((q) => q.state)).toEqual(["queued", "queued"]);
    expect((await enrollmentsOf(sequenceId)).map((e) => e.status)).toEqual(["active", "active"]);
  });
});
