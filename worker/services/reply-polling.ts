// Replies to Gmail and Microsoft 365 mailboxes are found by polling on the cron (every minute): Gmail's
// history since the last check, Graph's Inbox delta since the last deltaLink. Each new message is read
// as MIME and goes through the same classification as the email() handler (worker/inbound.ts). The
// cursor lives in the mailbox's transport_config and moves only after a whole round was handled, so a
// crash repeats a round (handling a reply twice changes nothing) rather than skipping one.
import type { Env } from "../env";
import { handleInbound } from "../inbound";
import { now } from "../lib/clock";
import { gmailHistory, gmailProfile, gmailRaw } from "../transports/gmail";
import { graphDelta, graphDeltaStart, graphRaw } from "../transports/graph";
import { accessTokenFor } from "./mailbox-auth";

/** At most this many new messages are read per mailbox per tick (the rest wait for the next one). */
export const MAX_MESSAGES_PER_TICK = 100;

export interface PollOutcome {
  mailboxId: string;
  read: number;
  handled: number;
  error?: string;
}

async function saveCursor(env: Env, mailboxId: string, patch: Record<string, string | number | null>) {
  const sets = Object.keys(patch).map((k) => `'$.${k}', ?`).join(", ");
  await env.DB.prepare(`UPDATE mailboxes SET transport_config = json_set(transport_config, ${sets}) WHERE id = ?`).bind(...Object.values(patch), mailboxId).run();
}

/** The starting point of a mailbox's reply polling, set when it is connected: from now on. */
export async function startCursor(env: Env, mb: { id: string; transport: "gmail" | "graph" }, apiUrl: string, token: string): Promise<void> {
  if (mb.transport === "gmail") {
    const p = await gmailProfile(apiUrl, token);
    if (p.ok) await saveCursor(env, mb.id, { history_id: p.body.historyId, polled_at: now(), poll_error: null });
    return;
  }
  const r = await graphDelta(graphDeltaStart(apiUrl, now()), token);
  if (r.ok) await saveCursor(env, mb.id, { delta_link: r.deltaLink, polled_at: now(), poll_error: null });
}

/** One mailbox's round. */
export async function pollMailbox(env: Env, mb: { id: string; transport: "gmail" | "graph"; transport_config: string }): Promise<PollOutcome> {
  const out: PollOutcome = { mailboxId: mb.id, read: 0, handled: 0 };
  const tok = await accessTokenFor(env, mb);
  if (!tok.ok) return { ...out, error: tok.message };
  const cfg = JSON.parse(mb.transport_config || "{}") as { history_id?: string; delta_link?: string };
  const { apiUrl } = tok.cfg;
  let ids: string[];
  let next: Record<string, string>;
  if (mb.transport === "gmail") {
    if (!cfg.history_id) {
      await startCursor(env, mb, apiUrl, tok.accessToken);
      return out;
    }
    const h = await gmailHistory(apiUrl, tok.accessToken, cfg.history_id);
    if (!h.ok) return await pollFailed(env, mb, h, out);
    ids = h.ids;
    next = { history_id: h.historyId };
  } else {
    if (!cfg.delta_link) {
      await startCursor(env, mb, apiUrl, tok.accessToken);
      return out;
    }
    const d = await graphDelta(cfg.delta_link, tok.accessToken);
    if (!d.ok) return await pollFailed(env, mb, d, out);
    ids = d.ids;
    next = { delta_link: d.deltaLink };
  }
  for (const id of ids.slice(0, MAX_MESSAGES_PER_TICK)) {
    const raw = mb.transport === "gmail" ? await gmailRaw(apiUrl, tok.accessToken, id) : await graphRaw(apiUrl, tok.accessToken, id);
    if (raw === null) continue;
    out.read++;
    const r = await handleInbound(env, raw);
    if (r.kind !== "ignored") out.handled++;
  }
  // More than a tick's worth: keep the cursor, the next tick reads the rest (handled ones are no-ops).
  if (ids.length <= MAX_MESSAGES_PER_TICK) await saveCursor(env, mb.id, { ...next, polled_at: now(), poll_error: null });
  return out;
}

async function pollFailed(env: Env, mb: { id: string; transport: "gmail" | "graph" }, f: { expired: boolean; revoked: boolean; message: string }, out: PollOutcome): Promise<PollOutcome> {
  if (f.expired) {
    // The provider forgot our point in time (Gmail 404, Graph 410): start again from now.
    await saveCursor(env, mb.id, { history_id: null, delta_link: null, poll_error: `Reply check restarted: ${f.message}` });
    return { ...out, error: f.message };
  }
  // A 401: the access token was refused before its time. A forced refresh tells a revoked grant (which
  // marks the mailbox "needs reconnect") from a token that just needed renewing.
  if (f.revoked) await accessTokenFor(env, mb, { force: true });
  await saveCursor(env, mb.id, { poll_error: f.message.slice(0, 300) });
  return { ...out, error: f.message };
}

/** Cron: every Gmail / Graph mailbox that still has a working sign-in. One failing mailbox never stops the others. */
export async function pollReplies(env: Env): Promise<PollOutcome[]> {
  const { results } = await env.DB.prepare("SELECT id, transport, transport_config FROM mailboxes WHERE transport IN ('gmail', 'graph') AND status <> 'needs_reconnect' ORDER BY id")
    .all<{ id: string; transport: "gmail" | "graph"; transport_config: string }>();
  const outcomes: PollOutcome[] = [];
  for (const mb of results) {
    try {
      outcomes.push(await pollMailbox(env, mb));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      console.error(`reply polling of mailbox ${mb.id} failed: ${message}`);
      outcomes.push({ mailboxId: mb.id, read: 0, handled: 0, error: message });
    }
  }
  return outcomes;
}
