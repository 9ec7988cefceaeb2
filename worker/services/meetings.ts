import { and, desc, eq, gt, inArray, isNull, lt, lte, type SQL, sql } from "drizzle-orm";
import { engine } from "../../durable-objects/engine";
import { batchSql, type Db } from "../db/client";
import {
  auditLog,
  contacts,
  enrollments,
  meetingWebhookDeliveries,
  meetings,
  messages,
  webhookSecrets,
  webhookSignatures,
} from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { timingSafeEqualText } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { newId, randomToken, toHex } from "../lib/ids";
import { seal, unseal } from "../lib/seal";
import { authorize, contactFor, sequenceFor } from "./access";
import { audit } from "./audit";
import { appSecret } from "./secrets";

/**
 * Meetings: the one module that reads and writes `meetings`, the team's meetings webhook secret and
 * the accepted signatures. A meeting booked (by a user, the API, or a scheduling tool's signed
 * webhook) finishes the contact's open enrollments with reason `meeting_booked`, through each
 * sequence's SequenceDO (the single writer of transitions; a queued email is withdrawn: invariant 11).
 */

/** A webhook's timestamp may be this far from now, either way; a signature is accepted once inside it. */
export const REPLAY_WINDOW_MS = 5 * 60_000;
export const SIGNATURE_HEADER = "seqflare-signature";
export const TEAM_HEADER = "seqflare-team";
/** Two bookings of one contact this close together (booked_at apart) are one meeting, unless both carry event ids that differ. */
export const SAME_MEETING_MS = 24 * 3_600_000;
/** How long a rotated-out secret still signs: a day to update the tool. */
export const PREVIOUS_SECRET_MS = 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;

export interface Booked {
  meeting_id: string;
  contact_id: string;
  booked_at: number;
  /** The open enrollments finished with reason meeting_booked. */
  finished: string[];
  /**
   * The same meeting was recorded before (the same external id; else a booking of the contact within 24 h, one
   * without an external id when this booking has one, which then takes it):
   * no second meeting; only runs it left open (a failed attempt, a caller who couldn't edit them) are finished now.
   */
  duplicate: boolean;
  /** Open enrollments left as they are: in sequences the user who marked it can't edit (their owner's call). */
  left_open: number;
}

