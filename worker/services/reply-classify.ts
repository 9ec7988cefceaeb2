// Reads one inbound email (raw MIME) and says what it is, with the evidence: a bounce report (hard or
// soft, by its RFC 3463 status), an out-of-office or other auto-reply (by the RFC 3834 headers and
// the usual phrases), a human reply asking to be removed, or a reply. Pure: no D1, no clock but `t`.
import PostalMime from "postal-mime";
import { INBOUND_BODY_MAX, type InboundClassification, type InboundEvidence } from "../db/schema";
import { sha256Hex } from "../lib/crypto";

/** The Message-IDs Seqflare gives its emails: `<sf.{enrollment}.{step}@domain>`. */
const OUR_ID = /<sf\.[0-9a-f]{24}\.[0-9a-f]{24}@[^>\s]+>/gi;
const DAY = 86_400_000;
/** An out-of-office without a readable return date pauses this long. */
export const OOO_DEFAULT_MS = 7 * DAY;

export interface Classified {
  kind: InboundClassification | "ignored";
  /**
   * Our Message-IDs it answers (threading headers, or the returned headers of a bounce report). None on
   * a person's reply or removal request without threading headers: recordInbound matches it by sender.
   */
  ids: string[];
  evidence: InboundEvidence;
  returnAt?: number;
  bounceStatus?: string;
  /** Those of `ids` its In-Reply-To holds (the rest came from References): which header matched is told by it. */
  inReplyTo?: string[];
  /** The inbound email's own Message-ID (a hash of it when it has none): handled once per team. */
  headerId: string;
  from: string;
  subject: string;
  snippet: string;
  /** The whole email as plain text, cut at INBOUND_BODY_MAX characters (`truncated` then). */
  body: { text: string; truncated: boolean };
}

function header(headers: { key: string; value: string }[], key: string) {
  return headers.find((h) => h.key === key)?.value ?? "";
}

/** "I'm back on December 2" / "returning 2026-12-02" → that instant (09:00 UTC), if it lies ahead. */
export function returnDate(text: string, t: number): number | null {
  const m = text.match(
    /(?:(?:back|return(?:ing)?)(?:\s+(?:in|to)\s+(?:the\s+)?office)?|until|through)\s+(?:on\s+)?(?:[A-Za-z]+day,?\s+)?([A-Za-z]+\s+\d{1,2}(?:,?\s+\d{4})?|\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]+(?:\s+\d{4})?)/i,
  );
  if (!m) return null;
  const year = new Date(t).getUTCFullYear();
  for (const candidate of [m[1]!, `${m[1]} ${year}`, `${m[1]} ${year + 1}`]) {
    const d = Date.parse(`${candidate} 09:00 UTC`) || Date.parse(candidate);
    if (Number.isFinite(d) && d > t && d < t + 120 * DAY) return d;
  }
  return null;
}

/**
 * A refusal of the sender, not of the address: x.7.x security or policy (a listed sending IP, SPF or
 * DMARC, "5.7.1 client host blocked") and x.4.x routing. Every recipient at that provider gets it, so
 * as a hard bounce it suppressed them all for our IP's reputation (the send path reads 5.7.x as the
 * mailbox's problem too, transports/smtp-classify.ts).
 */
export const isBlocked = (status: string, diagnostic = "") => /^[45]\.[47]\./.test(status) && !NAMES_RECIPIENT.test(diagnostic);

/**
 * A server's words that the address itself is refused, whatever its status code: Exchange Online answers
 * a nonexistent recipient "550 5.4.1 Recipient address rejected: Access denied", many servers
 * "550 5.7.1 … User unknown". Such a x.4.x / x.7.x is no policy block: the address is dead (hard).
 */
const NAMES_RECIPIENT =
  /recipient address rejected|user unknown|does not exist|no such user|mailbox unavailable|address not found|invalid recipient/i;

/**
 * Soft: the address exists but could not take the email now (a 4.x.x reported as failed, a full
 * mailbox, 5.2.2), or the receiving server refused the sender (isBlocked, read with the server's
 * `diagnostic`): retried before it counts. Everything else with a 5 is hard.
 */
export function bounceKind(status: string, diagnostic = ""): "bounce_hard" | "bounce_soft" {
  return status.startsWith("4.") || status === "5.2.2" || isBlocked(status, diagnostic) ? "bounce_soft" : "bounce_hard";
}

