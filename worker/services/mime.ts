import { timingSafeEqual } from "../lib/crypto";

/**
 * RFC 5322 / MIME text messages for sequence emails, threading ids, and the signed one-click
 * unsubscribe tokens of RFC 8058. Pure except for WebCrypto. Dot-stuffing belongs to the SMTP layer.
 */

const CRLF = "\r\n";
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The Message-ID of one (enrollment, step): deterministic, so a resend after an unknown outcome is recognisable (invariant 4). */
export function messageIdFor(enrollmentId: string, stepId: string, domain: string): string {
  return `<sf.${enrollmentId}.${stepId}@${domain.trim().toLowerCase()}>`;
}

/** Subject of a follow-up in the same thread: "Re: " once, never "Re: Re: ". */
export function subjectForThread(prevSubject: string): string {
  const s = prevSubject.trim();
  return /^re\s*:/i.test(s) ? s : `Re: ${s}`;
}

// ---------- header encoding ----------

// Header values never carry CR/LF (header injection) and fold on single spaces.
const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim();
const isPrintableAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

const b64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));

/**
 * RFC 2047 B encoded-words. Each holds ≤ 42 UTF-8 bytes (56 base64 chars, a 68-char word, so
 * "Subject: " + word stays within 78) and whole characters only, as §5 requires.
 */
