import { and, count, desc, eq, sql } from "drizzle-orm";
import { ApiError, notFound } from "../lib/errors";
import { batchSql, type Db } from "../db/client";
import { bulkInsertSql } from "../db/bulk";
import { inChunks, inList } from "../db/in-list";
import { suppressions } from "../db/schema";
import type { Caller } from "../env";
import { audit, auditEach } from "./audit";
import { now } from "../lib/clock";
import { newId } from "../lib/ids";

/**
 * The team's suppression list, keyed by address (invariant 5: a suppression outlives its contact).
 * Read here when an address is saved again (a CSV row, POST /contacts), so a deleted contact that
 * unsubscribed, bounced or was Do Not Contact is not brought back.
 *
 * A whole domain is blocked by an entry `@example.com` in the same email column, so the team's unique
 * (team_id, email) index holds for it too and every check is two probes of that index: the address and
 * '@' + its domain. Exact domain only: `@example.com` does not block `a@mail.example.com`.
 */

export type SuppressionReason = (typeof suppressions.$inferSelect)["reason"];

export const SUPPRESSION_WORDS: Record<SuppressionReason, string> = {
  unsubscribed: "This address unsubscribed",
  bounced: "This address bounced",
  dnc: "This address is Do Not Contact",
  manual: "This address is on your team's suppression list",
  complaint: "This address reported your email as spam",
};

/**
 * The two keys an address is suppressed under, as SQL: itself lower-cased, and its domain from the '@' on
 * ('@example.com', the key of a blocked domain). An address without '@' gives itself twice (substr from 0).
 * The JS twin is suppressionKeys; both take the domain after the first '@'.
 */
const keysSql = (emailExpr: string) => `lower(${emailExpr}), substr(lower(${emailExpr}), instr(${emailExpr}, '@'))`;

/**
 * Invariant 5's suppression check as SQL text: true when the address or its domain is suppressed for the
 * team. Two probes of suppressions_team_email_uq (test suppression-domains). The add-contacts facts read it
 * (candidates.ts); the send-time check reads suppressionKindSql below, the same keys told apart.
 */
export const suppressedSql = (teamCol: string, emailExpr: string) =>
  `EXISTS (SELECT 1 FROM suppressions x WHERE x.team_id = ${teamCol} AND x.email IN (${keysSql(emailExpr)}))`;

/**
 * suppressedSql telling which key matched, for the send-time facts (eligibility.ts): 0 not suppressed, 1 the address's
 * own entry, 2 only its domain's (a blocked domain: the reason then says so, suppressed_domain). suppressedSql's one
 * probe of both keys first; only a suppressed contact is probed again for its own entry (the send path reads 60
 * contacts a batch, nearly all not suppressed: test send-context-reads).
 */
export const suppressionKindSql = (teamCol: string, emailExpr: string) =>
  `CASE WHEN ${suppressedSql(teamCol, emailExpr)} THEN
    CASE WHEN EXISTS (SELECT 1 FROM suppressions own WHERE own.team_id = ${teamCol} AND own.email = lower(${emailExpr})) THEN 1 ELSE 2 END
    ELSE 0 END`;

/** suppressedSql for a query over rows of no team (people): the team is a bound parameter. */
export const suppressedForTeamSql = (teamId: string, emailExpr: string) =>
  sql`EXISTS (SELECT 1 FROM suppressions x WHERE x.team_id = ${teamId} AND x.email IN (${sql.raw(keysSql(emailExpr))}))`;

/** An address's suppression keys (see keysSql): the address, and '@' + its domain when it has one. */
export function suppressionKeys(email: string): string[] {
  const e = email.trim().toLowerCase();
  const at = e.indexOf("@");
  return at >= 0 ? [e, e.slice(at)] : [e];
}

/**
 * Why a contact's address is suppressed for its team (null: it isn't), as a column of a query over `contacts`
 * (suppressions_team_email_uq): the address's own entry first, else its domain's, as two probes of the index (an
 * ORDER BY over both keys made the contacts page sort in a temporary b-tree per row). Qualified by hand: drizzle
 * leaves a one-table query's columns bare, and a bare team_id or email would name the suppression's own.
 */
export const suppressionOf = () =>
  sql<SuppressionReason | null>`coalesce(
    (SELECT x.reason FROM suppressions x WHERE x.team_id = "contacts"."team_id" AND x.email = lower("contacts"."email")),
    (SELECT x.reason FROM suppressions x WHERE x.team_id = "contacts"."team_id" AND x.email = substr(lower("contacts"."email"), instr("contacts"."email", '@'))))`;