/** The report's Diagnostic-Code (its folded lines joined), else the server reply its text quotes. */
function diagnosticOf(head: string): string {
  const code = /^\s*Diagnostic-Code:[^\n]*(?:\r?\n[ \t]+[^\n]*)*/im.exec(head)?.[0];
  return code ?? (SMTP_SAID.exec(head) ?? SMTP_LINE.exec(head))?.[0] ?? "";
}

/**
 * Out-of-office wordings, in English and as German, French, Spanish, Italian, Dutch and Portuguese
 * auto-replies write them ("Ich bin bis … nicht im Büro", "Je suis absente", "fuera de la oficina"…).
 * Read only in mail an auto-reply header or subject already marks as automatic.
 */
const OOO_PHRASE = new RegExp(
  [
    "out of (?:the )?office|on (?:vacation|holiday|leave|parental leave)|away from (?:the )?office|currently away|limited access to (?:my )?email|i am away|i'm away|annual leave",
    "nicht im büro|nicht im hause|außer haus|ausser haus|abwesend|im urlaub|abwesenheitsnotiz",
    "je suis absente?|absente? du bureau|hors du bureau|en congé|en vacances",
    "fuera de la oficina|estaré ausente|estoy ausente|de vacaciones",
    "fuori ufficio|fuori sede|in ferie|sarò assente|sono assente",
    "afwezig|niet op kantoor|met vakantie|op vakantie",
    "fora do escritório|estarei ausente|estou ausente|de férias|ausente",
  ].join("|"),
  "i",
);
/** An auto-reply's own words at the start of its subject ("Automatic reply: …", "Out of office until …"). */
const AUTO_SUBJECT =
  /^(?:automatic reply|auto(?:matic)?[- ]?reply|autoreply|auto[- ]?response|out of (?:the )?office|abwesenheitsnotiz|réponse automatique|respuesta automática|risposta automatica)\b/i;
/** A reply or forward prefix, as mail clients write it in the languages our customers' prospects use. */
const REPLY_PREFIX = /^\s*(?:re|aw|sv|vs|antw|odp|rif|ref|réf|r|fwd?|wg|tr|rv|enc)\s*(?:\[\d+\])?\s*:/i;

/** A subject without the reply / forward prefixes in front of it ("Re: AW: Quick question" → "Quick question"). */
export function answeredSubject(subject: string): string {
  let s = subject;
  while (REPLY_PREFIX.test(s)) s = s.replace(REPLY_PREFIX, "");
  return s.trim().toLowerCase();
}

/**
 * What an inbound subject says of itself: the auto-reply phrase it starts with, up to the subject it
 * quotes ("Out of office until March 8: Re: …" → "Out of office until March 8"). A subject that is a
 * reply ("Re: …", "AW: …") says nothing: its words are our own subject's ("Re: Planning annual leave").
 */
export function autoSubjectLead(subject: string): string {
  if (REPLY_PREFIX.test(subject) || !AUTO_SUBJECT.test(subject.trim())) return "";
  return subject.trim().split(":")[0]!.trim();
}
/** What a German or Dutch removal request takes the person off: a list, a newsletter, the emails. */
const LIST =
  "\\b(?:liste|verteiler|newsletter|mailingliste|e-?mail-?liste|e-?mails?|datenbank|lijst|mailinglijst|verzendlijst|nieuwsbrief|mailings?)\\b";
