// Replies to Gmail and Microsoft 365 mailboxes are found by polling on the cron (every minute): Gmail's
// history since the last check, Graph's Inbox delta since the last deltaLink. Each new message is read
// as MIME and goes through the same classification as the email() handler (worker/inbound.ts). A
// round is at most MAX_MESSAGES_PER_TICK messages, and ends at a point the provider can resume from
// (a history record, a delta page). The cursor lives in the mailbox's transport_config and moves only
// after the whole round was handled, so a crash or a message that can't be read now repeats the round
// (handling a reply twice changes nothing) rather than skipping one. An email that can't be parsed at
// all is not retried (it would fail the same way every minute): classifyInbound ignores it as unreadable;
// nor is one whose read runs out of time UNREADABLE_AFTER rounds in a row (it is skipped, the mailbox says so).
// Only one round reads a mailbox at a time: a round holds the mailbox's lease (poll_lease in
// transport_config), reads the cursor only once it holds it, and saves the cursor only while it still
// does. Without it a tick still reading (slow provider, a full round) and the next one read the same
// messages and both saved a cursor, the slower one moving it back or past messages the other hadn't
// handled.
import { and, asc, eq, inArray, notInArray, sql } from "drizzle-orm";
import { db, type Db } from "../db/client";
import { mailboxes } from "../db/schema";
import type { Env } from "../env";
import { engine } from "../../durable-objects/engine";
import { now } from "../lib/clock";
import { GMAIL_RESYNC_MAX, gmailHistory, gmailInboxSince, gmailProfile, gmailRaw } from "../transports/gmail";
import { graphDelta, graphDeltaStart, graphRaw } from "../transports/graph";
import { accessTokenFor, markNeedsReconnect, type TokenResult } from "./mailbox-auth";
import { classifyInbound } from "./reply-classify";
import { recordInbound } from "./replies";
import { POLL_CURSOR_KEYS } from "../transports/mailbox-settings";

/** At most this many new messages are read per mailbox per tick (the rest wait for the next one). */
export const MAX_MESSAGES_PER_TICK = 100;

/**
 * How long a round's lease lasts. A round renews it (RENEW_AFTER_MS) between messages, so it only has to
 * outlast one message's read and handling (a provider call waits at most 2 × 5 s of Retry-After across
 * its 3 tries, plus D1 and the sequence's engine); it is what a crashed tick (which can't release it)
 * costs the mailbox: its replies wait at most this long.
 */
export const POLL_LEASE_MS = 3 * 60_000;
const RENEW_AFTER_MS = POLL_LEASE_MS / 3;

// How the cron shares one tick between the mailboxes. Workers allow 6 simultaneous outgoing connections
// per invocation and 1,000 subrequests on Workers Paid (50 on Free; the current limits page gives 10,000
// on Paid, 1,000 is the older, lower figure); each provider call is one, and each of its retries another.
// The limit is the whole cron tick's, not polling's alone. So:
// - POLL_CONCURRENCY rounds at once: under the 6 connections, with room left for the D1 and Durable
//   Object calls a round makes between its reads, so one slow provider holds only its own slot;
// - a new round starts only while the provider calls of the finished rounds (their reads plus
//   ROUND_CALLS) and every running round counted at its worst (ROUND_WORST, a full round) stay within
//   TICK_SUBREQUESTS, which leaves a fifth of the 1,000 to the other cron steps: a tick gets through
//   ~190 idle mailboxes, or ~7 with a full round each (a Gmail resync, which lists up to GMAIL_RESYNC_MAX
//   messages, reads them MAX_MESSAGES_PER_TICK a round too, so ROUND_WORST holds for it);
// - and only during the tick's first TICK_BUDGET_MS, so a tick normally ends before the next minute's
//   starts (the lease keeps the two apart when it doesn't). Mailboxes go by the start of their last round
//   (poll_started_at), oldest first, so those a tick didn't reach go first in the next.
export const POLL_CONCURRENCY = 4;
export const TICK_BUDGET_MS = 40_000;
const TICK_SUBREQUESTS = 800;
/** Provider calls of a finished round besides its message reads: the history / delta call, and now and then a token refresh or a retry. */
const ROUND_CALLS = 2;
/** A running round at its worst: a full round's reads, a token refresh, the history / delta pages, a resync's profile, retries. */
const ROUND_WORST = MAX_MESSAGES_PER_TICK + 5;

