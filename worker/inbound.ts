import PostalMime from "postal-mime";
import type { Env } from "./env";
import { now } from "./lib/clock";
import { newId } from "./lib/ids";
import { engine } from "../durable-objects/engine";
import { IN_LIST, listParam } from "./db/in-list";

/** The Message-IDs Seqflare gives its emails: `<sf.{enrollment}.{step}@domain>`. */
const OUR_ID = /<sf\.[0-9a-f]{24}\.[0-9a-f]{24}@[^>\s]+>/gi;
const DAY = 86_400_000;

export type InboundKind = "reply" | "out_of_office" | "bounce" | "ignored";

export interface InboundResult {
  kind: InboundKind;
  messageId: string | null;
  enrollmentId: string | null;
  resumeAt?: number;
}

function header(headers: { key: string; value: string }[], key: string) {
  return headers.find((h) => h.key === key)?.value ?? "";
}

/** "I'm back on December 2" / "returning 2026-12-02" → that instant (09:00 UTC), if it lies ahead. */
export function returnDate(text: string, t: number): number | null {
  const m = text.match(/(?:back|return(?:ing)?|until|through)\s+(?:on\s+)?(?:[A-Za-z]+day,?\s+)?([A-Za-z]+\s+\d{1,2}(?:,?\s+\d{4})?|\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]+(?:\s+\d{4})?)/i);
  if (!m) return null;
  const year = new Date(t).getUTCFullYear();
  for (const candidate of [m[1]!, `${m[1]} ${year}`, `${m[1]} ${year + 1}`]) {
    const d = Date.parse(`${candidate} 09:00 UTC`) || Date.parse(candidate);
    if (Number.isFinite(d) && d > t && d < t + 120 * DAY) return d;
  }
  return null;
}

/**
 * Classifies an inbound email and finds the Seqflare email it answers: a delivery-status report
 * with a 5.x.x status is a bounce, an auto-reply is out-of-office, anything else that threads to
 * one of our emails is a reply.
 */
export async function classifyInbound(raw: ArrayBuffer | string, t: number): Promise<{ kind: InboundKind; ids: string[]; resumeAt?: number }> {
  const email = await PostalMime.parse(raw);
  const text = typeof raw === "string" ? raw : new TextDecoder().decode(raw);
  const h = email.headers;
  const contentType = header(h, "content-type").toLowerCase();
  const from = (email.from?.address ?? "").toLowerCase();
  const isReport = contentType.includes("multipart/report") || /^(mailer-daemon|postmaster)@/.test(from);
  if (isReport) {
    const ids = [...new Set(text.match(OUR_ID) ?? [])];
    return { kind: /status:\s*5\.\d+\.\d+/i.test(text) || /^5\d\d\b/m.test(text) ? "bounce" : "ignored", ids };
  }
  const ids = [...new Set([email.inReplyTo ?? "", email.references ?? ""].join(" ").match(OUR_ID) ?? [])];
  const auto = header(h, "auto-submitted").toLowerCase();
  const ooo =
    (auto && auto !== "no") ||
    !!header(h, "x-autoreply") ||
    !!header(h, "x-autorespond") ||
    /auto_reply|auto-reply/i.test(header(h, "precedence")) ||
    /out of (the )?office|automatic reply|auto(matic)?[- ]?reply|on vacation|on leave/i.test(email.subject ?? "");
  if (ooo) return { kind: "out_of_office", ids, resumeAt: returnDate(`${email.subject ?? ""}\n${email.text ?? ""}`, t) ?? t + 7 * DAY };
  return { kind: ids.length ? "reply" : "ignored", ids };
}

/**
 * Replies finish the enrollment (when the sequence says so) and mark the contact Replied;
 * out-of-office pauses it until the return date; a bounce marks the email and contact bounced and
 * suppresses the address for the team (invariant 5).
 */
export async function handleInbound(env: Env, raw: ArrayBuffer | string): Promise<InboundResult> {
  const t = now();
  const c = await classifyInbound(raw, t);
  if (c.kind === "ignored" || !c.ids.length) return { kind: "ignored", messageId: null, enrollmentId: null };
  const msg = await env.DB.prepare(
    `SELECT m.id, m.team_id, m.enrollment_id, m.sequence_id, m.contact_id, m.to_email, s.settings
       FROM messages m JOIN sequences s ON s.id = m.sequence_id
      WHERE m.message_id_header IN ${IN_LIST} ORDER BY m.sent_at DESC LIMIT 1`,
  ).bind(listParam(c.ids)).first<Record<string, any>>();
  if (!msg) return { kind: "ignored", messageId: null, enrollmentId: null };
  const stub = engine.sequence(env, msg.sequence_id, msg.team_id);
  // The first answer to an email is what the reports count as its reply (or out-of-office).
  if (c.kind !== "bounce") await env.DB.prepare("UPDATE messages SET replied_at = ?, reply_kind = ? WHERE id = ? AND replied_at IS NULL").bind(t, c.kind, msg.id).run();
  if (c.kind === "bounce") {
    await env.DB.batch([
      env.DB.prepare("UPDATE messages SET status = 'bounced', error = coalesce(error, 'Bounced (delivery status report)') WHERE id = ?").bind(msg.id),
      env.DB.prepare("UPDATE contacts SET bounced_at = coalesce(bounced_at, ?), updated_at = ? WHERE id = ? AND team_id = ?").bind(t, t, msg.contact_id, msg.team_id),
      env.DB.prepare("INSERT OR IGNORE INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, lower(?), 'bounced', 'dsn', ?)").bind(newId(), msg.team_id, msg.to_email, t),
    ]);
    await stub.finish([msg.enrollment_id], "bounced");
  } else if (c.kind === "out_of_office") {
    await stub.pause([msg.enrollment_id], "out_of_office", c.resumeAt);
  } else {
    const settings = JSON.parse(msg.settings ?? "{}") as { finish_on_reply?: boolean };
    if (settings.finish_on_reply !== false) await stub.finish([msg.enrollment_id], "replied");
    await env.DB.prepare(
      "UPDATE contacts SET stage_id = coalesce((SELECT id FROM contact_stages WHERE team_id = ?1 AND name = 'Replied'), stage_id), updated_at = ?2 WHERE id = ?3 AND team_id = ?1",
    ).bind(msg.team_id, t, msg.contact_id).run();
  }
  return { kind: c.kind, messageId: msg.id, enrollmentId: msg.enrollment_id, ...(c.resumeAt ? { resumeAt: c.resumeAt } : {}) };
}
