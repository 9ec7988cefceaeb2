import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { mailboxes } from "../db/schema";

/** A mailbox as its transport and its MailboxDO see it: who sends, how, and within which limits. */
export type MailboxSettings = Pick<
  typeof mailboxes.$inferSelect,
  | "id"
  | "teamId"
  | "userId"
  | "email"
  | "senderName"
  | "signature"
  | "transport"
  | "transportConfig"
  | "secretCiphertext"
  | "dailyLimit"
  | "hourlyLimit"
  | "minGapSeconds"
  | "jitterSeconds"
  | "status"
  | "statusReason"
>;

/**
 * Reply polling's cursor and lease (which tick polls the mailbox now, until when, and when a tick last
 * started on it), kept in `transport_config` beside the sign-in's fields (services/reply-polling.ts).
 */
export const POLL_CURSOR_KEYS = [
  "history_id",
  "delta_link",
  "polled_at",
  "poll_error",
  "poll_lease",
  "poll_lease_until",
  "poll_started_at",
  // A Gmail resync read over several rounds: the listed messages not read yet, and the history point to go on from after them.
  "resync_ids",
  "resync_history_id",
  // A reconnect whose held emails wait for a round that reads from after it (see catchUpReplies).
  "release_pending",
  // When that reconnect was saved: how long the mailbox has waited, shown on the Mailboxes and Home screens.
  "release_pending_at",
  // When a team admin let the mailbox send without waiting for a reply check that could not start: a round's
  // failed start does not hold it again until the cursor has started or the mailbox is signed in again.
  "reply_check_waived_at",
  // A message whose read keeps failing (a timeout every round): its id and how many rounds in a row ended at it.
  "unreadable_id",
  "unreadable_tries",
] as const;

/**
 * SQL: the mailbox (the columns of table alias `mb`) is connected but sends nothing until a reply check has read its
 * inbox from after a reconnect: a Gmail or Microsoft 365 mailbox with its release_pending mark (MailboxDO's
 * waitsForReplies; the API's held_for_reply_check). The lists that say when an email goes read it with the status.
 */
export const mailboxHeldSql = (mb: string) =>
  `(${mb}.status = 'connected' AND ${mb}.transport IN ('gmail', 'graph') AND json_type(${mb}.transport_config, '$.release_pending') = 'text')`;

/** mailboxHeldSql in JS, less the status: the reconnect's mark a Gmail / Microsoft 365 mailbox waits on, or null. */
export function replyCheckMark(transport: string, config: unknown): string | null {
  if (transport !== "gmail" && transport !== "graph") return null;
  const mark = (config as Record<string, unknown> | null)?.release_pending;
  return typeof mark === "string" ? mark : null;
}

/**
 * Whether two readings of a mailbox send the same way. Reply polling moves its cursor every minute: that
 * is not a change a send pass must start over for (it would, for every Gmail and Microsoft 365 mailbox).
 */
export function sameSendingSettings(a: MailboxSettings, b: MailboxSettings): boolean {
  const view = (m: MailboxSettings) => {
    const config = { ...(m.transportConfig as Record<string, unknown>) };
    for (const k of POLL_CURSOR_KEYS) delete config[k];
    return JSON.stringify({ ...m, transportConfig: config });
  };
  return view(a) === view(b);
}

/** The select of a mailbox's settings, as a query builder: awaited alone, or one statement of a D1 batch (the send path's). */
export function mailboxQuery(d: Db, mailboxId: string) {
  return d
    .select({
      id: mailboxes.id,
      teamId: mailboxes.teamId,
      userId: mailboxes.userId,
      email: mailboxes.email,
      senderName: mailboxes.senderName,
      signature: mailboxes.signature,
      transport: mailboxes.transport,
      transportConfig: mailboxes.transportConfig,
      secretCiphertext: mailboxes.secretCiphertext,
      dailyLimit: mailboxes.dailyLimit,
      hourlyLimit: mailboxes.hourlyLimit,
      minGapSeconds: mailboxes.minGapSeconds,
      jitterSeconds: mailboxes.jitterSeconds,
      status: mailboxes.status,
      statusReason: mailboxes.statusReason,
    })
    .from(mailboxes)
    .where(eq(mailboxes.id, mailboxId));
}

export async function loadMailbox(d: Db, mailboxId: string): Promise<MailboxSettings | null> {
  return (await mailboxQuery(d, mailboxId).get()) ?? null;
}