/** Rounds in a row a message's read may run out of time before it is skipped as unreadable. */
export const UNREADABLE_AFTER = 3;

/** How far before the last good check a resync starts reading. */
const RESYNC_MARGIN_MS = 10 * 60_000;

export interface PolledMailbox {
  id: string;
  transport: "gmail" | "graph";
}

export interface PollOutcome {
  mailboxId: string;
  read: number;
  handled: number;
  error?: string;
  /** Another round holds the mailbox's lease (still reading it): this one read nothing. */
  busy?: true;
  /** This round released a reconnected mailbox's held emails (see releaseHeld). */
  released?: true;
}

type Cursor = Partial<Record<(typeof POLL_CURSOR_KEYS)[number], string | number | null>>;

/**
 * A reconnected mailbox's held emails go out (its MailboxDO refreshed) once a round that took the lease
 * after the reconnect has read up to the provider's newest point and saved its cursor: the replies that
 * came while it was down are applied by then. `pending` is the catch-up's mark, as this round read it
 * when taking the lease (a round that started before the reconnect never saw it, so never releases).
 * The MailboxDO sends nothing while the mark is on the mailbox unless it was refreshed with it (it reads
 * the mark itself: any other re-plan would otherwise send the held emails). The mark is cleared only
 * after the refresh, and only if no later reconnect replaced it.
 */
async function releaseHeld(env: Env, d: Db, mailboxId: string, pending: string, lease: string): Promise<boolean> {
  try {
    await engine.mailbox(env, mailboxId).refresh(pending);
  } catch (e) {
    // The mark stays: the next round tries again (a refresh twice changes nothing).
    console.error(`mailbox ${mailboxId}: its held emails could not be released after the reply check`, e);
    return false;
  }
  await d
    .update(mailboxes)
    .set({ transportConfig: sql`json_remove(${mailboxes.transportConfig}, '$.release_pending', '$.release_pending_at')` })
    .where(
      and(eq(mailboxes.id, mailboxId), leaseHeld(lease), sql`json_extract(${mailboxes.transportConfig}, '$.release_pending') = ${pending}`),
    );
  return true;
}

const leaseHeld = (lease: string) => sql`json_extract(${mailboxes.transportConfig}, '$.poll_lease') = ${lease}`;

/**
 * Merges the cursor fields into the mailbox's transport_config (json_set: the sign-in's other fields stay).
 * With a lease, only while that lease is still the mailbox's: a round that lost it (expired, taken over)
 * saves nothing.
 */
async function saveCursor(d: Db, mailboxId: string, patch: Cursor, lease?: string) {
  const sets = Object.entries(patch).map(([k, v]) => sql`${`$.${k}`}, ${v ?? null}`);
  await d
    .update(mailboxes)
    .set({ transportConfig: sql`json_set(${mailboxes.transportConfig}, ${sql.join(sets, sql`, `)})` })
    .where(and(eq(mailboxes.id, mailboxId), lease ? leaseHeld(lease) : undefined));
}

/**
 * Takes the mailbox's lease if no round holds it (none, or its time ran out): one conditional UPDATE, so
 * of two ticks only one gets it. Answers the transport_config as of taking it (the cursor to read from:
 * one read before could be a cursor the previous holder has since moved).
 */
async function takeLease(d: Db, mailboxId: string): Promise<{ lease: string; config: Record<string, unknown> } | null> {
  const lease = crypto.randomUUID();
  const t = now();
  const got = await d
    .update(mailboxes)
    .set({
      transportConfig: sql`json_set(${mailboxes.transportConfig}, '$.poll_lease', ${lease}, '$.poll_lease_until', ${t + POLL_LEASE_MS}, '$.poll_started_at', ${t})`,
    })
    .where(and(eq(mailboxes.id, mailboxId), sql`coalesce(json_extract(${mailboxes.transportConfig}, '$.poll_lease_until'), 0) <= ${t}`))
    .returning({ config: mailboxes.transportConfig })
    .get();
  return got ? { lease, config: got.config as Record<string, unknown> } : null;
}

