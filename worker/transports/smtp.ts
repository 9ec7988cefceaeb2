// SMTP transport: sends one message per connection through a mailbox's own SMTP server (Gmail,
// Microsoft 365, any provider with SMTP AUTH) over `cloudflare:sockets`.
//
// Invariant 4 (never emailed twice) starts here: every failure is classified by whether the server can
// have accepted the message. Only a failure after the final "." of DATA went out is "unknown"; MailboxDO
// records it and never resends it. Everything earlier is "transient" (safe to retry) or definite.
import { isSendableAddress } from "./address";
import { classifySmtpReply, type SmtpStage } from "./smtp-classify";
import { replyText, SmtpPrivateHostError, SmtpSocket, SmtpTimeoutError, type Security, type SmtpReply } from "./smtp-socket";
import type { OutgoingEmail, SendFailure, SendResult, Transport } from "./types";

export { classifySmtpReply, type SmtpStage } from "./smtp-classify";

export interface SmtpConfig {
  host: string;
  port: number;
  /** "tls": TLS from the first byte (port 465). "starttls": plaintext, then upgrade (587). "none": never encrypt. */
  security: Security;
  username?: string;
  password?: string;
  /** Name sent with EHLO; defaults to the sender's domain. */
  heloName?: string;
  /** Limit for each step (connect, each command, the body), not for the whole send. Default 30 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const QUIT_TIMEOUT_MS = 5_000;

const HELO_NAME = /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/;

/** An error reply to the command of `stage`. */
class ReplyError extends Error {
  constructor(
    readonly stage: SmtpStage,
    readonly reply: SmtpReply,
  ) {
    super(`${reply.code} ${replyText(reply)}`);
  }
}

/** A failure we decided ourselves (e.g. STARTTLS required but not offered). */
class DecidedFailure extends Error {
  constructor(readonly failure: SendFailure) {
    super(failure.message);
  }
}

const utf8Base64 = (s: string) => btoa(Array.from(new TextEncoder().encode(s), (b) => String.fromCharCode(b)).join(""));

/**
 * The DATA payload: line endings normalised to CRLF, every line that starts with "." gets a second "."
 * (RFC 5321 §4.5.2, so a body line "." doesn't end the message early), and a final CRLF so that the
 * terminator ".\r\n" that follows makes "\r\n.\r\n".
 */
export function dotStuff(raw: string): string {
  const stuffed = raw.replace(/\r\n|\r|\n/g, "\r\n").replace(/(^|\r\n)\./g, "$1..");
  return stuffed.endsWith("\r\n") ? stuffed : `${stuffed}\r\n`;
}

/** One connection: setup (greeting, EHLO, STARTTLS, AUTH), at most one mail transaction, QUIT. */
class SmtpSession {
  /** The command in progress, so a timeout or dropped connection can be attributed. */
  stage: "connect" | SmtpStage = "connect";
  /** Set just before the terminating "." goes out: from then on a lost reply means "maybe delivered". */
  private terminatorSent = false;
  /** Between the server's "220" to STARTTLS and the end of the TLS handshake. */
  private handshaking = false;
  private conn: SmtpSocket | undefined;
  private extensions = new Map<string, string>();
  authMethod: string | undefined;

  constructor(
    private readonly config: SmtpConfig,
    private readonly heloName: string,
  ) {}