async function book(
  env: Env,
  d: Db,
  teamId: string,
  contactId: string,
  o: { source: "user" | "api" | "webhook"; bookedAt: number; externalId: string | null; createdBy: string | null },
  /** A user or key marking it: only the sequences they may edit are finished (invariant 9). The signed webhook: all. */
  caller?: Caller,
  /** Other contacts of the same person (the webhook's address matches several): their open runs finish too. */
  samePerson: string[] = [],
): Promise<Booked> {
  const id = newId();
  const t = now();
  // The same meeting is: the same event id; else, for a booking without one, any booking of the contact
  // within a day (a second click, member then owner, the webhook then the button); for a booking with
  // one, a booking of the contact within a day that has none yet (the button then the webhook), which
  // takes the event id. Two different event ids are two meetings. Each path is one statement or one
  // batch (a transaction), so two bookings at once can't both pass the check.
  const near = sql`team_id = ${teamId} AND contact_id = ${contactId}
    AND booked_at > ${o.bookedAt - SAME_MEETING_MS} AND booked_at < ${o.bookedAt + SAME_MEETING_MS}`;
  const insert = (unless: SQL) => sql`
    INSERT INTO meetings (id, team_id, contact_id, booked_at, source, external_id, created_by, created_at)
    SELECT ${id}, ${teamId}, ${contactId}, ${o.bookedAt}, ${o.source}, ${o.externalId}, ${o.createdBy}, ${t}
     WHERE NOT EXISTS (SELECT 1 FROM meetings WHERE ${unless})
    ON CONFLICT DO NOTHING RETURNING id`;
  const sameEvent = sql`team_id = ${teamId} AND external_id = ${o.externalId}`;
  const inserted = o.externalId
    ? ((
        await batchSql(d, [
          sql`UPDATE meetings SET external_id = ${o.externalId}
               WHERE id = (SELECT id FROM meetings WHERE ${near} AND external_id IS NULL ORDER BY created_at LIMIT 1)
                 AND NOT EXISTS (SELECT 1 FROM meetings WHERE ${sameEvent})`,
          insert(sameEvent),
        ])
      )[1]!.results as { id: string }[])
    : await d.all<{ id: string }>(insert(near));
  // The same meeting was recorded before. Its first attempt may have stopped after the insert (a sequence
  // that couldn't be told answered 500), so the runs it was to end are ended now: a retry completes it.
  const prior = inserted.length
    ? null
    : await d.query.meetings.findFirst({
        where: o.externalId
          ? and(eq(meetings.teamId, teamId), eq(meetings.externalId, o.externalId))
          : and(
              eq(meetings.teamId, teamId),
              eq(meetings.contactId, contactId),
              gt(meetings.bookedAt, o.bookedAt - SAME_MEETING_MS),
              lt(meetings.bookedAt, o.bookedAt + SAME_MEETING_MS),
            ),
        orderBy: desc(meetings.createdAt),
      });
  const m = prior ?? { id, contactId, bookedAt: o.bookedAt, createdAt: t };
  const whose = [m.contactId, ...samePerson.filter((c) => c !== m.contactId)];
  const { finished, leftOpen } = await finishOpenRuns(env, d, teamId, whose, m.createdAt, caller);
  return { meeting_id: m.id, contact_id: m.contactId, booked_at: m.bookedAt, finished, duplicate: !!prior, left_open: leftOpen };
}

/**
 * Finishes (meeting_booked) the contact's open runs that existed when the meeting was recorded: a run
 * added again after it is a new decision and is left alone. Each SequenceDO takes a finish once, so
 * running this again (a retry) is harmless.
 */
async function finishOpenRuns(env: Env, d: Db, teamId: string, contactIds: string[], recordedAt: number, caller: Caller | undefined) {
  const open: { id: string; sequenceId: string }[] = [];
  // One contact at a time: a handful at most, and no IN list to keep under D1's 100 parameters.
  for (const contactId of contactIds) {
    open.push(
      ...(await d
        .select({ id: enrollments.id, sequenceId: enrollments.sequenceId })
        .from(enrollments)
        .where(
          and(
            eq(enrollments.teamId, teamId),
            eq(enrollments.contactId, contactId),
            inArray(enrollments.status, ["active", "paused", "held", "scheduled"]),
            lte(enrollments.createdAt, recordedAt),
          ),
        )),
    );
  }
  const bySequence = new Map<string, string[]>();
  for (const e of open) bySequence.set(e.sequenceId, [...(bySequence.get(e.sequenceId) ?? []), e.id]);
  const finished: string[] = [];
  let leftOpen = 0;
  for (const [sequenceId, ids] of bySequence) {
    if (caller && !(await mayEdit(d, caller, sequenceId))) {
      leftOpen += ids.length;
      continue;
    }
    finished.push(...(await engine.sequence(env, sequenceId, teamId).finish(ids, "meeting_booked")));
  }
  return { finished, leftOpen };
}

async function mayEdit(d: Db, caller: Caller, sequenceId: string): Promise<boolean> {
  try {
    await sequenceFor(d, caller, sequenceId, "sequence.edit");
    return true;
  } catch {
    return false;
  }
}