/** Moves the lease's end on (a long round); false when it is no longer this round's. */
async function renewLease(d: Db, mailboxId: string, lease: string): Promise<boolean> {
  const got = await d
    .update(mailboxes)
    .set({ transportConfig: sql`json_set(${mailboxes.transportConfig}, '$.poll_lease_until', ${now() + POLL_LEASE_MS})` })
    .where(and(eq(mailboxes.id, mailboxId), leaseHeld(lease)))
    .returning({ id: mailboxes.id })
    .get();
  return !!got;
}

async function releaseLease(d: Db, mailboxId: string, lease: string) {
  await d
    .update(mailboxes)
    .set({ transportConfig: sql`json_remove(${mailboxes.transportConfig}, '$.poll_lease', '$.poll_lease_until')` })
    .where(and(eq(mailboxes.id, mailboxId), leaseHeld(lease)));
}

/**
 * Gmail's refusal to read the inbox that only signing in again lifts: the grant lacks the scope to read
 * mail (its 403 "insufficient authentication scopes"); a Gmail 403 that is a rate limit is not this.
 * Graph's is told by its status alone (a 403 on the delta): its words vary with the tenant and the API version.
 */
const READ_NOT_GRANTED = /insufficient(?:permissions| authentication scopes?| scope)|access_token_scope_insufficient/i;

/**
 * The starting point of a mailbox's reply polling, set when it is connected: from now on. When the
 * provider won't give it (the profile / delta call fails), the mailbox has no cursor, so no reply it gets
 * is ever read: the reason is kept on the mailbox (poll_error, its "Replies could not be checked") and
 * the mailbox is held as after a reconnect (release_pending: the MailboxDO sends nothing), since a reply
 * finishes the run and its follow-ups would go to people who replied. The first round that does start
 * the cursor releases it (leasedRound). A refusal for lack of the right to read mail (READ_NOT_GRANTED)
 * puts the mailbox in "needs reconnect" too: no round will ever start it, only the owner signing in again
 * and allowing reading. An admin's "Send without reply check" (reply_check_waived_at, kept until the
 * cursor starts) is not undone by the next round's failed start: a round (`lease`) then says the failure
 * without holding again; a sign-in's start (no lease) holds anew and ends the waiver. Answers the failure, or null.
 * `o.sealed`: the stored sign-in the token came from; the "needs reconnect" is written only while the
 * mailbox still holds it (a sign-in that lands while this call fails is not marked for the old grant's
 * refusal). `o.fresh`: the token was just issued (a sign-in's, or refreshed after a 401), so a 401 is no
 * expired token but the grant refusing to read mail, like a 403.
 */
export async function startCursor(
  env: Env,
  mb: { id: string; transport: "gmail" | "graph" },
  apiUrl: string,
  token: string,
  d: Db = db(env.DB),
  lease?: string,
  o: { sealed?: string; fresh?: boolean } = {},
): Promise<{ revoked: boolean; message: string } | null> {
  let failed: { revoked: boolean; message: string };
  let notGranted: boolean;
  if (mb.transport === "gmail") {
    const p = await gmailProfile(apiUrl, token);
    if (p.ok)
      return await saveCursor(
        d,
        mb.id,
        { history_id: p.body.historyId, polled_at: now(), poll_error: null, reply_check_waived_at: null },
        lease,
      ).then(() => null);
    failed = { revoked: p.status === 401, message: p.message };
    notGranted =
      (p.status === 401 && !!o.fresh) ||
      (p.status === 403 && ((p.reasons ?? []).includes("insufficientPermissions") || READ_NOT_GRANTED.test(p.message)));
  } else {
    const r = await graphDelta(graphDeltaStart(apiUrl, now()), token, Number.POSITIVE_INFINITY);
    if (r.ok)
      return await saveCursor(
        d,
        mb.id,
        { delta_link: r.deltaLink, polled_at: now(), poll_error: null, reply_check_waived_at: null },
        lease,
      ).then(() => null);
    failed = { revoked: r.revoked, message: r.message };
    notGranted = r.status === 403 || (r.status === 401 && !!o.fresh);
  }
  const t = now();
  // What this token got says nothing about a sign-in that replaced its grant meanwhile: neither the hold nor the mark.
  const grantHeld = o.sealed === undefined ? undefined : eq(mailboxes.secretCiphertext, o.sealed);
  const error = `The reply check could not start, so the mailbox sends nothing until it does: ${failed.message}`.slice(0, 300);
  const cfg = mailboxes.transportConfig;
  // A mark already there (a reconnect's) stays: its release is the same. After an admin's waiver a
  // round only says why; a sign-in's start holds again (the waiver was for the sign-in before).
  const held = lease ? sql` OR json_extract(${cfg}, '$.reply_check_waived_at') IS NOT NULL` : sql``;
  const base = lease ? cfg : sql`json_remove(${cfg}, '$.reply_check_waived_at')`;
  await d
    .update(mailboxes)
    .set({
      transportConfig: sql`CASE WHEN json_type(${cfg}, '$.release_pending') = 'text'${held}
          THEN json_set(${base}, '$.poll_error', ${error})
          ELSE json_set(${base}, '$.poll_error', ${error}, '$.release_pending', ${crypto.randomUUID()}, '$.release_pending_at', ${t}) END`,
    })
    .where(and(eq(mailboxes.id, mb.id), lease ? leaseHeld(lease) : undefined, grantHeld));
  // Needs reconnect because the sign-in does not allow reading mail (the Mailboxes screen's "Sign in again
  // and allow reading mail"): its emails are held and the cron polls it no more until the owner signs in
  // again (which sets it connected). Only the first call acts.
  if (notGranted)
    await markNeedsReconnect(
      env,
      d,
      mb.id,
      and(eq(mailboxes.status, "connected"), lease ? leaseHeld(lease) : undefined, grantHeld),
      `Sign in again and allow reading mail: the reply check was refused (${failed.message})`.slice(0, 500),
    );
  return failed;
}

