// The wire level of the SMTP client: one TCP socket from `cloudflare:sockets`, reading whole
// (possibly multi-line) replies and writing commands, every step bounded by a timeout.
import { connect } from "cloudflare:sockets";
import { env as workerEnv } from "cloudflare:workers";
import { privateHostProblem } from "../lib/private-host";

export type Security = "tls" | "starttls" | "none";

/** A complete reply: "250-a\r\n250 b" → { code: 250, lines: ["a", "b"] }. */
export interface SmtpReply {
  code: number;
  lines: string[];
}

export const replyText = (r: SmtpReply) => r.lines.join(" ").trim();

/** The step did not finish within the timeout. */
export class SmtpTimeoutError extends Error {}
/** The connection ended, or the server sent something that is not SMTP. */
export class SmtpConnectionError extends Error {}
/**
 * The host is one the Worker may not connect to (privateHostProblem): no connection was made, and none
 * ever will be until the mailbox's SMTP host changes, so it is never a transient failure.
 */
export class SmtpPrivateHostError extends SmtpConnectionError {}

// A reply longer than this is not an SMTP server talking (EHLO replies are a few hundred bytes).
const MAX_REPLY_BYTES = 64 * 1024;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SmtpTimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class SmtpSocket {
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private writer: WritableStreamDefaultWriter<Uint8Array>;
  private decoder = new TextDecoder();
  private encoder = new TextEncoder();
  private buffer = "";

  private constructor(
    private socket: Socket,
    private timeoutMs: number,
  ) {
    this.observeClosed(socket);
    this.reader = socket.readable.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    this.writer = socket.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
  }

  /**
   * Opens the TCP connection (with TLS from the first byte for "tls"). "starttls" must be requested
   * here already: workerd only allows socket.startTls() on sockets opened that way.
   */
  static async open(
    host: string,
    port: number,
    security: Security,
    timeoutMs: number,
    appEnv: string | undefined = (workerEnv as { APP_ENV?: string }).APP_ENV,
  ): Promise<SmtpSocket> {
    // Checked here, where every connection starts (a mailbox's connect, its test email, each send), not
    // only when settings are saved: a mailbox saved before a range was refused still names it. Only the
    // tests (APP_ENV=test) reach their local SMTP servers.
    const problem = appEnv === "test" ? undefined : privateHostProblem(host);
    if (problem) throw new SmtpPrivateHostError(problem);
    const secureTransport = security === "tls" ? "on" : security === "starttls" ? "starttls" : "off";
    const socket = connect({ hostname: host, port }, { secureTransport, allowHalfOpen: false });
    const conn = new SmtpSocket(socket, timeoutMs);
    try {
      await withTimeout(socket.opened, timeoutMs, `Connecting to ${host}:${port}`);
    } catch (e) {
      await conn.close();
      throw e;
    }
    return conn;
  }

  /** Reads one complete reply, joining "250-" continuation lines. */
  async read(timeoutMs = this.timeoutMs): Promise<SmtpReply> {
    return withTimeout(this.readReply(), timeoutMs, "Waiting for the server's reply");
  }

  private async readReply(): Promise<SmtpReply> {
    const lines: string[] = [];
    for (;;) {
      const nl = this.buffer.indexOf("\n");
      if (nl < 0) {
        if (this.buffer.length > MAX_REPLY_BYTES) throw new SmtpConnectionError("Reply too long; not an SMTP server?");
        const { value, done } = await this.reader.read();
        if (done) throw new SmtpConnectionError("Connection closed by the server");
        this.buffer += this.decoder.decode(value, { stream: true });
        continue;
      }
      const line = this.buffer.slice(0, nl).replace(/\r$/, "");
      this.buffer = this.buffer.slice(nl + 1);
      const m = /^(\d{3})([ -]|$)(.*)$/.exec(line);
      // Never the line itself: the caller names any host and port, and whatever answers there (a database's
      // banner, an internal service) must not be read back through us.
      if (!m) throw new SmtpConnectionError("This server didn't answer as an SMTP server");
      lines.push(m[3]!);
      if (m[2] !== "-") return { code: Number(m[1]), lines };
    }
  }

  async write(data: string, timeoutMs = this.timeoutMs): Promise<void> {
    await withTimeout(this.writer.write(this.encoder.encode(data)), timeoutMs, "Sending to the server");
  }

  /** Sends one command line and reads its reply. */
  async command(line: string, timeoutMs = this.timeoutMs): Promise<SmtpReply> {
    await this.write(`${line}\r\n`, timeoutMs);
    return this.read(timeoutMs);
  }

  /**
   * Upgrades the connection after the server's "220" to STARTTLS; later reads and writes are encrypted.
   * The certificate is checked against the hostname given to open() (workerd ignores
   * `expectedServerHostname`, so none is passed).
   */
  async startTls(): Promise<void> {
    // Anything the server sent after its 220 arrived in plaintext and could have been injected by an
    // attacker in the path (the STARTTLS command-injection class of bugs): refuse to carry it over.
    if (this.buffer.length > 0) throw new SmtpConnectionError("Unexpected data after the STARTTLS reply");
    this.reader.releaseLock();
    this.writer.releaseLock();
    this.socket = this.socket.startTls();
    this.observeClosed(this.socket);
    this.reader = this.socket.readable.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    this.writer = this.socket.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    this.decoder = new TextDecoder();
    await withTimeout(this.socket.opened, this.timeoutMs, "TLS handshake");
  }

  // A failed connection also rejects `closed`; we learn about failures from reads and writes, so
  // only keep that rejection from surfacing as an unhandled one.
  private observeClosed(socket: Socket): void {
    socket.closed.catch(() => {});
  }

  async close(): Promise<void> {
    try {
      await this.socket.close();
    } catch {
      // Already closed or failed: nothing left to release.
    }
  }
}