/** `POST /contacts/{id}/meeting-booked`: a user or an API key marks the meeting (contact.edit). */
export async function bookMeeting(
  env: Env,
  d: Db,
  caller: Caller,
  contactId: string,
  o: { bookedAt?: number; externalId?: string | null },
): Promise<Booked> {
  const contact = await contactFor(d, caller, contactId, "contact.edit");
  const r = await book(
    env,
    d,
    caller.teamId,
    contact.id,
    {
      source: caller.via === "api_key" ? "api" : "user",
      bookedAt: o.bookedAt ?? now(),
      externalId: o.externalId ?? null,
      createdBy: caller.userId,
    },
    caller,
  );
  // A retry that finished what a failed first attempt left open is logged too: that attempt logged nothing.
  if (!r.duplicate || r.finished.length)
    await audit(d, caller, "contact.meeting_booked", "contact", contact.id, { meeting_id: r.meeting_id, finished: r.finished });
  return r;
}

/** A contact's meetings, latest booking first (the contact page says when one was recorded). */
export async function contactMeetings(d: Db, caller: Caller, contactId: string) {
  const contact = await contactFor(d, caller, contactId, "contact.view");
  const rows = await d
    .select({ id: meetings.id, booked_at: meetings.bookedAt, source: meetings.source, created_at: meetings.createdAt })
    .from(meetings)
    .where(and(eq(meetings.teamId, caller.teamId), eq(meetings.contactId, contact.id)))
    .orderBy(desc(meetings.bookedAt), desc(meetings.id))
    .limit(20);
  return { meetings: rows };
}

// ------------------------------------------------------------------ the signed webhook

const enc = new TextEncoder();