/** A human asking to be left alone, in the new part of a reply (quoted text is cut off first). */
const UNSUBSCRIBE_PHRASE = new RegExp(
  [
    "\\b(?:unsubscribe(?: me)?|remove me|take me off|opt(?:[- ])?out|stop (?:emailing|contacting|sending|writing)|do not (?:email|contact) me|don't (?:email|contact) me|no more emails)\\b",
    // de, fr, es, it, nl, pt: "Bitte abmelden", "désabonnez-moi", "darme de baja", "cancellami"…
    // "abmelden" / "austragen" / "afmelden" alone also cancel a registration or log off ("Ich muss mich vom
    // Webinar abmelden, aber gern nächste Woche" is an interested lead): they count only as the whole reply,
    // after "bitte" / "graag", or with a list, newsletter or emails they are to be taken off.
    "^\\s*(?:abmelden|austragen|afmelden)[\\s.!]*$",
    "(?<=\\bbitte\\s+(?:(?:mich|uns)\\s+)?)(?:abmelden|austragen)\\b|(?<=\\bgraag\\s+(?:(?:mij|me|ons)\\s+)?)afmelden\\b",
    `\\b(?:mich|uns|mij|me|ons|aus|von|vom|van|uit)\\b[^.!?\\n]{0,40}?${LIST}[^.!?\\n]{0,30}?\\b(?:abmelden|austragen|afmelden)\\b`,
    `\\b(?:mich|uns)\\b[^.!?\\n]{0,40}?${LIST}[^.!?\\n]{0,30}?\\b(?:entfernen|streichen)\\b|\\b(?:entfernen|streichen)\\s+sie\\s+(?:mich|uns)\\b`,
    `\\b(?:mich|uns|mij|me|ons)\\s+(?:\\S+\\s+){0,3}?(?:abmelden|austragen|afmelden)\\s+(?:\\S+\\s+){0,3}?${LIST}`,
    `${LIST}\\s+(?:abmelden|austragen|afmelden)\\b`,
    "\\btragen\\s+sie\\s+(?:mich|uns)\\s+(?:bitte\\s+)?aus\\b",
    "\\b(?:keine (?:weiteren )?e-?mails mehr|nicht mehr (?:anschreiben|kontaktieren|schreiben))",
    "désabonne|désinscri|ne plus (?:m'envoyer|me contacter|m'écrire)|(?:retirez|supprimez)-moi",
    "\\b(?:darme de baja|denme de baja|dar(?:me)? de baja|no me (?:escriba|contacte|envíe)|quit(?:ar|en)me de)",
    "\\b(?:cancellami|disiscriv|non (?:scrivermi|contattarmi)|rimuovetemi|rimuovimi)",
    "\\b(?:uitschrijven|verwijder (?:mij|me)|geen e-?mails meer)",
    "\\b(?:descadastr|remova-me|me remova|cancelar (?:a )?inscrição|não me (?:envie|contate))",
  ].join("|"),
  "i",
);

/**
 * Where a quoted original starts, as mail clients write it in the languages our customers' prospects
 * use: "On … wrote:" (Am … schrieb, Le … a écrit, El … escribió, Il … ha scritto, Op … schreef),
 * Outlook's "-----Original Message-----" or header block ("From:", "Von:", "De:", …) or its rule of
 * underscores, and the "-- " signature separator (our emails' signature and footer follow it).
 */
const QUOTE_STARTS = [
  /^(On|Am|Le|El|Il|Op|Den|På|W dniu|Em) .+(wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev|napisał|escreveu):$/i,
  /^-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale|Oorspronkelijk bericht|Mensagem original|Opprinnelig melding|Ursprungligt meddelande)\s*-{2,}/i,
  /^(From|Von|De|Da|Van|Fra|Från|Od|Lähettäjä) ?:\s.+/,
  /^_{10,}$/,
  /^--$/,
  /^Unsubscribe:\s*https?:\/\//i,
];

/** The part of a reply above the quoted original ("> " lines and the QUOTE_STARTS). */
export function newText(text: string): string {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*>/.test(line)) break;
    if (QUOTE_STARTS.some((q) => q.test(line.trim()))) break;
    out.push(line);
  }
  return out.join("\n").trim();
}

const snippetOf = (s: string) => s.replace(/\s+/g, " ").trim().slice(0, 300);

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/**
 * A numeric character reference as HTML reads it: one that names no character (beyond U+10FFFF, a
 * surrogate, NUL) is U+FFFD. String.fromCodePoint throws on the first, and one `&#99999999;` in a
 * stranger's email must never stop the reading of every email after it.
 */
function codePoint(ref: string): string {
  const hex = ref[1] === "x" || ref[1] === "X";
  const n = parseInt(ref.slice(hex ? 2 : 1), hex ? 16 : 10);
  return !Number.isFinite(n) || n <= 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff) ? "\ufffd" : String.fromCodePoint(n);
}

/** An HTML-only email as text a rep can read: blocks and line breaks become new lines, tags and styles go. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(style|script|head)\b[\s\S]*?<\/\1>/gi, "")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|li|tr|h[1-6]|blockquote)>/gi, "\n")
    .replace(/<[^>]+>/g, "")
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => (e[0] === "#" ? codePoint(e) : (ENTITIES[e.toLowerCase()] ?? m)))
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/**
 * An email's text: its plain-text part, else its HTML as text (postal-mime gives no text for an
 * HTML-only email). What is classified and what is kept: a "remove me" written in HTML must be read.
 */
