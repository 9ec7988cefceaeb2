// The SMTP transport, from inside workerd, against real SMTP servers (nodemailer's smtp-server) that
// test/global-setup.ts starts in Node. What each server/recipient does: test/fixtures/smtp-servers.mjs.
//
// TLS: the servers use a cert signed by a throwaway test CA. workerd trusts it only when the vitest
// process runs with NODE_EXTRA_CA_CERTS=test/fixtures/smtp-test-ca.pem (Miniflare passes those PEMs
// to workerd). With it, real STARTTLS and implicit-TLS deliveries are asserted; without it, that the
// untrusted handshake is refused and classified.
import { describe, expect, inject, it } from "vitest";
import { classifySmtpReply, dotStuff, smtpTransport, testConnection, type SmtpConfig, type SmtpStage } from "../../worker/transports/smtp";
import type { OutgoingEmail } from "../../worker/transports/types";
import type { RecordedMessage } from "../fixtures/smtp-servers.mjs";

const smtp = inject("smtp");
const demo = { username: smtp.user.username, password: smtp.user.password };

const config = (over: Partial<SmtpConfig> = {}): SmtpConfig => ({
  host: smtp.host,
  port: smtp.ports.plain,
  security: "none",
  ...demo,
  timeoutMs: 5_000,
  ...over,
});

// Behaviour is keyed on the local part, so a unique domain per test keeps recorded messages apart.
let seq = 0;
const addr = (local: string) => `${local}@t${Date.now()}-${seq++}.example.test`;

// Includes a line that is only "." (would end DATA early without dot-stuffing), lines starting with
// "." and "..", and non-ASCII text (sent as 8BITMIME).
const RAW = [
  'From: "Ana Rep" <ana@demo.test>',
  "To: <{to}>",
  "Subject: Quick question",
  "Message-ID: <m-1@demo.test>",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=utf-8",
  "Content-Transfer-Encoding: 8bit",
  "",
  "Hi Zoë,",
  ".leading dot",
  "..two dots",
  ".",
  "last line",
  "",
].join("\r\n");

const mail = (to: string, raw = RAW.replace("{to}", to)): OutgoingEmail => ({
  from: { email: "ana@demo.test", name: "Ana Rep" },
  to,
  raw,
  messageId: "<m-1@demo.test>",
});

async function received(to: string): Promise<RecordedMessage[]> {
  const res = await fetch(`http://${smtp.host}:${smtp.httpPort}/messages`);
  return ((await res.json()) as RecordedMessage[]).filter((m) => m.rcptTo.includes(to));
}

const utf8 = (base64: string) => new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));

describe("SMTP delivery", () => {
  it("delivers the exact bytes with AUTH PLAIN and the right envelope; dot-stuffing is undone by the server", async () => {
    const to = addr("prospect");
    const m = mail(to);
    const result = await smtpTransport(config()).send(m);
    expect(result).toMatchObject({ ok: true });
    expect(result.ok && result.response).toMatch(/^250 /);
    const [got, ...more] = await received(to);
    expect(more).toHaveLength(0);
    expect(got).toMatchObject({
      server: "plain",
      mailFrom: "ana@demo.test",
      rcptTo: [to],
      user: "demo",
      authMethod: "PLAIN",
      heloName: "demo.test",
    });
    expect(utf8(got!.raw)).toBe(m.raw);
    expect(utf8(got!.raw)).toContain("\r\n.\r\nlast line\r\n");
  });

  it("uses AUTH LOGIN when that is all the server offers", async () => {
    const to = addr("prospect");
    expect(await smtpTransport(config({ port: smtp.ports.loginOnly })).send(mail(to))).toMatchObject({ ok: true });
    expect((await received(to))[0]).toMatchObject({ server: "loginOnly", user: "demo", authMethod: "LOGIN" });
  });

  it("sends without AUTH when no username is configured", async () => {
    const to = addr("prospect");
    expect(await smtpTransport(config({ username: undefined, password: undefined })).send(mail(to))).toMatchObject({ ok: true });
    expect((await received(to))[0]).toMatchObject({ user: null });
  });

  it("falls back to HELO when the server rejects EHLO", async () => {
    const to = addr("prospect");
    const result = await smtpTransport(config({ port: smtp.ports.heloOnly, username: undefined, heloName: "mx.seqflare.test" })).send(
      mail(to),
    );
    expect(result).toMatchObject({ ok: true });
    expect((await received(to))[0]).toMatchObject({ server: "heloOnly", heloName: "mx.seqflare.test" });
  });

  it("normalises bare LFs and ends the data with CRLF.CRLF", async () => {
    const to = addr("prospect");
    expect(await smtpTransport(config()).send(mail(to, "Subject: lf\n\n.dot\nno final newline"))).toMatchObject({ ok: true });
    expect(utf8((await received(to))[0]!.raw)).toBe("Subject: lf\r\n\r\n.dot\r\nno final newline\r\n");
  });
});