/** Hex HMAC-SHA256 of `${timestamp}.${body}` under `secret`: what a sender puts in `v1=`. */
export async function signMeetingWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${timestamp}.${body}`))));
}

/** `t=<unix seconds>,v1=<hex>` → its parts, or null when malformed. */
export function parseSignature(header: string | undefined): { t: number; v1: string[] } | null {
  if (!header || header.length > 1000) return null;
  let t: number | null = null;
  const v1: string[] = [];
  for (const part of header.split(",")) {
    const [k, v] = part.trim().split("=", 2);
    if (k === "t" && v && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === "v1" && v && /^[0-9a-f]{64}$/i.test(v)) v1.push(v.toLowerCase());
  }
  return t === null || !v1.length ? null : { t, v1 };
}

const badSignature = () =>
  new ApiError("invalid_signature", "The Seqflare-Signature header doesn't match this body under the team's meetings webhook secret");

/**
 * Verifies a meetings webhook and accepts its signature once (invariant 12's cousin: a captured
 * request replayed inside the window does nothing). Order: format, replay window, signature under
 * the named team's secret (a team without one, or another team's secret, is the same 401), then
 * "seen before".
 */
export async function verifyMeetingWebhook(
  env: Env,
  d: Db,
  teamId: string | undefined,
  header: string | undefined,
  body: string,
): Promise<{ teamId: string; signature: string }> {
  const sig = parseSignature(header);
  if (!sig || !teamId || teamId.length > 64) throw badSignature();
  const t = now();
  if (Math.abs(t - sig.t * 1000) > REPLAY_WINDOW_MS) {
    throw new ApiError(
      "stale_signature",
      "The signature's timestamp is more than 5 minutes from now: sign the request again with the current time",
      { timestamp: sig.t, now: Math.floor(t / 1000) },
    );
  }
  const row = await d.query.webhookSecrets.findFirst({
    where: and(eq(webhookSecrets.teamId, teamId), eq(webhookSecrets.kind, "meetings")),
  });
  if (!row) throw badSignature();
  // The secret before the last rotation still signs for a day: the tool is updated without a gap.
  const sealed = [row.sealed, ...(row.previousSealed && (row.previousUntil ?? 0) > t ? [row.previousSealed] : [])];
  let match: string | undefined;
  for (const s of sealed) {
    const expected = await signMeetingWebhook(await unseal(appSecret(env), s), sig.t, body);
    match ??= sig.v1.find((v) => timingSafeEqualText(v, expected));
  }
  if (!match) throw badSignature();
  await d.delete(webhookSignatures).where(lt(webhookSignatures.createdAt, t - 2 * REPLAY_WINDOW_MS));
  const fresh = await d
    .insert(webhookSignatures)
    .values({ signature: match, teamId, createdAt: t })
    .onConflictDoNothing()
    .returning({ s: webhookSignatures.signature });
  if (!fresh.length) throw new ApiError("replayed_signature", "This signature was already accepted: each signed request is accepted once");
  return { teamId, signature: match };
}

type WebhookBody = {
  contact_id?: string | undefined;
  email?: string | undefined;
  booked_at?: number | undefined;
  event_id?: string | undefined;
};
type Delivery = { result: "booked" | "duplicate" | "no_contact" | "invalid" | "failed"; status: number; contactId: string | null };

/** Keeps one verified request for Settings → Meetings webhook (and drops those older than 30 days). */
async function recordDelivery(d: Db, teamId: string, body: unknown, o: Delivery) {
  const b = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" ? v.slice(0, 320) : null);
  const t = now();
  await d.batch([
    d
      .delete(meetingWebhookDeliveries)
      .where(and(eq(meetingWebhookDeliveries.teamId, teamId), lt(meetingWebhookDeliveries.receivedAt, t - 30 * DAY_MS))),
    d.insert(meetingWebhookDeliveries).values({
      id: newId(),
      teamId,
      receivedAt: t,
      named: text(b.contact_id) ?? text(b.email),
      eventId: text(b.event_id),
      contactId: o.contactId,
      result: o.result,
      status: o.status,
    }),
  ]);
}

/**
 * A signed request whose processing failed is not "accepted": the sender's byte-identical retry must
 * be let in to complete it (replaying it can only do what the request itself was meant to do). The
 * failure is kept for the admin to see.
 */
export async function meetingWebhookFailed(d: Db, accepted: { teamId: string; signature: string }, body: unknown, err: unknown) {
  await d
    .delete(webhookSignatures)
    .where(and(eq(webhookSignatures.teamId, accepted.teamId), eq(webhookSignatures.signature, accepted.signature)));
  const status = err instanceof ApiError ? err.status : 500;
  await recordDelivery(d, accepted.teamId, body, { result: status < 500 ? "invalid" : "failed", status, contactId: null });
}

export type WebhookAnswer = (Booked & { matched: true }) | { matched: false; message: string };

/**
 * The webhook's effect, for a verified team: the contact (by id or email) gets its meeting. Nobody of
 * the team by that id or address is not a failure of the tool's (a 4xx would make it retry, or turn the
 * webhook off): it answers matched: false, and the admin sees the delivery.
 */
export async function bookMeetingFromWebhook(env: Env, d: Db, teamId: string, body: WebhookBody): Promise<WebhookAnswer> {
  // By address, every live contact with it is this person (team-scoped, case-insensitive as addresses are
  // matched elsewhere): all their open runs finish. The meeting is recorded on the one emailed last (then
  // the one updated last), whose email is the likeliest to have got the booking.
  const matched = await d
    .select({ id: contacts.id })
    .from(contacts)
    .where(
      and(
        eq(contacts.teamId, teamId),
        isNull(contacts.deletedAt),
        body.contact_id ? eq(contacts.id, body.contact_id) : sql`lower(${contacts.email}) = ${(body.email ?? "").toLowerCase()}`,
      ),
    )
    .orderBy(
      desc(sql`(SELECT max(m.sent_at) FROM ${messages} m WHERE m.team_id = ${teamId} AND m.contact_id = ${contacts.id})`),
      desc(contacts.updatedAt),
      contacts.id,
    );
  const contact = matched[0];
  if (!contact) {
    await recordDelivery(d, teamId, body, { result: "no_contact", status: 200, contactId: null });
    return { matched: false, message: "No contact of the team has this contact_id or email: nothing was booked" };
  }
  const r = await book(
    env,
    d,
    teamId,
    contact.id,
    { source: "webhook", bookedAt: body.booked_at ?? now(), externalId: body.event_id ?? null, createdBy: null },
    undefined,
    matched.map((c) => c.id),
  );
  if (!r.duplicate || r.finished.length) {
    await d.insert(auditLog).values({
      id: newId(),
      teamId,
      userId: null,
      apiKeyId: null,
      action: "contact.meeting_booked",
      targetType: "contact",
      targetId: contact.id,
      details: { meeting_id: r.meeting_id, finished: r.finished, via: "webhook", event_id: body.event_id ?? null },
      createdAt: now(),
    });
  }
  await recordDelivery(d, teamId, body, { result: r.duplicate ? "duplicate" : "booked", status: 200, contactId: r.contact_id });
  return { ...r, matched: true };
}

/** Whether the team has a meetings webhook secret (never the secret itself). */
export async function meetingSecretInfo(d: Db, caller: Caller) {
  authorize(caller, "webhooks.manage", "Only an admin can see the meetings webhook settings");
  const row = await d.query.webhookSecrets.findFirst({
    where: and(eq(webhookSecrets.teamId, caller.teamId), eq(webhookSecrets.kind, "meetings")),
  });
  const t = now();
  const deliveries = await d
    .select({
      id: meetingWebhookDeliveries.id,
      received_at: meetingWebhookDeliveries.receivedAt,
      named: meetingWebhookDeliveries.named,
      event_id: meetingWebhookDeliveries.eventId,
      contact_id: meetingWebhookDeliveries.contactId,
      result: meetingWebhookDeliveries.result,
      status: meetingWebhookDeliveries.status,
    })
    .from(meetingWebhookDeliveries)
    .where(eq(meetingWebhookDeliveries.teamId, caller.teamId))
    .orderBy(desc(meetingWebhookDeliveries.receivedAt), desc(meetingWebhookDeliveries.id))
    .limit(20);
  return {
    configured: !!row,
    hint: row?.hint ?? null,
    created_at: row?.createdAt ?? null,
    team_id: caller.teamId,
    previous_valid_until: row?.previousSealed && (row.previousUntil ?? 0) > t ? row.previousUntil : null,
    deliveries,
  };
}

/**
 * Creates or rotates the team's meetings webhook secret (the one it replaces is still accepted for 24
 * hours, time to give the tool the new one). The
 * secret is answered this once and stored sealed; the route marks the answer as holding a secret so
 * an idempotent replay never returns it again.
 */
export async function rotateMeetingSecret(env: Env, d: Db, caller: Caller) {
  authorize(caller, "webhooks.manage", "Only an admin can create or rotate the meetings webhook secret");
  const secret = `whsec_${randomToken(32)}`;
  const t = now();
  const replaced = await d.query.webhookSecrets.findFirst({
    where: and(eq(webhookSecrets.teamId, caller.teamId), eq(webhookSecrets.kind, "meetings")),
  });
  const row = {
    teamId: caller.teamId,
    kind: "meetings" as const,
    sealed: await seal(appSecret(env), secret),
    hint: secret.slice(0, 10),
    createdBy: caller.userId,
    createdAt: t,
  };
  await d
    .insert(webhookSecrets)
    .values(row)
    .onConflictDoUpdate({
      target: [webhookSecrets.teamId, webhookSecrets.kind],
      // SET reads the row as it was: the replaced secret becomes the previous one.
      set: {
        sealed: row.sealed,
        hint: row.hint,
        createdBy: row.createdBy,
        createdAt: t,
        previousSealed: sql`${sql.identifier("sealed")}`,
        previousUntil: t + PREVIOUS_SECRET_MS,
      },
    });
  await audit(d, caller, "webhook.secret_rotated", "webhook", "meetings", { hint: row.hint });
  return {
    secret,
    hint: row.hint,
    created_at: t,
    team_id: caller.teamId,
    previous_valid_until: replaced ? t + PREVIOUS_SECRET_MS : null,
  };
}