function encodedWords(s: string): string[] {
  const words: string[] = [];
  let chunk = "";
  for (const ch of s) {
    if (enc.encode(chunk + ch).length > 42) {
      words.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${b64(enc.encode(w))}?=`);
}

/** "Name: tok tok …" folded before a token whenever a line would pass 78 characters. */
function fold(name: string, tokens: string[]): string {
  const lines: string[] = [];
  let line = `${name}:`;
  for (const tok of tokens) {
    // Never fold before an empty token: that would leave a whitespace-only line.
    if (line.length + 1 + tok.length > 78 && tok !== "" && line.trim() !== `${name}:`) {
      lines.push(line);
      line = ` ${tok}`;
    } else line += ` ${tok}`;
  }
  lines.push(line);
  return lines.join(CRLF);
}

// Plain text words when safe; encoded-words for non-ASCII, for text that could be misread as an
// encoded-word ("=?"), and for words too long to fold.
function textTokens(s: string): string[] {
  const words = s.split(" ");
  const plain = isPrintableAscii(s) && !s.includes("=?") && words.every((w) => w.length <= 70);
  return plain ? words : encodedWords(s);
}

const ATOM_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/;

/** An address with an optional display name: bare atoms, a quoted string, or encoded-words. */
function mailbox(email: string, name?: string): string[] {
  const addr = `<${oneLine(email).replace(/[<>\s]/g, "")}>`;
  const n = oneLine(name ?? "");
  if (!n) return [addr];
  if (ATOM_PHRASE.test(n) && !n.includes("=?")) return [...n.split(" "), addr];
  if (isPrintableAscii(n) && !n.includes("=?")) return [`"${n.replace(/[\\"]/g, "\\$&")}"`, addr];
  return [...encodedWords(n), addr];
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/** RFC 5322 date-time in UTC, e.g. "Mon, 02 Mar 2026 14:00:00 +0000". */
export function formatDate(t: number): string {
  const d = new Date(t);
  return (
    `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

const msgId = (id: string): string => {
  const v = oneLine(id).replace(/\s/g, "");
  return v.startsWith("<") ? v : `<${v}>`;
};

// ---------- body ----------

const HEX = "0123456789ABCDEF";
/** A line quoted-printable leaves unchanged: printable ASCII but "=", blanks inside only. */
const PLAIN_QP_LINE = /^(?:[\x21-\x3c\x3e-\x7e \t]*[\x21-\x3c\x3e-\x7e])?$/;
/** Runs of characters that cannot go literally: "=", controls other than tab, anything not ASCII. */
const QP_ESCAPED = /[^\t\x20-\x3c\x3e-\x7e]+/g;

const escapeBytes = (run: string): string => {
  let out = "";
  for (const b of enc.encode(run)) out += `=${HEX[b >> 4]}${HEX[b & 15]}`;
  return out;
};

/**
 * One line (no CR/LF) quoted-printable: escapes first, then soft breaks ("=" at the end of a line of
 * at most 76) cut at 75 characters, or one or two earlier so an "=XX" escape stays whole. Works on
 * runs of the string rather than byte by byte: a paragraph written as one line and every footer's
 * unsubscribe URL (it has an "=") come here, and a per-byte pass over them was ten times slower.
 */
function qpLine(line: string): string {
  if (line.length <= 76 && PLAIN_QP_LINE.test(line)) return line; // most lines go as they are
  let s = line.replace(QP_ESCAPED, escapeBytes);
  // Space/tab are literal except at the end of a line, where transports may strip them.
  const last = s.charCodeAt(s.length - 1);
  if (last === 32 || last === 9) s = `${s.slice(0, -1)}=${last === 32 ? "20" : "09"}`;
  if (s.length <= 76) return s;
  const out: string[] = [];
  let at = 0;
  while (s.length - at > 76) {
    let cut = at + 75; // 75 leaves room for the soft-break "="
    // Every "=" in s starts an escape now, so one in the last two places would be cut in half.
    if (s.charCodeAt(cut - 1) === 61) cut -= 1;
    else if (s.charCodeAt(cut - 2) === 61) cut -= 2;
    out.push(`${s.slice(at, cut)}=`);
    at = cut;
  }
  out.push(s.slice(at));
  return out.join(CRLF);
}

/** Quoted-printable (RFC 2045 §6.7) of UTF-8 text: CRLF hard breaks, lines ≤ 76 with "=" soft breaks. */
export function encodeQuotedPrintable(text: string): string {
  return text.replace(/\r\n?/g, "\n").split("\n").map(qpLine).join(CRLF);
}

export interface MessageInput {
  from: { email: string; name: string };
  to: { email: string; name?: string };
  subject: string;
  /** Plain-text body (any line endings). */
  text: string;
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  /** Epoch ms. */
  date: number;
  /** HTTPS endpoint accepting the RFC 8058 one-click POST (its token identifies team and address). */
  unsubscribeUrl: string;
  unsubscribeMailto?: string;
  /** Sender's postal address: CAN-SPAM requires one in every commercial email. */
  postalAddress: string;
  signature?: string;
}

/** Body text: the message, the "-- " signature separator, the signature, then the legal footer. */
/** The text the recipient reads: the body, the signature and the footer (postal address, unsubscribe link). */
export function bodyText(input: MessageInput): string {
  const nl = (s: string) => s.replace(/\r\n?/g, "\n").trimEnd();
  const footer = [nl(input.postalAddress ?? ""), input.unsubscribeUrl ? `Unsubscribe: ${input.unsubscribeUrl}` : ""]
    .filter(Boolean)
    .join("\n");
  const tail = [input.signature ? nl(input.signature) : "", footer].filter(Boolean).join("\n\n");
  return `${nl(input.text)}\n\n-- \n${tail}\n`;
}

/** A complete RFC 5322 message (headers + quoted-printable text/plain body) with CRLF line endings. */
export function buildMessage(input: MessageInput): string {
  // Sequence emails always carry one; a mailbox's test email has none.
  const unsubscribe = input.unsubscribeUrl ? [`<${oneLine(input.unsubscribeUrl)}>`] : [];
  if (input.unsubscribeMailto) {
    const m = oneLine(input.unsubscribeMailto);
    unsubscribe.push(`<${m.startsWith("mailto:") ? m : `mailto:${m}`}>`);
  }
  const refs = (input.references ?? []).map(msgId);
  if (input.inReplyTo && refs[refs.length - 1] !== msgId(input.inReplyTo)) refs.push(msgId(input.inReplyTo));
  const headers = [
    fold("From", mailbox(input.from.email, input.from.name)),
    fold("To", mailbox(input.to.email, input.to.name)),
    fold("Subject", textTokens(oneLine(input.subject))),
    `Date: ${formatDate(input.date)}`,
    `Message-ID: ${msgId(input.messageId)}`,
    ...(input.inReplyTo ? [`In-Reply-To: ${msgId(input.inReplyTo)}`] : []),
    ...(refs.length ? [fold("References", refs)] : []),
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    ...(unsubscribe.length
      ? [
          fold(
            "List-Unsubscribe",
            unsubscribe.map((u, i) => (i < unsubscribe.length - 1 ? `${u},` : u)),
          ),
          "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ]
      : []),
  ];
  return `${headers.join(CRLF)}${CRLF}${CRLF}${encodeQuotedPrintable(bodyText(input))}`;
}

// ---------- unsubscribe tokens ----------

const b64url = (bytes: Uint8Array): string => b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
function unb64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  return Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
}

// The purpose label keeps these MACs distinct from anything else signed with the same app secret.
/** The imported HMAC key per secret, kept for the isolate: every email signs its unsubscribe link with it. */
const macKeys = new Map<string, Promise<CryptoKey>>();

async function mac(secret: string, payloadPart: string): Promise<Uint8Array> {
  let key = macKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    key.catch(() => macKeys.delete(secret));
    if (macKeys.size >= 8) macKeys.clear();
    macKeys.set(secret, key);
  }
  return new Uint8Array(await crypto.subtle.sign("HMAC", await key, enc.encode(`unsubscribe.v1.${payloadPart}`)));
}

export interface UnsubscribeToken {
  teamId: string;
  email: string;
  /** The Message-ID header of the email the link came in, so the reports count the opt-out there; links made before it have none. */
  messageId?: string;
}

/**
 * The unsubscribe link's token in a preview (composeEmail's `preview`): the link a person reads there opts
 * nobody out (GET and POST /unsubscribe/preview say so). The contact's own signed link would: a teammate with
 * only a view of the sequence, or a rep trying the link, would unsubscribe the contact from a preview. Not
 * base64url of a signed payload, so no real token is ever this.
 */
export const PREVIEW_UNSUBSCRIBE_TOKEN = "preview";

/** `payload.signature`, both base64url; no expiry, because an unsubscribe link must keep working. */
export async function signUnsubscribeToken(secret: string, payload: UnsubscribeToken): Promise<string> {
  const part = b64url(
    enc.encode(JSON.stringify({ t: payload.teamId, e: payload.email, ...(payload.messageId ? { m: payload.messageId } : {}) })),
  );
  return `${part}.${b64url(await mac(secret, part))}`;
}

/** The token's team and address (and email, when it names one) when its signature is valid, else null (never throws). */
export async function verifyUnsubscribeToken(secret: string, token: string): Promise<UnsubscribeToken | null> {
  const [part, sig, extra] = typeof token === "string" ? token.split(".") : [];
  if (!part || !sig || extra !== undefined) return null;
  const given = unb64url(sig),
    raw = unb64url(part);
  if (!given || !raw) return null;
  if (!timingSafeEqual(given, await mac(secret, part))) return null;
  let data: unknown;
  try {
    data = JSON.parse(dec.decode(raw));
  } catch {
    return null; // unreachable for tokens we signed; a forged one already failed the MAC
  }
  const { t, e, m } = (data ?? {}) as { t?: unknown; e?: unknown; m?: unknown };
  if (typeof t !== "string" || typeof e !== "string") return null;
  return typeof m === "string" ? { teamId: t, email: e, messageId: m } : { teamId: t, email: e };
}
