import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { engine } from "../../durable-objects/engine";
import type { Db } from "../db/client";
import { contacts, messages, suppressions } from "../db/schema";
import type { Env } from "../env";
import { now } from "../lib/clock";
import { newId } from "../lib/ids";
import { openEnrollmentsOfAddress } from "./enrollments";
import { verifyUnsubscribeToken, type UnsubscribeToken } from "./mime";
import { appSecret } from "./secrets";

/**
 * Whom an unsubscribe link names: signed with APP_SECRET, or with APP_SECRET_PREVIOUS (an email sent
 * before the secret was rotated). Without the previous one, a rotation made every link already sent
 * answer "not issued by us", and the law expects an opt-out link to keep working after the email.
 */
export async function unsubscribeTokenOf(env: Env, token: string): Promise<UnsubscribeToken | null> {
  const who = await verifyUnsubscribeToken(appSecret(env), token);
  if (who || !env.APP_SECRET_PREVIOUS) return who;
  return verifyUnsubscribeToken(env.APP_SECRET_PREVIOUS, token);
}

/**
 * The statement that records an opt-out on the email it came from (messages.unsubscribed_at, which the
 * reports count through the rollup): the email named by its Message-ID (the link's token), the row
 * `id` (a reply asking to unsubscribe), or, for a link made before tokens named their email, the last
 * email sent to the address. At most one email per address is stamped: a second click, or the link of
 * another email after it, is the same opt-out.
 */
export function stampUnsubscribed(d: Db, teamId: string, email: string, at: number, which: { header?: string; id?: string }) {
  const target = which.id
    ? sql`${which.id}`
    : which.header
      ? sql`(SELECT id FROM messages WHERE message_id_header = ${which.header} AND team_id = ${teamId} AND lower(to_email) = ${email})`
      : sql`(SELECT id FROM messages WHERE team_id = ${teamId} AND contact_id IN (SELECT id FROM contacts WHERE team_id = ${teamId} AND lower(email) = ${email})
              AND sequence_id <> '' AND status IN ('sent', 'bounced') AND sent_at IS NOT NULL ORDER BY sent_at DESC, id DESC LIMIT 1)`;
  return d
    .update(messages)
    .set({ unsubscribedAt: at })
    .where(
      and(
        eq(messages.teamId, teamId),
        sql`${messages.id} = ${target}`,
        isNull(messages.unsubscribedAt),
        sql`NOT EXISTS (SELECT 1 FROM messages x WHERE x.team_id = ${teamId} AND x.unsubscribed_at IS NOT NULL AND x.contact_id IN (SELECT id FROM contacts WHERE team_id = ${teamId} AND lower(email) = ${email}))`,
      ),
    );
}

/**
 * One-click unsubscribe of an address for a team: a suppression that outlives the contact
 * (invariant 5), the email the link came in stamped (the reports count the opt-out there, not in
 * the runs it ends), the contacts marked unsubscribed, and the address's open enrollments finished
 * with reason `unsubscribed` through each SequenceDO (the single writer of enrollment transitions; it
 * also withdraws an email already queued at a mailbox, invariant 11). The send-time check stays the
 * backstop, so once the suppression is written the click has worked.
 */
export async function unsubscribeAddress(env: Env, d: Db, teamId: string, address: string, messageId?: string): Promise<void> {
  const email = address.toLowerCase();
  const t = now();
  await d.batch([
    stampUnsubscribed(d, teamId, email, t, messageId ? { header: messageId } : {}),
    d
      .insert(suppressions)
      .values({ id: newId(), teamId, email, reason: "unsubscribed", source: "one_click", createdAt: t })
      // Already suppressed by a reply (or a bounce): the click is what keeps it now, so that correcting
      // the reply later doesn't lift an opt-out the person made themselves.
      .onConflictDoUpdate({
        target: [suppressions.teamId, suppressions.email],
        set: { reason: "unsubscribed", source: "one_click" },
        setWhere: inArray(suppressions.source, ["reply", "dsn"]),
      }),
    d
      .update(contacts)
      .set({ unsubscribedAt: sql`coalesce(${contacts.unsubscribedAt}, ${t})`, updatedAt: t })
      .where(and(eq(contacts.teamId, teamId), sql`lower(${contacts.email}) = ${email}`)),
  ]);
  // The opt-out is in force from here (the send-time check reads the suppression): nothing after this
  // may make the person's click fail, or the page would say "nothing has changed" when it has.
  let open: Awaited<ReturnType<typeof openEnrollmentsOfAddress>>;
  try {
    open = await openEnrollmentsOfAddress(d, teamId, email);
  } catch (err) {
    console.error("unsubscribe: reading the address's open runs failed; the send-time check holds them", err);
    return;
  }
  const bySequence = new Map<string, string[]>();
  for (const r of open) bySequence.set(r.sequenceId, [...(bySequence.get(r.sequenceId) ?? []), r.id]);
  // A sequence that can't be reached now doesn't fail the click either: its runs finish when they next come due.
  for (const [sequenceId, ids] of bySequence) {
    try {
      await engine.sequence(env, sequenceId, teamId).finish(ids, "unsubscribed");
    } catch (err) {
      console.error(`unsubscribe: finishing ${ids.length} run(s) of sequence ${sequenceId} failed; the send-time check holds them`, err);
    }
  }
}