const textOf = (email: { text?: string; html?: string }) => (email.text ?? "").trim() || htmlToText(email.html ?? "");

/** An address as a report names it: `rfc822; <a@b.test>`, `<a@b.test>`, `Name <a@b.test>`. */
function addressIn(value: string | undefined): string | null {
  const m = /<?([^\s<>;,"]+@[^\s<>;,"]+?)>?(?=[\s,;]|$)/.exec((value ?? "").replace(/^\s*rfc822\s*;/i, " ").trim());
  return m ? m[1]!.toLowerCase() : null;
}

/**
 * Where a delivery report's copy of our email starts (MIME's returned part, or the line qmail, Exim,
 * Exchange and others write above the copy): what follows is our own email, its words not the report's.
 */
const RETURNED_COPY = [
  /^Content-Type:\s*(?:message\/rfc822|text\/rfc822-headers)/im,
  /^[\s-]*Below this line is a copy of the message/im,
  /^[\s-]*This is a copy of the message/im,
  /^[\s-]*(?:Original|Returned|Undelivered) message(?: follows)?[\s-]*$/im,
  /^[\s-]*The original message (?:was|is|follows)/im,
];
function returnedCopyAt(text: string): number {
  return Math.min(text.length, ...RETURNED_COPY.map((r) => r.exec(text)?.index ?? text.length));
}

/** A server reply quoted in a report: its code and, when given, its enhanced status ("550 5.1.1 …"). */
const SMTP_SAID = /\bsaid:\s*([45]\d\d)(?:[ -]+([245]\.\d{1,3}\.\d{1,3}))?(?![\d.])[^\n]*/i;
const SMTP_LINE = /^[ \t]*([45]\d\d)(?:[ -]+([245]\.\d{1,3}\.\d{1,3}))?(?![\d.])[^\n]*$/m;
/** A warning that delivery is only delayed (Exim's, Postfix's and Exchange's wordings). */
const DELAY_NOTICE =
  /has not (?:yet )?been delivered|not been delivered yet|will (?:keep|continue) (?:trying|to try)|still trying|is delayed|been delayed|delivery (?:is )?delayed|Delay(?:ed)? notification/i;

/**
 * A report about a forward of our email (RFC 3464): its Final-Recipient is not the address we sent to,
 * which is its Original-Recipient, else the To: of the returned copy. Null when they agree or either is
 * missing (then the report is about the address we wrote to, as before). `at`: where the returned
 * copy starts (returnedCopyAt).
 */
function forwardedCopy(text: string, at: number): { final: string; sentTo: string } | null {
  const head = text.slice(0, at);
  const final = addressIn(/^\s*Final-Recipient:\s*(.+)$/im.exec(head)?.[1]);
  const sentTo = addressIn(/^\s*Original-Recipient:\s*(.+)$/im.exec(head)?.[1]) ?? addressIn(/^To:\s*(.+)$/im.exec(text.slice(at))?.[1]);
  return final && sentTo && final !== sentTo ? { final, sentTo } : null;
}

/**
 * Classifies an inbound email and finds the Seqflare emails it answers. A delivery-status report
 * whose Status is 5.x.x (or 4.x.x with Action: failed) is a bounce; a report that only says the
 * server is still trying (Action: delayed, 4.x.x) is ignored. Auto-submitted mail is an
 * out-of-office when it says so (or gives a return date), else an auto-reply. A reply that asks to be
 * removed is an unsubscribe request; anything else that threads to one of our emails is a reply.
 */
export async function classifyInbound(raw: ArrayBuffer | string, t: number): Promise<Classified> {
  try {
    return await classify(raw, t);
  } catch (e) {
    // Only the email itself can make this throw (postal-mime refuses headers over 2 MB, parts nested too
    // deep), so reading it again would fail again: it is ignored, the email() handler answers, and reply
    // polling goes on to the emails after it instead of stopping at this one every minute for good.
    const message = e instanceof Error ? e.message : String(e);
    console.error(`inbound email could not be read: ${message}`);
    const text = typeof raw === "string" ? raw : new TextDecoder().decode(raw);
    return {
      kind: "ignored",
      ids: [],
      evidence: { rule: "unreadable", phrase: message.slice(0, 200) },
      headerId: `sha256:${await sha256Hex(text)}`,
      from: "",
      subject: "",
      snippet: "",
      body: { text: "", truncated: false },
    };
  }
}