/** One mailbox's round, under its lease; `busy` (nothing read) when another round holds it. */
export async function pollMailbox(env: Env, d: Db, mb: PolledMailbox): Promise<PollOutcome> {
  const held = await takeLease(d, mb.id);
  if (!held) return { mailboxId: mb.id, read: 0, handled: 0, busy: true };
  try {
    return await leasedRound(env, d, mb, held.lease, held.config);
  } catch (e) {
    // The cursor did not move, so the next round reads the same emails again; the mailbox says why
    // meanwhile (its "Replies could not be checked" banner), or a failure every minute would leave
    // replies unread with nothing on the screen.
    await saveCursor(d, mb.id, { poll_error: `The check failed: ${innermost(e)}`.slice(0, 300) }, held.lease).catch((err: unknown) =>
      console.error(`reply polling of mailbox ${mb.id}: its error could not be saved`, err),
    );
    throw e;
  } finally {
    await releaseLease(d, mb.id, held.lease).catch((err: unknown) =>
      console.error(`reply polling of mailbox ${mb.id}: its lease could not be released (it runs out by itself)`, err),
    );
  }
}

async function leasedRound(env: Env, d: Db, mb: PolledMailbox, lease: string, config: Record<string, unknown>): Promise<PollOutcome> {
  const out: PollOutcome = { mailboxId: mb.id, read: 0, handled: 0 };
  const tok = await accessTokenFor(env, mb, {}, d);
  if (!tok.ok) {
    // Shown on the mailbox ("Replies could not be checked"); a revoked grant also marks it "needs reconnect".
    await saveCursor(d, mb.id, { poll_error: tok.message.slice(0, 300) }, lease);
    return { ...out, error: tok.message };
  }
  const cfg = config as Cursor & { history_id?: string; delta_link?: string; polled_at?: number | null };
  const { apiUrl } = tok.cfg;
  let ids: string[];
  let next: Cursor;
  let note: string | null = null;
  // When the provider has forgotten the cursor (Gmail 404, Graph 410), the round reads everything
  // received since the last good check instead (a little before it: the provider's clock isn't ours);
  // starting from now would never read the replies in between.
  const resyncFrom = cfg.polled_at ? cfg.polled_at - RESYNC_MARGIN_MS : null;
  if (mb.transport === "gmail" && typeof cfg.resync_ids === "string" && typeof cfg.resync_history_id === "string") {
    // A resync under way: its next messages, the history point only once all were read.
    ({ ids, next } = resyncRound(cfg.resync_ids.split(",").filter(Boolean), cfg.resync_history_id));
  } else if (mb.transport === "gmail") {
    if (!cfg.history_id) return await startRound(env, d, mb, tok, lease, config, out);
    const h = await gmailHistory(apiUrl, tok.accessToken, cfg.history_id, MAX_MESSAGES_PER_TICK);
    if (h.ok) {
      ids = h.ids;
      next = { history_id: h.historyId };
    } else {
      if (!h.expired || resyncFrom === null) return await pollFailed(env, d, mb, lease, h, out);
      // The mailbox's point now first, so nothing that arrives during the listing falls between the two.
      const p = await gmailProfile(apiUrl, tok.accessToken);
      if (!p.ok) return await pollFailed(env, d, mb, lease, { expired: false, revoked: p.status === 401, message: p.message }, out);
      const since = await gmailInboxSince(apiUrl, tok.accessToken, resyncFrom);
      if (!since.ok) return await pollFailed(env, d, mb, lease, since, out);
      ({ ids, next } = resyncRound(since.ids, p.body.historyId));
      if (since.more)
        note = `Reply check restarted: Gmail forgot its place and more than ${GMAIL_RESYNC_MAX} messages arrived since the last check; the earlier ones were not read`;
    }
  } else {
    if (!cfg.delta_link) return await startRound(env, d, mb, tok, lease, config, out);
    let delta = await graphDelta(cfg.delta_link, tok.accessToken, MAX_MESSAGES_PER_TICK);
    if (!delta.ok && delta.expired && resyncFrom !== null)
      delta = await graphDelta(graphDeltaStart(apiUrl, resyncFrom), tok.accessToken, MAX_MESSAGES_PER_TICK);
    if (!delta.ok) return await pollFailed(env, d, mb, lease, delta, out);
    ids = delta.ids;
    next = { delta_link: delta.deltaLink };
  }
  let renewedAt = now();
  const skipped: string[] = [];
  for (const id of ids) {
    if (now() - renewedAt > RENEW_AFTER_MS) {
      // Lost (it ran out while a call hung, and another round took it): that round reads from our
      // cursor, which this one must no longer move.
      if (!(await renewLease(d, mb.id, lease))) return { ...out, error: "Another reply check took this mailbox over" };
      renewedAt = now();
    }
    const got = mb.transport === "gmail" ? await gmailRaw(apiUrl, tok.accessToken, id) : await graphRaw(apiUrl, tok.accessToken, id);
    if (!got.ok && got.gone) continue; // deleted since it arrived: nothing to read
    if (!got.ok) {
      // Not readable now (network, 5xx, throttled): the round is tried again from the same point. A
      // read that ran out of time is counted against its message: one that does so round after round
      // (too large or too slow for the provider to serve in time) would otherwise end every round, and
      // the mailbox's reply check, at itself for good. Past UNREADABLE_AFTER it is passed over, as
      // classifyInbound ignores an email it can't parse. Other failures (an outage, throttling) are the
      // provider's, not the message's, and don't count.
      const tries = got.timedOut ? (cfg.unreadable_id === id ? Number(cfg.unreadable_tries ?? 0) : 0) + 1 : 0;
      if (tries >= UNREADABLE_AFTER) {
        console.warn(`reply polling of mailbox ${mb.id}: message ${id} timed out ${tries} rounds in a row and was skipped`);
        skipped.push(id);
        continue;
      }
      await saveCursor(
        d,
        mb.id,
        {
          poll_error: `A message could not be read: ${got.message}`.slice(0, 300),
          ...(tries && { unreadable_id: id, unreadable_tries: tries }),
        },
        lease,
      );
      return { ...out, error: got.message };
    }
    out.read++;
    const t = now();
    const r = await recordInbound(env, d, await classifyInbound(got.raw, t), t, mb.id);
    if (r.kind !== "ignored") out.handled++;
  }
  if (skipped.length) note = [`A message could not be read and was skipped: ${skipped.join(", ")}`, note].filter(Boolean).join("; ");
  const counted = cfg.unreadable_id !== undefined && cfg.unreadable_id !== null;
  await saveCursor(
    d,
    mb.id,
    { ...next, polled_at: now(), poll_error: note?.slice(0, 300) ?? null, ...(counted && { unreadable_id: null, unreadable_tries: null }) },
    lease,
  );
  // Read to the newest point (not a full round with more to come, nor a resync with ids left).
  const caughtUp = ids.length < MAX_MESSAGES_PER_TICK && !next.resync_ids;
  if (caughtUp && typeof config.release_pending === "string") {
    if (await releaseHeld(env, d, mb.id, config.release_pending, lease)) out.released = true;
  }
  return out;
}