/** How each of these addresses (lower-cased) is suppressed for the team: its own entry, else its domain's (`domain`: that key). */
export async function suppressionMatches(
  d: Db,
  teamId: string,
  emails: readonly string[],
): Promise<Map<string, { reason: SuppressionReason; domain: string | null }>> {
  const list = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter(Boolean))];
  const keys = [...new Set(list.flatMap(suppressionKeys))];
  const rows = await inChunks(keys, (chunk) =>
    d
      .select({ email: suppressions.email, reason: suppressions.reason })
      .from(suppressions)
      .where(and(eq(suppressions.teamId, teamId), inList(suppressions.email, chunk))),
  );
  const byKey = new Map(rows.map((r) => [r.email, r.reason]));
  const out = new Map<string, { reason: SuppressionReason; domain: string | null }>();
  for (const email of list) {
    const [own, domain] = suppressionKeys(email);
    const reason = byKey.get(own!);
    if (reason) out.set(email, { reason, domain: null });
    else if (domain && byKey.has(domain)) out.set(email, { reason: byKey.get(domain)!, domain });
  }
  return out;
}

/**
 * Why an address is suppressed, in words (suppressionMatches' answer): its own entry's reason, or, when only
 * its domain is blocked, that domain. The one wording for every refusal (a contact, a CSV row, a test email):
 * a domain block is a manual entry, and "This address is on your team's suppression list" named an address
 * that was never on it.
 */
export const suppressionWords = (m: { reason: SuppressionReason; domain: string | null }) =>
  m.domain ? `Every address at ${m.domain} is on your team's Do not email list (a blocked domain)` : SUPPRESSION_WORDS[m.reason];

/** Why each of these addresses (lower-cased) is suppressed for the team (its own entry, else its domain's); absent when it isn't. */
export async function suppressionReasons(d: Db, teamId: string, emails: readonly string[]): Promise<Map<string, SuppressionReason>> {
  const matches = await suppressionMatches(d, teamId, emails);
  return new Map([...matches].map(([email, m]) => [email, m.reason]));
}

/** Records suppressions that lived on contacts (unsubscribed, bounced, a Do Not Contact stage) before they are deleted. */
export async function keepSuppressions(
  d: Db,
  teamId: string,
  rows: readonly { email: string | null; reason: SuppressionReason | null }[],
  source: string,
): Promise<number> {
  const values = rows
    .filter((r): r is { email: string; reason: SuppressionReason } => !!r.email && !!r.reason)
    .map((r) => [newId(), r.email.trim().toLowerCase(), r.reason] as const);
  // One batch of JSON-packed statements (thousands of rows each), not 15 rows a statement: deleting
  // 10,000 suppressed contacts took ~667 statements in a row, near D1's 1,000 queries per invocation.
  // OR IGNORE keeps an address already on the list as it was (its first reason).
  const results = await batchSql(
    d,
    bulkInsertSql("suppressions", ["id", "email", "reason"], values, "OR IGNORE", "", {
      team_id: teamId,
      source,
      created_at: now(),
    }),
  );
  const n = results.reduce((a, r) => a + (r.meta.changes ?? 0), 0);
  return n;
}

/** Saving a contact with a suppressed address is refused (422 naming the email field, with the reason). */
export async function assertNotSuppressed(d: Db, teamId: string, email: string | null | undefined): Promise<void> {
  if (!email) return;
  const match = (await suppressionMatches(d, teamId, [email])).get(email.trim().toLowerCase());
  if (!match) return;
  const { reason, domain } = match;
  const message = domain
    ? `${suppressionWords(match)}: it is not saved`
    : `${suppressionWords(match)}: it is not saved again (suppressions outlive deleted contacts)`;
  throw new ApiError("validation_failed", message, { fields: [{ field: "email", message, code: "suppressed", reason }] });
}

/** A suppression as the API shows it: an address, or a whole domain (`email` is then `@example.com`). */
export interface SuppressionView {
  email: string;
  kind: "domain" | "email";
  reason: SuppressionReason;
  source: string;
  created_at: number;
}

const view = (r: typeof suppressions.$inferSelect): SuppressionView => ({
  email: r.email,
  kind: r.email.startsWith("@") ? "domain" : "email",
  reason: r.reason,
  source: r.source,
  created_at: r.createdAt,
});

