// Connecting an SMTP mailbox opens a socket to whatever host and port the caller names and reports how the
// far end answered. So a deployment refuses hosts on its own machine or private networks (422 naming
// smtp.host, nothing connected), and a server that isn't SMTP is reported in our words, never its own bytes.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { app } from "../../worker/app";
import { privateHostProblem } from "../../worker/lib/private-host";
import { as, BASE, env, errorOf, fieldsOf, login, ok, client, type Session } from "../helpers";
import type { RecordedAuth } from "../fixtures/smtp-servers.mjs";
import { makeMailbox, makeTeam, makeUser, sessionFor } from "../fixtures";

const smtp = inject("smtp");
const email = (p: string) => `${p}-${crypto.randomUUID().slice(0, 8)}@demo.test`;
const rows = async (e: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE email = ?").bind(e).first<{ n: number }>())!.n;
const authsWith = async (password: string) =>
  ((await (await fetch(`http://${smtp.host}:${smtp.httpPort}/auths`)).json()) as RecordedAuth[]).filter((a) => a.password === password);

// Raw app.request on purpose: the point is a deployment's APP_ENV (the test runner's "test" lets the
// fixtures' 127.0.0.1 servers through).
async function asDeployed(s: Session, method: string, path: string, body: unknown) {
  const ctx = createExecutionContext();
  const res = await app.request(
    `${BASE}${path}`,
    {
      method,
      headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" },
      body: JSON.stringify(body),
    },
    { ...env, APP_ENV: "production", PUBLIC_URL: BASE.replace("http:", "https:") },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

const PRIVATE = [
  "127.0.0.1",
  "127.1",
  "2130706433",
  "0x7f.0.0.1",
  "localhost",
  "LocalHost.",
  "mail.localhost",
  "10.1.2.3",
  "172.16.0.1",
  "172.31.255.254",
  "192.168.1.10",
  "169.254.169.254",
  "100.64.0.1",
  "100.127.255.254",
  "198.18.0.1",
  "198.19.255.254",
  "::ffff:100.64.0.1",
  "0.0.0.0",
  "::1",
  "[::1]",
  "::",
  "fd12:3456::1",
  "fc00::1",
  "fe80::1",
  "::ffff:127.0.0.1",
  "::ffff:a9fe:a9fe",
];

describe("SMTP connect probes", () => {
  it("refuses local and private hosts with a 422 naming smtp.host, and never connects to them", async () => {
    const s = await login("rep1@demo.test");
    for (const host of PRIVATE) {
      const e = email("priv");
      const password = `pw-${crypto.randomUUID()}`;
      const res = await asDeployed(s, "POST", "/api/mailboxes", {
        email: e,
        sender_name: "P",
        transport: "smtp",
        // The fixture server would accept this login: refusing is the only thing that keeps it from connecting.
        smtp: { host, port: smtp.ports.plain, security: "none", username: smtp.user.username, password },
      });
      const err = await errorOf(res);
      expect({ host, status: err.status, code: err.code }).toEqual({ host, status: 422, code: "validation_failed" });
      expect(fieldsOf(err).map((f) => f.field)).toEqual(["smtp.host"]);
      expect(err.message).toMatch(/local and private network addresses/);
      expect(await rows(e)).toBe(0);
      expect(await authsWith(password)).toEqual([]);
    }
  });

  it("refuses moving a mailbox to a private host, leaving its server as it was", async () => {
    const s = await login("rep1@demo.test");
    const e = email("mv");
    const { mailbox } = await ok(
      client(s).api.mailboxes.$post({
        json: {
          email: e,
          sender_name: "M",
          transport: "smtp",
          smtp: { host: "localhost", port: smtp.ports.plain, security: "none", ...smtp.user },
        },
      }),
      201,
    );
    const password = `pw-${crypto.randomUUID()}`;
    const err = await errorOf(
      await asDeployed(s, "PATCH", `/api/mailboxes/${mailbox.id}`, { smtp: { host: "169.254.169.254", port: 80, password } }),
    );
    expect(err.status).toBe(422);
    expect(fieldsOf(err).map((f) => f.field)).toEqual(["smtp.host"]);
    const saved = await env.DB.prepare("SELECT transport_config c FROM mailboxes WHERE id = ?").bind(mailbox.id).first<{ c: string }>();
    expect(JSON.parse(saved!.c)).toMatchObject({ host: "localhost", port: smtp.ports.plain });
  });

  it("answers a member changing someone else's mailbox to a private host 403, not how the host was judged", async () => {
    // The host was checked before the rights were: a caller who may not change the mailbox learnt 422.
    const { teamId, userId } = await makeTeam();
    const mailboxId = await makeMailbox(teamId, userId);
    const member = await sessionFor(teamId, await makeUser(teamId));
    const before = await env.DB.prepare("SELECT transport, transport_config c FROM mailboxes WHERE id = ?").bind(mailboxId).first();
    const err = await errorOf(
      await asDeployed(member, "PATCH", `/api/mailboxes/${mailboxId}`, {
        transport: "smtp",
        smtp: { host: "169.254.169.254", port: 587, security: "none", username: "u", password: "p" },
      }),
    );
    expect({ status: err.status, code: err.code }).toEqual({ status: 403, code: "forbidden" });
    expect(await env.DB.prepare("SELECT transport, transport_config c FROM mailboxes WHERE id = ?").bind(mailboxId).first()).toEqual(
      before,
    );
  });

  it("lets public hosts through to the connection attempt", async () => {
    for (const host of [
      "smtp.gmail.com",
      "203.0.113.5",
      "172.32.0.1",
      "11.0.0.1",
      "100.63.255.255",
      "100.128.0.1",
      "198.17.255.255",
      "198.20.0.1",
      "2001:db8::25",
      "[2606:4700::1111]",
    ]) {
      expect({ host, problem: privateHostProblem(host) }).toEqual({ host, problem: undefined });
    }
    const s = await login("rep1@demo.test");
    const err = await errorOf(
      await asDeployed(s, "POST", "/api/mailboxes", {
        email: email("pub"),
        sender_name: "N",
        transport: "smtp",
        smtp: { host: "smtp.nonexistent.invalid", port: 587, security: "starttls" },
      }),
    );
    expect(err.status).toBe(422);
    expect(fieldsOf(err)[0]!.field).toBe("smtp");
    expect(err.message).toMatch(/^Couldn't connect to the SMTP server: Could not connect to smtp\.nonexistent\.invalid:587/);
  });

  it("reports a server that isn't SMTP in our words, without the bytes it sent", async () => {
    const s = await login("rep1@demo.test");
    const e = email("banner");
    const err = await errorOf(
      await as(s, "POST", "/api/mailboxes", {
        email: e,
        sender_name: "B",
        transport: "smtp",
        smtp: { host: smtp.host, port: smtp.bannerPort, security: "none" },
      }),
    );
    expect(err.status).toBe(422);
    expect(err.message).toContain("This server didn't answer as an SMTP server");
    expect(JSON.stringify(err)).not.toMatch(/redis|secret|abc123|\+OK/);
    expect(await rows(e)).toBe(0);
  });
});
