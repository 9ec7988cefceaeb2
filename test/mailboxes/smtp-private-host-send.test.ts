// A send refused because the mailbox's SMTP host is private or local (SmtpSocket.open's check) was a
// "transient" failed connection: every email was retried on the backoff, each pass, and finally failed,
// with the mailbox still "connected" and nothing on the Mailboxes screen saying why. It can never succeed
// until the host changes, so the first refusal pauses the mailbox with the reason and holds its emails.
import { env as workerEnv } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { smtpTransport } from "../../worker/transports/smtp";
import {
  DAY,
  enroll,
  enrollmentsOf,
  makeContacts,
  makeSequence,
  makeTeam,
  mailboxLedger,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";
import { client, ok } from "../helpers";

const smtpServer = inject("smtp");
const appEnv = workerEnv as { APP_ENV?: string };

describe("an SMTP mailbox whose host is private, at send time", () => {
  let mailboxId: string | undefined;
  const before = appEnv.APP_ENV;
  beforeEach(() => startSimulation());
  afterEach(() => {
    appEnv.APP_ENV = before;
    if (mailboxId) setTransportOverride(mailboxId, null);
  });

  it("is paused with the reason after one refused send, its emails held, not retried nor failed", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const config = {
      host: smtpServer.host,
      port: smtpServer.ports.plain,
      security: "none" as const,
      username: smtpServer.user.username,
      password: smtpServer.user.password,
    };
    // Connected while the tests' APP_ENV lets the local server through (a mailbox saved before its range was refused).
    const { mailbox } = await ok(
      api.mailboxes.$post({
        json: { email: `p-${crypto.randomUUID().slice(0, 8)}@sim.test`, sender_name: "Riley", transport: "smtp", smtp: config },
      }),
      201,
    );
    mailboxId = mailbox.id;
    // The real SMTP transport, counted: how many times a send was tried.
    let tries = 0;
    const real = smtpTransport({ ...config, timeoutMs: 5_000 });
    setTransportOverride(mailbox.id, { send: (m) => (tries++, real.send(m)) });
    await ok(api.mailboxes[":id"].$patch({ param: { id: mailbox.id }, json: { min_gap_seconds: 0 } }));
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const contacts = await makeContacts(teamId, 3);
    // From now on the Worker runs as `npm start` does (APP_ENV=local): 127.0.0.1 is refused by the socket itself.
    appEnv.APP_ENV = "local";
    await enroll(teamId, sequenceId, contacts, [mailbox.id]);
    await runUntil(now() + 2 * DAY);

    expect(tries).toBe(1);
    const shown = (await ok(api.mailboxes[":id"].$get({ param: { id: mailbox.id } }))).mailbox;
    expect(shown).toMatchObject({ status: "paused", status_reason: expect.stringContaining("can't be used as the SMTP host") });
    expect(shown.status_reason).toContain("local and private network addresses can't be used");
    // Held, not failed: every email still waits in the mailbox's queue, and no run ended.
    const queue = (await mailboxLedger(mailbox.id)).queue;
    expect(queue.map((q) => q.state)).toEqual(["queued", "queued", "queued"]);
    expect((await enrollmentsOf(sequenceId)).map((e) => e.status)).toEqual(["active", "active", "active"]);
  });
});