describe("SMTP failure classification (real server replies)", () => {
  it("550 5.1.1 on RCPT TO → recipient_permanent, nothing delivered", async () => {
    const to = addr("bounce");
    const result = await smtpTransport(config()).send(mail(to));
    expect(result).toMatchObject({ ok: false, kind: "recipient_permanent", code: "550 5.1.1" });
    expect(await received(to)).toHaveLength(0);
  });

  it("451 4.3.0 on RCPT TO → transient", async () => {
    expect(await smtpTransport(config()).send(mail(addr("tempfail")))).toMatchObject({ ok: false, kind: "transient", code: "451 4.3.0" });
  });

  it("relay access denied on RCPT TO → sender (not a bounce)", async () => {
    expect(await smtpTransport(config()).send(mail(addr("relay-denied")))).toMatchObject({ ok: false, kind: "sender", code: "554 5.6.0" });
  });

  it("sender rejected on MAIL FROM → sender", async () => {
    const m = { ...mail(addr("prospect")), from: { email: "blocked-sender@demo.test", name: "X" } };
    expect(await smtpTransport(config()).send(m)).toMatchObject({ ok: false, kind: "sender", code: "553 5.1.3" });
  });

  it("wrong password → sender with 535 5.7.8", async () => {
    const result = await smtpTransport(config({ password: "wrong" })).send(mail(addr("prospect")));
    expect(result).toMatchObject({ ok: false, kind: "sender", code: "535 5.7.8" });
  });

  it("no reply after the final '.' → unknown (the server did receive it)", async () => {
    const to = addr("slow-after-data");
    const started = Date.now();
    // The server never answers the final '.', so any timeout ends it there; 500 ms also timed out at a step before
    // DATA on a loaded machine (CI answered "transient").
    const result = await smtpTransport(config({ timeoutMs: 2_000 })).send(mail(to));
    expect(result).toMatchObject({ ok: false, kind: "unknown" });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await received(to)).toHaveLength(1);
  });

  it("connection refused → transient", async () => {
    const result = await smtpTransport(config({ port: smtp.refusedPort })).send(mail(addr("prospect")));
    expect(result).toMatchObject({ ok: false, kind: "transient" });
    expect(result.ok || result.message).toMatch(/Could not connect/);
  });

  it("security starttls against a server without STARTTLS → sender, nothing sent in clear", async () => {
    const to = addr("prospect");
    const result = await smtpTransport(config({ security: "starttls" })).send(mail(to));
    expect(result).toMatchObject({ ok: false, kind: "sender" });
    expect(result.ok || result.message).toMatch(/does not offer STARTTLS/);
    expect(await received(to)).toHaveLength(0);
  });

  it("AUTH in clear on a server that requires STARTTLS first → sender", async () => {
    const result = await smtpTransport(config({ port: smtp.ports.starttls })).send(mail(addr("prospect")));
    expect(result).toMatchObject({ ok: false, kind: "sender" });
    expect(result.ok || result.message).toMatch(/^Authentication failed: 5\d\d .*STARTTLS/);
  });

  it("refuses addresses that could inject SMTP commands, without connecting", async () => {
    const result = await smtpTransport(config({ port: smtp.refusedPort })).send(mail("x@example.test>\r\nRCPT TO:<y@example.test"));
    expect(result).toMatchObject({ ok: false, kind: "recipient_permanent" });
  });
});

describe.runIf(smtp.tlsTrusted)("SMTP over TLS (test CA trusted by workerd)", () => {
  it("upgrades with STARTTLS, re-EHLOs, authenticates and delivers", async () => {
    const to = addr("prospect");
    const m = mail(to);
    expect(await smtpTransport(config({ port: smtp.ports.starttls, security: "starttls" })).send(m)).toMatchObject({ ok: true });
    const got = (await received(to))[0]!;
    expect(got).toMatchObject({ server: "starttls", secure: true, user: "demo", authMethod: "PLAIN" });
    expect(utf8(got.raw)).toBe(m.raw);
  });

  it("delivers over implicit TLS", async () => {
    const to = addr("prospect");
    expect(await smtpTransport(config({ port: smtp.ports.tls, security: "tls" })).send(mail(to))).toMatchObject({ ok: true });
    expect((await received(to))[0]).toMatchObject({ server: "tls", secure: true, user: "demo" });
  });

  it("verifies the connection for the mailbox settings page", async () => {
    expect(await testConnection(config({ port: smtp.ports.starttls, security: "starttls" }))).toEqual({
      ok: true,
      message: `Connected to ${smtp.host}:${smtp.ports.starttls} with STARTTLS, signed in as demo (AUTH PLAIN)`,
    });
  });
});