  private get timeoutMs(): number {
    return this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private get where(): string {
    return `${this.config.host}:${this.config.port}`;
  }

  private expect(reply: SmtpReply, ...codes: number[]): SmtpReply {
    if (!codes.includes(reply.code)) throw new ReplyError(this.stage as SmtpStage, reply);
    return reply;
  }

  private socket(): SmtpSocket {
    if (!this.conn) throw new Error("SMTP session is not open");
    return this.conn;
  }

  /** Connect, greeting, EHLO, STARTTLS (+ EHLO again), AUTH. */
  async open(): Promise<void> {
    const { host, port, security } = this.config;
    this.conn = await SmtpSocket.open(host, port, security, this.timeoutMs);
    this.stage = "greeting";
    this.expect(await this.conn.read(), 220);
    await this.hello();
    if (security === "starttls") {
      this.stage = "starttls";
      if (!this.extensions.has("STARTTLS")) {
        throw new DecidedFailure({
          ok: false,
          kind: "sender",
          message: `${this.where} does not offer STARTTLS; use security "tls" (usually port 465) or "none"`,
        });
      }
      this.expect(await this.conn.command("STARTTLS"), 220);
      this.handshaking = true;
      await this.conn.startTls();
      this.handshaking = false;
      // Capabilities must be asked again over TLS (RFC 3207); servers often offer AUTH only now.
      await this.hello();
    }
    if (this.config.username) await this.authenticate(this.config.username, this.config.password ?? "");
  }

  private async hello(): Promise<void> {
    const conn = this.socket();
    this.stage = "ehlo";
    const ehlo = await conn.command(`EHLO ${this.heloName}`);
    if (ehlo.code === 250) {
      // "250-AUTH PLAIN LOGIN" → AUTH: "PLAIN LOGIN" (also the old "AUTH=PLAIN" form). Line 0 is the greeting.
      this.extensions = new Map(
        ehlo.lines.slice(1).map((l) => {
          const [keyword = "", ...rest] = l.trim().split(/[ =]/);
          return [keyword.toUpperCase(), rest.join(" ").toUpperCase()];
        }),
      );
      return;
    }
    if (ehlo.code < 500) this.expect(ehlo, 250); // 4xx: try later
    // A pre-ESMTP server: HELO works, but there are no extensions (so no STARTTLS or AUTH).
    this.expect(await conn.command(`HELO ${this.heloName}`), 250);
    this.extensions = new Map();
  }

  private async authenticate(username: string, password: string): Promise<void> {
    const conn = this.socket();
    this.stage = "auth";
    const offered = this.extensions.get("AUTH")?.split(/\s+/) ?? [];
    if (offered.includes("PLAIN")) {
      this.expect(await conn.command(`AUTH PLAIN ${utf8Base64(`\0${username}\0${password}`)}`), 235);
      this.authMethod = "PLAIN";
    } else if (offered.includes("LOGIN")) {
      this.expect(await conn.command("AUTH LOGIN"), 334);
      this.expect(await conn.command(utf8Base64(username)), 334);
      this.expect(await conn.command(utf8Base64(password)), 235);
      this.authMethod = "LOGIN";
    } else {
      const why = this.extensions.has("AUTH")
        ? `offers only AUTH ${this.extensions.get("AUTH")}; Seqflare supports PLAIN and LOGIN`
        : `does not offer AUTH${this.config.security === "none" ? ' without TLS; try security "starttls"' : ""}`;
      throw new DecidedFailure({ ok: false, kind: "sender", message: `${this.where} ${why}` });
    }
  }

  /** MAIL FROM, RCPT TO, DATA and the message; returns the server's acceptance reply. */
  async transaction(mail: OutgoingEmail): Promise<string> {
    const conn = this.socket();
    this.stage = "mail";
    // Declare 8-bit content / UTF-8 addresses when the server supports it; otherwise send as is.
    let params = "";
    if (this.extensions.has("8BITMIME") && /[^\x00-\x7f]/.test(mail.raw)) params += " BODY=8BITMIME";
    if (this.extensions.has("SMTPUTF8") && /[^\x00-\x7f]/.test(mail.from.email + mail.to)) params += " SMTPUTF8";
    this.expect(await conn.command(`MAIL FROM:<${mail.from.email}>${params}`), 250);
    this.stage = "rcpt";
    this.expect(await conn.command(`RCPT TO:<${mail.to}>`), 250, 251);
    this.stage = "data";
    this.expect(await conn.command("DATA"), 354);
    this.stage = "body";
    // Two writes so that a failure while the body is still going out is provably "not accepted":
    // without the terminator the server must discard the message.
    await conn.write(dotStuff(mail.raw));
    this.terminatorSent = true;
    await conn.write(".\r\n");
    const reply = this.expect(await conn.read(), 250);
    return `${reply.code} ${replyText(reply)}`;
  }

  /** Polite goodbye; its outcome doesn't matter any more. */
  async quit(): Promise<void> {
    try {
      await this.conn?.command("QUIT", Math.min(this.timeoutMs, QUIT_TIMEOUT_MS));
    } catch {
      // The message (or the check) is already done.
    }
  }

  async close(): Promise<void> {
    await this.conn?.close();
  }

  /** Turns whatever went wrong into a SendFailure. */
  failure(e: unknown): SendFailure {
    if (e instanceof DecidedFailure) return e.failure;
    if (e instanceof ReplyError) return classifySmtpReply(e.stage, e.reply.code, replyText(e.reply));
    // Refused before connecting (a private or local host): it was retried as a failed connection, every
    // pass and every email, and never could succeed. Said as the account's problem, which pauses the
    // mailbox with this reason on the Mailboxes screen until its SMTP host is changed.
    if (e instanceof SmtpPrivateHostError)
      return { ok: false, kind: "sender", message: `${this.config.host} can't be used as the SMTP host. ${e.message}` };
    const detail = e instanceof Error ? e.message : String(e);
    if (this.terminatorSent) {
      return {
        ok: false,
        kind: "unknown",
        message: `No reply from ${this.where} after the message was sent (${detail}); it may have been delivered`,
      };
    }
    if (this.handshaking && !(e instanceof SmtpTimeoutError)) {
      // The server agreed to STARTTLS and the handshake then failed: almost always a certificate that
      // doesn't match the host or isn't trusted. That won't fix itself; the mailbox needs attention.
      // (workerd reports it only as "internal error; reference = …", so the cause can't be shown.)
      return {
        ok: false,
        kind: "sender",
        message: `TLS handshake with ${this.where} failed; check that its certificate is valid for ${this.config.host} (${detail})`,
      };
    }
    if (this.stage === "connect") return { ok: false, kind: "transient", message: `Could not connect to ${this.where}: ${detail}` };
    return { ok: false, kind: "transient", message: `Connection to ${this.where} failed during ${this.stage}: ${detail}` };
  }
}

function heloNameFor(config: SmtpConfig, address: string | undefined): string {
  const candidate = config.heloName ?? address?.split("@")[1];
  return candidate && HELO_NAME.test(candidate) ? candidate : "localhost";
}

export function smtpTransport(config: SmtpConfig): Transport {
  return {
    async send(mail: OutgoingEmail): Promise<SendResult> {
      if (!isSendableAddress(mail.to))
        return { ok: false, kind: "recipient_permanent", message: `Invalid recipient address ${JSON.stringify(mail.to)}` };
      if (!isSendableAddress(mail.from.email))
        return { ok: false, kind: "sender", message: `Invalid sender address ${JSON.stringify(mail.from.email)}` };
      const session = new SmtpSession(config, heloNameFor(config, mail.from.email));
      try {
        await session.open();
        const response = await session.transaction(mail);
        await session.quit();
        return { ok: true, response };
      } catch (e) {
        return session.failure(e);
      } finally {
        await session.close();
      }
    },
  };
}

/** For the mailbox "verify" button: connect, EHLO, STARTTLS, AUTH, QUIT; no message is sent. */
export async function testConnection(config: SmtpConfig): Promise<{ ok: boolean; message: string }> {
  const session = new SmtpSession(config, heloNameFor(config, config.username?.includes("@") ? config.username : undefined));
  try {
    await session.open();
    await session.quit();
    const tls = config.security === "none" ? "without TLS" : config.security === "tls" ? "over TLS" : "with STARTTLS";
    const auth = session.authMethod ? `, signed in as ${config.username} (AUTH ${session.authMethod})` : "";
    return { ok: true, message: `Connected to ${config.host}:${config.port} ${tls}${auth}` };
  } catch (e) {
    return { ok: false, message: session.failure(e).message };
  } finally {
    await session.close();
  }
}