/**
 * A round of a mailbox with no cursor: it starts one from now. Nothing before it is read, so a mailbox
 * held for its reply check (its reconnect, or a start that failed) has caught up once it has one. A 401
 * gets the forced refresh that tells a revoked grant (pollFailed); when the refresh gives a token, the
 * start is tried once more with it, and a 401 to that fresh token is the grant refusing to read mail
 * (startCursor's `fresh`), which only signing in again lifts, not a refresh every minute.
 */
async function startRound(
  env: Env,
  d: Db,
  mb: PolledMailbox,
  tok: Extract<TokenResult, { ok: true }>,
  lease: string,
  config: Record<string, unknown>,
  out: PollOutcome,
): Promise<PollOutcome> {
  let failed = await startCursor(env, mb, tok.cfg.apiUrl, tok.accessToken, d, lease, { sealed: tok.sealed });
  if (failed?.revoked) {
    const again = await accessTokenFor(env, mb, { force: true }, d);
    if (again.ok) failed = await startCursor(env, mb, again.cfg.apiUrl, again.accessToken, d, lease, { sealed: again.sealed, fresh: true });
  }
  if (failed) return { ...out, error: failed.message };
  if (typeof config.release_pending === "string" && (await releaseHeld(env, d, mb.id, config.release_pending, lease))) out.released = true;
  return out;
}

