import { db } from "./db/client";
import type { Env } from "./env";
import { now } from "./lib/clock";
import { classifyInbound } from "./services/reply-classify";
import { recordInbound, type InboundResult } from "./services/replies";

/**
 * The inbound email path (Email Routing's email() handler and reply polling both end here): classify
 * the email (services/reply-classify.ts), then match, store and apply it once (services/replies.ts).
 * `to` is the address it was delivered to (the handler's envelope recipient): a reply without threading
 * headers is matched by its sender among that mailbox's emails only.
 */
export async function handleInbound(env: Env, raw: ArrayBuffer | string, to?: string): Promise<InboundResult> {
  const t = now();
  return recordInbound(env, db(env.DB), await classifyInbound(raw, t), t, undefined, to);
}
