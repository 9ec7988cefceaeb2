// Replies to Gmail and Microsoft 365 mailboxes are found by polling on the cron (every minute): Gmail's
// history since the last check, Graph's Inbox delta since the last deltaLink. Each new message is read
// as MIME and goes through the same classification as the email() handler (worker/inbound.ts). A
// round is at most MAX_MESSAGES_PER_TICK messages, and ends at a point the provider can resume from
// (a history record, a delta page). The cursor lives in the mailbox's transport_config and moves only
// after the whole round was handled, so a crash or a message that can't be read now repeats the round
// (handling a reply twice changes nothing) rather than skipping one. An email that can't be parsed at
// all is not retried (it would fail the same way every minute): classifyInbound ignores it as unreadable.
import { and, asc, eq, inArray, notInArray, sql } from "drizzle-orm";
import { db, type Db } from "../db/client";
import { mailboxes } from "../db/schema";
import type { Env } from "../env";
import { now } from "../lib/clock";
import { GMAIL_RESYNC_MAX, gmailHistory, gmailInboxSince, gmailProfile, gmailRaw } from "../transports/gmail";
import { graphDelta, graphDeltaStart, graphRaw } from "../transports/graph";
import { accessTokenFor } from "./mailbox-auth";
import { classifyInbound } from "./reply-classify";
import { recordInbound } from "./replies";
import { POLL_CURSOR_KEYS } from "../transports/mailbox-settings";

/** At most this many new messages are read per mailbox per tick (the rest wait for the next one). */
export const MAX_MESSAGES_PER_TICK = 100;

/** How far before the last good check a resync starts reading. */
const RESYNC_MARGIN_MS = 10 * 60_000;

interface PolledMailbox {
  id: string;
  transport: "gmail" | "graph";
  transportConfig: Record<string, unknown>;
}

export interface PollOutcome {
  mailboxId: string;
  read: number;
  handled: number;
  error?: string;
}

type Cursor = Partial<Record<(typeof POLL_CURSOR_KEYS)[number], string | number | null>>;

/** Merges the cursor fields into the mailbox's transport_config (json_set: the sign-in's other fields stay). */
async function saveCursor(d: Db, mailboxId: string, patch: Cursor) {
  const sets = Object.entries(patch).map(([k, v]) => sql`${`$.${k}`}, ${v ?? null}`);
  await d
    .update(mailboxes)
    .set({ transportConfig: sql`json_set(${mailboxes.transportConfig}, ${sql.join(sets, sql`, `)})` })
    .where(eq(mailboxes.id, mailboxId));
}

/** The starting point of a mailbox's reply polling, set when it is connected: from now on. */
export async function startCursor(
  env: Env,
  mb: { id: string; transport: "gmail" | "graph" },
  apiUrl: string,
  token: string,
  d: Db = db(env.DB),
): Promise<void> {
  if (mb.transport === "gmail") {
    const p = await gmailProfile(apiUrl, token);
    if (p.ok) await saveCursor(d, mb.id, { history_id: p.body.historyId, polled_at: now(), poll_error: null });
    return;
  }
  const r = await graphDelta(graphDeltaStart(apiUrl, now()), token, Number.POSITIVE_INFINITY);
  if (r.ok) await saveCursor(d, mb.id, { delta_link: r.deltaLink, polled_at: now(), poll_error: null });
}

/** One mailbox's round. */
export async function pollMailbox(env: Env, d: Db, mb: PolledMailbox): Promise<PollOutcome> {
  const out: PollOutcome = { mailboxId: mb.id, read: 0, handled: 0 };
  const tok = await accessTokenFor(env, mb, {}, d);
  if (!tok.ok) {
    // Shown on the mailbox ("Replies could not be checked"); a revoked grant also marks it "needs reconnect".
    await saveCursor(d, mb.id, { poll_error: tok.message.slice(0, 300) });
    return { ...out, error: tok.message };
  }
  const cfg = mb.transportConfig as { history_id?: string; delta_link?: string; polled_at?: number | null };
  const { apiUrl } = tok.cfg;
  let ids: string[];
  let next: Cursor;
  let note: string | null = null;
  // When the provider has forgotten the cursor (Gmail 404, Graph 410), the round reads everything
  // received since the last good check instead (a little before it: the provider's clock isn't ours);
  // starting from now would never read the replies in between.
  const resyncFrom = cfg.polled_at ? cfg.polled_at - RESYNC_MARGIN_MS : null;
  if (mb.transport === "gmail") {
    if (!cfg.history_id) {
      await startCursor(env, mb, apiUrl, tok.accessToken, d);
      return out;
    }
    const h = await gmailHistory(apiUrl, tok.accessToken, cfg.history_id, MAX_MESSAGES_PER_TICK);
    if (h.ok) {
      ids = h.ids;
      next = { history_id: h.historyId };
    } else {
      if (!h.expired || resyncFrom === null) return await pollFailed(env, d, mb, h, out);
      // The mailbox's point now first, so nothing that arrives during the listing falls between the two.
      const p = await gmailProfile(apiUrl, tok.accessToken);
      if (!p.ok) return await pollFailed(env, d, mb, { expired: false, revoked: p.status === 401, message: p.message }, out);
      const since = await gmailInboxSince(apiUrl, tok.accessToken, resyncFrom);
      if (!since.ok) return await pollFailed(env, d, mb, since, out);
      ids = since.ids;
      next = { history_id: p.body.historyId };
      if (since.more)
        note = `Reply check restarted: Gmail forgot its place and more than ${GMAIL_RESYNC_MAX} messages arrived since the last check; the earlier ones were not read`;
    }
  } else {
    if (!cfg.delta_link) {
      await startCursor(env, mb, apiUrl, tok.accessToken, d);
      return out;
    }
    let delta = await graphDelta(cfg.delta_link, tok.accessToken, MAX_MESSAGES_PER_TICK);
    if (!delta.ok && delta.expired && resyncFrom !== null)
      delta = await graphDelta(graphDeltaStart(apiUrl, resyncFrom), tok.accessToken, MAX_MESSAGES_PER_TICK);
    if (!delta.ok) return await pollFailed(env, d, mb, delta, out);
    ids = delta.ids;
    next = { delta_link: delta.deltaLink };
  }
  for (const id of ids) {
    const got = mb.transport === "gmail" ? await gmailRaw(apiUrl, tok.accessToken, id) : await graphRaw(apiUrl, tok.accessToken, id);
    if (!got.ok && got.gone) continue; // deleted since it arrived: nothing to read
    if (!got.ok) {
      // Not readable now (network, 5xx, throttled): the round is tried again from the same point.
      await saveCursor(d, mb.id, { poll_error: `A message could not be read: ${got.message}`.slice(0, 300) });
      return { ...out, error: got.message };
    }
    out.read++;
    const t = now();
    const r = await recordInbound(env, d, await classifyInbound(got.raw, t), t, mb.id);
    if (r.kind !== "ignored") out.handled++;
  }
  await saveCursor(d, mb.id, { ...next, polled_at: now(), poll_error: note });
  return out;
}