/**
 * A Gmail resync's round: the oldest MAX_MESSAGES_PER_TICK of the messages it listed (up to
 * GMAIL_RESYNC_MAX), like any round, and the cursor to save once they are handled: the rest still to
 * read (the next round goes on with them, without listing again), or, when none are left, the history
 * point taken before the listing. Reading the whole listing in one round went past the round's cap and the
 * tick's subrequest budget, which counted it only once it had ended. The old, forgotten history_id stays
 * until then: a round that fails or loses its lease midway saves nothing and reads the same ids again.
 */
function resyncRound(listed: string[], historyId: string): { ids: string[]; next: Cursor } {
  const ids = listed.slice(0, MAX_MESSAGES_PER_TICK);
  const rest = listed.slice(MAX_MESSAGES_PER_TICK);
  return {
    ids,
    next: rest.length
      ? { resync_ids: rest.join(","), resync_history_id: historyId }
      : { history_id: historyId, resync_ids: null, resync_history_id: null },
  };
}

/** Rounds a catch-up reads at most; what is left waits for the cron like any backlog (which then releases the held emails). */
const CATCH_UP_ROUNDS = 5;
/**
 * How long a catch-up waits, in all, for a round that holds the mailbox (the cron's, which renews its
 * lease as it reads) to end: the sign-in's browser waits meanwhile. A property, so a test can shorten it.
 */
export const CATCH_UP_WAIT = { ms: 20_000 };
const CATCH_UP_RETRY_MS = 500;

/**
 * A mailbox signed in again: its held emails go out only once the replies that arrived while it was
 * down are read, or a follow-up would cross a reply not applied yet. The sign-in marked the mailbox
 * (release_pending, in the statement that saved it connected: mailbox-connect.ts); the catch-up reads
 * rounds itself, and the round that reaches the newest point releases the emails (releaseHeld). A round
 * the cron started before the reconnect, still reading (it holds the lease), releases nothing: the
 * catch-up waits for it to end, up to CATCH_UP_WAIT, and reads after it. When that takes longer, or a
 * round fails, the mark stays and the cron's first round that reads to the newest point releases them.
 * A failure is kept on the mailbox (poll_error: the Mailboxes and Home screens say the mailbox waits for
 * it, and what to do); the sign-in itself stands.
 */