/** The team's suppressions, newest first, a page at a time; `q`: addresses containing it (any case). */
export async function listSuppressions(d: Db, teamId: string, q: string | undefined, page: number, perPage: number) {
  const where = and(eq(suppressions.teamId, teamId), q ? sql`instr(${suppressions.email}, ${q.trim().toLowerCase()}) > 0` : undefined);
  const [rows, total] = await Promise.all([
    d
      .select()
      .from(suppressions)
      .where(where)
      .orderBy(desc(suppressions.createdAt), suppressions.email)
      .limit(perPage)
      .offset((page - 1) * perPage),
    d.select({ n: count() }).from(suppressions).where(where).get(),
  ]);
  return { suppressions: rows.map(view), total: total?.n ?? 0 };
}

/**
 * Suppresses addresses, and whole domains (`domains`: hostnames, stored as '@' + the domain), by hand
 * (reason manual): never emailed again, checked when added and at send time (invariant 5). An address
 * already suppressed keeps its reason (an unsubscribe stays an unsubscribe).
 */
export async function addSuppressions(d: Db, caller: Caller, emails: readonly string[], domains: readonly string[] = []) {
  const list = [...new Set([...emails.map((e) => e.trim().toLowerCase()), ...domains.map((h) => `@${h.trim().toLowerCase()}`)])];
  const t = now();
  const added = new Set<string>();
  // 6 columns a row: 15 rows a statement stays under D1's 100 bound parameters.
  for (let i = 0; i < list.length; i += 15) {
    const rows = await d
      .insert(suppressions)
      .values(
        list
          .slice(i, i + 15)
          .map((email) => ({ id: newId(), teamId: caller.teamId, email, reason: "manual" as const, source: "manual", createdAt: t })),
      )
      .onConflictDoNothing()
      .returning({ email: suppressions.email });
    for (const r of rows) added.add(r.email);
  }
  await auditEach(
    d,
    caller,
    "suppression.add",
    "suppression",
    [...added].map((email) => ({ targetId: email, details: { reason: "manual", ...(email.startsWith("@") ? { kind: "domain" } : {}) } })),
  );
  const rows = await inChunks(list, (chunk) =>
    d
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.teamId, caller.teamId), inList(suppressions.email, chunk))),
  );
  return { added: added.size, suppressions: rows.map(view) };
}

/** Reasons the person chose themselves: lifting one needs an explicit confirmation. */
const OPTED_OUT: readonly SuppressionReason[] = ["unsubscribed", "complaint"];

/**
 * Lifts a suppression: the address (or, for '@example.com', every address at the domain) may be emailed again. A bounce or a manual entry is lifted as asked; an
 * unsubscribe or a spam complaint was the person's own choice, so it needs `confirm` (they asked to hear
 * from the team again). The team's contacts with the address lose the matching mark (bounced or
 * unsubscribed), or the add-contacts checks would still skip them.
 */
export async function liftSuppression(d: Db, caller: Caller, address: string, confirm: boolean): Promise<SuppressionView> {
  const email = address.trim().toLowerCase();
  const row = await d
    .select()
    .from(suppressions)
    .where(and(eq(suppressions.teamId, caller.teamId), eq(suppressions.email, email)))
    .get();
  if (!row) throw notFound("Suppression");
  if (OPTED_OUT.includes(row.reason) && !confirm) {
    const message = `${SUPPRESSION_WORDS[row.reason]}: lift it only if the person asked to hear from you again, and confirm that you have their consent`;
    throw new ApiError("validation_failed", message, { fields: [{ field: "confirm", message, code: "opted_out", reason: row.reason }] });
  }
  const t = now();
  const sameAddress = sql`team_id = ${caller.teamId} AND lower(email) = ${email}`;
  await batchSql(d, [
    sql`DELETE FROM suppressions WHERE team_id = ${caller.teamId} AND email = ${email}`,
    ...(row.reason === "bounced"
      ? [sql`UPDATE contacts SET bounced_at = NULL, updated_at = ${t} WHERE ${sameAddress} AND bounced_at IS NOT NULL`]
      : []),
    ...(OPTED_OUT.includes(row.reason)
      ? [sql`UPDATE contacts SET unsubscribed_at = NULL, updated_at = ${t} WHERE ${sameAddress} AND unsubscribed_at IS NOT NULL`]
      : []),
  ]);
  await audit(d, caller, "suppression.lift", "suppression", email, { reason: row.reason, confirmed: confirm });
  return view(row);
}