/** Rounds a catch-up reads at most; what is left waits for the cron like any backlog. */
const CATCH_UP_ROUNDS = 5;

/**
 * A mailbox signed in again: read the replies that arrived while it was down before its held emails
 * are released, or a follow-up would cross a reply the cron hasn't read yet. A failure is kept on the
 * mailbox (poll_error, shown on the screen) and the cron tries again; the sign-in itself stands.
 */
export async function catchUpReplies(env: Env, d: Db, mailboxId: string): Promise<void> {
  const mb = await d
    .select({ id: mailboxes.id, transport: mailboxes.transport, transportConfig: mailboxes.transportConfig })
    .from(mailboxes)
    .where(eq(mailboxes.id, mailboxId))
    .get();
  if (!mb || (mb.transport !== "gmail" && mb.transport !== "graph")) return;
  let config = mb.transportConfig as Record<string, unknown>;
  try {
    for (let round = 0; round < CATCH_UP_ROUNDS; round++) {
      const out = await pollMailbox(env, d, { id: mb.id, transport: mb.transport, transportConfig: config });
      if (out.error || out.read < MAX_MESSAGES_PER_TICK) return;
      config = (await d.select({ c: mailboxes.transportConfig }).from(mailboxes).where(eq(mailboxes.id, mb.id)).get())!.c as Record<
        string,
        unknown
      >;
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`reply catch-up of mailbox ${mb.id} failed: ${message}`);
    await saveCursor(d, mb.id, { poll_error: `Replies could not be read after signing in: ${message}`.slice(0, 300) });
  }
}

async function pollFailed(
  env: Env,
  d: Db,
  mb: { id: string; transport: "gmail" | "graph" },
  f: { expired: boolean; revoked: boolean; message: string },
  out: PollOutcome,
): Promise<PollOutcome> {
  if (f.expired) {
    // The provider forgot our point in time (Gmail 404, Graph 410) and there was no good check to
    // resync from: start again from now.
    await saveCursor(d, mb.id, { history_id: null, delta_link: null, poll_error: `Reply check restarted: ${f.message}` });
    return { ...out, error: f.message };
  }
  // A 401: the access token was refused before its time. A forced refresh tells a revoked grant (which
  // marks the mailbox "needs reconnect") from a token that just needed renewing.
  if (f.revoked) await accessTokenFor(env, mb, { force: true }, d);
  await saveCursor(d, mb.id, { poll_error: f.message.slice(0, 300) });
  return { ...out, error: f.message };
}

/** What went wrong at the bottom: drizzle's error names the whole query (with the email's values) and holds D1's as its cause. */
function innermost(e: unknown): string {
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Cron: every Gmail / Graph mailbox that still has a working sign-in (a removed one has none, and its
 * inbox is no longer read). One failing mailbox never stops the others.
 */
export async function pollReplies(env: Env, d: Db = db(env.DB)): Promise<PollOutcome[]> {
  const rows = await d
    .select({ id: mailboxes.id, transport: mailboxes.transport, transportConfig: mailboxes.transportConfig })
    .from(mailboxes)
    .where(and(inArray(mailboxes.transport, ["gmail", "graph"]), notInArray(mailboxes.status, ["needs_reconnect", "removed"])))
    .orderBy(asc(mailboxes.id));
  const outcomes: PollOutcome[] = [];
  for (const mb of rows) {
    if (mb.transport !== "gmail" && mb.transport !== "graph") continue;
    try {
      outcomes.push(await pollMailbox(env, d, { ...mb, transport: mb.transport }));
    } catch (e) {
      // The round's cursor did not move, so the next tick reads the same emails again; the mailbox
      // says why meanwhile (its "Replies could not be checked" banner), or a failure every minute would
      // leave replies unread with nothing on the screen.
      const message = e instanceof Error ? e.message : String(e);
      console.error(`reply polling of mailbox ${mb.id} failed: ${message}`);
      await saveCursor(d, mb.id, { poll_error: `The check failed: ${innermost(e)}`.slice(0, 300) }).catch((err: unknown) =>
        console.error(`reply polling of mailbox ${mb.id}: its error could not be saved`, err),
      );
      outcomes.push({ mailboxId: mb.id, read: 0, handled: 0, error: message });
    }
  }
  return outcomes;
}
