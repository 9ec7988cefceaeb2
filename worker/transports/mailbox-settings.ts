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