export async function catchUpReplies(env: Env, d: Db, polled: PolledMailbox): Promise<void> {
  const waitUntil = Date.now() + CATCH_UP_WAIT.ms;
  try {
    for (let round = 0; round < CATCH_UP_ROUNDS;) {
      const out = await pollMailbox(env, d, polled);
      if (out.busy) {
        // Wall time: the request's own. The holder renews its lease as it reads, so its end is not known.
        if (Date.now() + CATCH_UP_RETRY_MS > waitUntil) return;
        await new Promise((r) => setTimeout(r, CATCH_UP_RETRY_MS));
        continue;
      }
      if (out.error || out.released) return;
      round++;
    }
  } catch (e) {
    await catchUpFailed(d, polled.id, e);
  }
}

async function catchUpFailed(d: Db, mailboxId: string, e: unknown) {
  // The bottom error: drizzle's names the whole query, which is no words for the Mailboxes screen.
  const message = innermost(e);
  console.error(`reply catch-up of mailbox ${mailboxId} failed: ${message}`);
  await saveCursor(d, mailboxId, { poll_error: `Replies could not be read after signing in: ${message}`.slice(0, 300) }).catch(
    (err: unknown) => console.error(`reply catch-up of mailbox ${mailboxId}: its error could not be saved`, err),
  );
}

async function pollFailed(
  env: Env,
  d: Db,
  mb: { id: string; transport: "gmail" | "graph" },
  lease: string,
  f: { expired: boolean; revoked: boolean; message: string },
  out: PollOutcome,
): Promise<PollOutcome> {
  if (f.expired) {
    // The provider forgot our point in time (Gmail 404, Graph 410) and there was no good check to
    // resync from: start again from now.
    await saveCursor(d, mb.id, { history_id: null, delta_link: null, poll_error: `Reply check restarted: ${f.message}` }, lease);
    return { ...out, error: f.message };
  }
  // A 401: the access token was refused before its time. A forced refresh tells a revoked grant (which
  // marks the mailbox "needs reconnect") from a token that just needed renewing.
  if (f.revoked) await accessTokenFor(env, mb, { force: true }, d);
  await saveCursor(d, mb.id, { poll_error: f.message.slice(0, 300) }, lease);
  return { ...out, error: f.message };
}

/** What went wrong at the bottom: drizzle's error names the whole query (with the email's values) and holds D1's as its cause. */
function innermost(e: unknown): string {
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Cron: every Gmail / Graph mailbox that still has a working sign-in (a removed one has none, and its
 * inbox is no longer read), POLL_CONCURRENCY at a time, within the tick's time and subrequest budget
 * (see above), the ones whose last round started longest ago first. One failing or slow mailbox never
 * stops the others.
 */
export async function pollReplies(env: Env, d: Db = db(env.DB)): Promise<PollOutcome[]> {
  const rows = await d
    .select({ id: mailboxes.id, transport: mailboxes.transport })
    .from(mailboxes)
    .where(and(inArray(mailboxes.transport, ["gmail", "graph"]), notInArray(mailboxes.status, ["needs_reconnect", "removed"])))
    .orderBy(sql`coalesce(json_extract(${mailboxes.transportConfig}, '$.poll_started_at'), 0)`, asc(mailboxes.id));
  const outcomes: PollOutcome[] = [];
  // Wall time, not the engine's clock: the budget is the invocation's own time.
  const startedAt = Date.now();
  let next = 0;
  let running = 0;
  let spent = 0;
  const lane = async () => {
    while (next < rows.length) {
      if (Date.now() - startedAt > TICK_BUDGET_MS) return;
      if (spent + (running + 1) * ROUND_WORST > TICK_SUBREQUESTS) return;
      const mb = rows[next++]!;
      if (mb.transport !== "gmail" && mb.transport !== "graph") continue;
      running++;
      try {
        const out = await pollMailbox(env, d, { id: mb.id, transport: mb.transport });
        spent += out.busy ? 0 : out.read + ROUND_CALLS;
        outcomes.push(out);
      } catch (e) {
        // pollMailbox kept the reason on the mailbox; the round's cursor did not move.
        const message = e instanceof Error ? e.message : String(e);
        console.error(`reply polling of mailbox ${mb.id} failed: ${message}`);
        spent += ROUND_WORST;
        outcomes.push({ mailboxId: mb.id, read: 0, handled: 0, error: message });
      } finally {
        running--;
      }
    }
  };
  await Promise.all(Array.from({ length: POLL_CONCURRENCY }, lane));
  return outcomes;
}