async function classify(raw: ArrayBuffer | string, t: number): Promise<Classified> {
  const email = await PostalMime.parse(raw);
  const text = typeof raw === "string" ? raw : new TextDecoder().decode(raw);
  const h = email.headers;
  const own = (email.messageId ?? "").trim();
  const body = textOf(email);
  const base = {
    headerId: own || `sha256:${await sha256Hex(text)}`,
    from: (email.from?.address ?? "").toLowerCase(),
    subject: (email.subject ?? "").slice(0, 300),
    // Kept at most INBOUND_BODY_MAX characters; classified whole (below), before the cut.
    body: { text: body.slice(0, INBOUND_BODY_MAX), truncated: body.length > INBOUND_BODY_MAX },
  };
  const contentType = header(h, "content-type").toLowerCase();
  const isReport = contentType.includes("multipart/report") || /^(mailer-daemon|postmaster)@/.test(base.from);
  if (isReport) {
    const ids = [...new Set(text.match(OUR_ID) ?? [])];
    const snippet = snippetOf(body);
    // The report's own words: the returned copy of our email after them may say anything ("500 teams…").
    const copyAt = returnedCopyAt(text);
    const head = text.slice(0, copyAt);
    const status = /^\s*Status:\s*([245]\.\d{1,3}\.\d{1,3})/im.exec(head)?.[1];
    const action = /^\s*Action:\s*([a-z]+)/im.exec(head)?.[1]?.toLowerCase();
    const failed = status && (status.startsWith("5.") || (status.startsWith("4.") && action === "failed"));
    const forwarded = failed ? forwardedCopy(text, copyAt) : null;
    if (failed && forwarded)
      // The address we wrote to forwards to one that failed: the report is about the forward, not about
      // our contact, whose own mailbox took the email. Kept (the inbox shows both addresses) and nothing
      // done: suppressing the contact for a dead forward would stop a live address.
      return {
        ...base,
        kind: "auto_reply",
        ids,
        snippet,
        bounceStatus: status,
        evidence: {
          rule: "forwarded_copy_bounced",
          header: `Final-Recipient: ${forwarded.final}`,
          phrase: `sent to ${forwarded.sentTo}`,
          status,
        },
      };
    if (failed) {
      const diagnostic = diagnosticOf(head);
      return {
        ...base,
        kind: bounceKind(status, diagnostic),
        ids,
        snippet,
        bounceStatus: status,
        evidence: {
          rule: isBlocked(status, diagnostic) ? "dsn_blocked" : "dsn_status",
          header: `Status: ${status}${action ? ` (Action: ${action})` : ""}`,
          status,
        },
      };
    }
    // A report without a DSN part (qmail, Exim, some Exchange): the server's reply it quotes, first the
    // one after "said:" ("Remote host said: 452 4.2.2 mailbox full"), else a line starting with a code.
    const smtp = SMTP_SAID.exec(head) ?? SMTP_LINE.exec(head);
    if (!status && smtp) {
      const [line, code, enhanced] = smtp as unknown as [string, string, string | undefined];
      // A 4xx in a notice that the server is still trying is a delay, not a bounce: retrying now would send it twice.
      if (code.startsWith("4") && DELAY_NOTICE.test(head))
        return { ...base, kind: "ignored", ids, snippet, evidence: { rule: "dsn_delayed", phrase: line.trim().slice(0, 200) } };
      const bounceStatus = enhanced ?? code;
      return {
        ...base,
        kind: enhanced ? bounceKind(enhanced, line) : code.startsWith("4") ? "bounce_soft" : "bounce_hard",
        ids,
        snippet,
        bounceStatus,
        evidence: {
          rule: enhanced && isBlocked(enhanced, line) ? "dsn_blocked" : "smtp_reply_in_report",
          phrase: line.trim().slice(0, 200),
          status: bounceStatus,
        },
      };
    }
    return {
      ...base,
      kind: "ignored",
      ids,
      snippet,
      evidence: { rule: status ? "dsn_delayed" : "report_without_status", ...(status ? { status } : {}) },
    };
  }
  // One of our own emails (a threaded follow-up landing in an inbox we poll, a teammate's address
  // enrolled as a contact) answers nothing: its quoted footer would read as an unsubscribe request.
  if ((own.match(OUR_ID) ?? []).length)
    return { ...base, kind: "ignored", ids: [], snippet: snippetOf(body), evidence: { rule: "our_own_email" } };
  const ids = [...new Set([email.inReplyTo ?? "", email.references ?? ""].join(" ").match(OUR_ID) ?? [])];
  // HTML quotes the original in a <blockquote>, which its text no longer marks ("> "): the new part ends there.
  const fresh = newText(email.text?.trim() ? body : htmlToText((email.html ?? "").replace(/<blockquote\b[\s\S]*$/i, "")));
  const snippet = snippetOf(fresh || body);
  // The header that named one of ours, with that id: In-Reply-To's, else References' last of ours (the
  // newest in the thread, RFC 5322). An answer that only keeps References was shown "In-Reply-To: <oldest>".
  const inReplyTo = (email.inReplyTo ?? "").match(OUR_ID) ?? [];
  const referenced = (email.references ?? "").match(OUR_ID) ?? [];
  const thread = inReplyTo.length
    ? `In-Reply-To: ${inReplyTo[0]}`
    : referenced.length
      ? `References: ${referenced[referenced.length - 1]}`
      : undefined;
  // No id of ours (a client that drops the threading headers, or the person writing afresh to the rep):
  // only a person's own words go on, as a reply or a removal request recordInbound may match by its
  // sender; an automatic answer with no thread is not known to answer us.
  const unthreaded = !ids.length;
  const ignoredUnthreaded = { ...base, kind: "ignored" as const, ids, snippet, evidence: { rule: "not_a_reply_to_our_email" } };
  const auto = header(h, "auto-submitted").toLowerCase();
  const autoHeader =
    auto && auto !== "no"
      ? `Auto-Submitted: ${auto}`
      : header(h, "x-autoreply")
        ? "X-Autoreply"
        : header(h, "x-autorespond")
          ? "X-Autorespond"
          : /auto_reply|auto-reply/i.test(header(h, "precedence"))
            ? `Precedence: ${header(h, "precedence")}`
            : undefined;
  // Only the subject's own lead counts: the rest of it is our subject, which a human reply repeats.
  const lead = autoSubjectLead(base.subject);
  // Headers some auto-responders send instead of Auto-Submitted, but mailing lists and bulk senders
  // too: they make an out-of-office only beside its wording, never an auto-reply on their own.
  const precedence = header(h, "precedence").toLowerCase();
  const weakHeader = /^(?:bulk|junk)$/.test(precedence.trim())
    ? `Precedence: ${precedence.trim()}`
    : h.some((x) => x.key === "x-autoresponse")
      ? "X-Autoresponse"
      : undefined;
  const weakOoo = !autoHeader && !lead && weakHeader ? OOO_PHRASE.exec(fresh || body)?.[0] : undefined;
  if (unthreaded && (autoHeader || lead || weakOoo)) return ignoredUnthreaded;
  if (autoHeader || lead || weakOoo) {
    const oooPhrase = OOO_PHRASE.exec(lead)?.[0] ?? OOO_PHRASE.exec(fresh || body)?.[0];
    const back = returnDate(`${lead}\n${fresh || body}`, t);
    const why = autoHeader ?? (lead ? `Subject: ${base.subject}` : weakHeader!);
    if (oooPhrase || back) {
      return {
        ...base,
        kind: "out_of_office",
        ids,
        snippet,
        returnAt: back ?? t + OOO_DEFAULT_MS,
        evidence: {
          rule: back ? "auto_reply_with_return_date" : "auto_reply_out_of_office",
          header: why,
          ...(oooPhrase ? { phrase: oooPhrase } : {}),
        },
      };
    }
    return { ...base, kind: "auto_reply", ids, snippet, evidence: { rule: "auto_submitted", header: why } };
  }
  const unsub = UNSUBSCRIBE_PHRASE.exec(fresh)?.[0];
  if (unsub)
    return {
      ...base,
      kind: "unsubscribe",
      ids,
      inReplyTo,
      snippet,
      evidence: { rule: "asks_to_be_removed", phrase: unsub, ...(thread ? { header: thread } : {}) },
    };
  return {
    ...base,
    kind: "reply",
    ids,
    inReplyTo,
    snippet,
    evidence: { rule: unthreaded ? "sender_match" : "threaded_reply", ...(thread ? { header: thread } : {}) },
  };
}