describe.skipIf(smtp.tlsTrusted)("SMTP over TLS (test CA not trusted: run with NODE_EXTRA_CA_CERTS to test delivery)", () => {
  it("negotiates STARTTLS, then refuses the untrusted certificate → sender, nothing sent", async () => {
    const to = addr("prospect");
    const result = await smtpTransport(config({ port: smtp.ports.starttls, security: "starttls" })).send(mail(to));
    expect(result).toMatchObject({ ok: false, kind: "sender" });
    expect(result.ok || result.message).toMatch(/TLS handshake .* failed/);
    expect(await received(to)).toHaveLength(0);
  });

  it("implicit TLS with an untrusted certificate fails to connect (workerd reports it like a refused connection)", async () => {
    const result = await smtpTransport(config({ port: smtp.ports.tls, security: "tls" })).send(mail(addr("prospect")));
    expect(result).toMatchObject({ ok: false, kind: "transient" });
  });
});

describe("testConnection", () => {
  it("reports success with the auth method", async () => {
    expect(await testConnection(config())).toEqual({
      ok: true,
      message: `Connected to ${smtp.host}:${smtp.ports.plain} without TLS, signed in as demo (AUTH PLAIN)`,
    });
  });

  it("reports a wrong password with the server's reply", async () => {
    const result = await testConnection(config({ password: "nope" }));
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^Authentication failed: 535 5\.7\.8/);
  });

  it("reports an unreachable server", async () => {
    expect(await testConnection(config({ port: smtp.refusedPort }))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^Could not connect/),
    });
  });
});

describe("dotStuff", () => {
  it("doubles leading dots, normalises line endings and ends with CRLF", () => {
    expect(dotStuff(".a\r\nb\r\n.\r\n..c\r\n")).toBe("..a\r\nb\r\n..\r\n...c\r\n");
    expect(dotStuff("a\nb\r.c")).toBe("a\r\nb\r\n..c\r\n");
    expect(dotStuff("a. b .c")).toBe("a. b .c\r\n");
  });
});

describe("classifySmtpReply", () => {
  const cases: [SmtpStage, number, string, string, string][] = [
    // stage, code, text → kind, code
    ["rcpt", 550, "5.1.1 <x@y>: User unknown", "recipient_permanent", "550 5.1.1"],
    ["rcpt", 550, "5.1.1 <x@y>: Recipient address rejected: User unknown in relay recipient table", "recipient_permanent", "550 5.1.1"],
    ["rcpt", 552, "5.2.2 Mailbox full", "recipient_permanent", "552 5.2.2"],
    ["rcpt", 551, "User not local", "recipient_permanent", "551"],
    ["rcpt", 553, "Mailbox name not allowed", "recipient_permanent", "553"],
    ["rcpt", 501, "5.1.3 Bad recipient address syntax", "recipient_permanent", "501 5.1.3"],
    ["rcpt", 554, "5.7.1 <x@y>: Relay access denied", "sender", "554 5.7.1"],
    ["rcpt", 554, "Relay access denied", "sender", "554"],
    ["rcpt", 550, "5.7.1 Service unavailable; client host blocked using Spamhaus", "sender", "550 5.7.1"],
    ["rcpt", 530, "Authentication required", "sender", "530"],
    ["rcpt", 450, "4.2.1 Mailbox busy", "transient", "450 4.2.1"],
    ["auth", 535, "5.7.8 Authentication credentials invalid", "sender", "535 5.7.8"],
    ["auth", 534, "5.7.9 Please log in with your web browser", "sender", "534 5.7.9"],
    ["auth", 454, "4.7.0 Temporary authentication failure", "transient", "454 4.7.0"],
    ["mail", 550, "5.7.1 Sender not allowed", "sender", "550 5.7.1"],
    ["mail", 552, "5.3.4 Message size exceeds fixed limit", "sender", "552 5.3.4"],
    ["mail", 554, "Transaction failed", "sender", "554"],
    ["greeting", 421, "Too many connections", "transient", "421"],
    ["greeting", 554, "No SMTP service here", "sender", "554"],
    ["data", 554, "5.5.1 No valid recipients", "sender", "554 5.5.1"],
    ["body", 550, "5.1.1 Recipient does not exist", "recipient_permanent", "550 5.1.1"],
    ["body", 554, "5.7.1 Message rejected as spam", "sender", "554 5.7.1"],
    ["body", 550, "Message rejected", "sender", "550"],
    ["body", 451, "4.3.0 Try again later", "transient", "451 4.3.0"],
    ["body", 354, "odd", "unknown", "354"],
  ];
  it.each(cases)("%s %i %s → %s", (stage, code, text, kind, codeOut) => {
    expect(classifySmtpReply(stage, code, text)).toMatchObject({ ok: false, kind, code: codeOut });
  });
});
