// Connecting Gmail and Microsoft 365 mailboxes by signing in (OAuth 2.0 authorization code + PKCE +
// state): the sign-in URL to start with, then, when the provider sends the browser back, the code
// exchanged, the connection verified with an authenticated call (the signed-in address) and the
// mailbox saved as connected (tokens sealed), its reply polling started and its MailboxDO told.
// And the end of any mailbox's life: removing it (removeMailbox).
import { and, asc, desc, eq, inArray, ne, sql } from "drizzle-orm";
import { batchSql, isUniqueViolation, type Db } from "../db/client";
import { auditLog, enrollments, jobs, mailboxes, sequences } from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { engine } from "../../durable-objects/engine";
import { authorize, mailboxFor, visibleJob, visibleSequence } from "./access";
import { actOnPage, INLINE_FILTER_MATCHES, prepareAction } from "./enrollments";
import { isOAuthTransport, revokeGrant, type GrantRevocation } from "./mailbox-auth";
import { auditEntry } from "./audit";
import { catchUpReplies, startCursor } from "./reply-polling";
import { gmailProfile } from "../transports/gmail";
import { graphMe } from "../transports/graph";
import {
  authorizationUrl,
  exchangeCode,
  missingConfig,
  PROVIDER_NAME,
  providerConfig,
  sealTokens,
  TRANSPORT_OF,
  type OAuthTokens,
  type Provider,
  type ProviderConfig,
} from "../transports/oauth";

/**
 * Why a sign-in came back without a mailbox, as a code the Mailboxes screen turns into fixed words
 * (web/src/routes/mailboxes/SignIn.tsx): the redirect's URL never carries text, or anyone could craft
 * a link that puts theirs in the app.
 */
export const CONNECT_ERRORS = [
  "unknown_provider",
  "expired",
  "other_user",
  "session_expired",
  "denied",
  "provider_error",
  "no_code",
  "not_configured",
  "refused",
  // Reading email was unticked on the consent screen: the mailbox could send but never see a reply.
  "read_not_granted",
  "verify_failed",
  "wrong_account",
  "already_connected",
  "not_allowed",
] as const;
export type ConnectError = (typeof CONNECT_ERRORS)[number];

/** A sign-in that can't be saved, by code (see CONNECT_ERRORS). */
class ConnectFailed extends Error {
  constructor(readonly code: ConnectError) {
    super(code);
  }
}

/** Why a provider can't be used yet, in words the connect button shows. */
export const notConfiguredMessage = (provider: Provider, missing: string[]) =>
  `${PROVIDER_NAME[provider]} sign-in is not configured on this server: an admin sets ${missing.join(" and ")} (wrangler secret put, or .dev.vars locally) and registers the redirect URL shown on the Mailboxes screen`;

/** The signed-in account: the authenticated call that verifies the connection. */
async function signedInAs(
  cfg: ProviderConfig,
  token: string,
): Promise<{ ok: true; email: string; name: string | null } | { ok: false; message: string }> {
  if (cfg.provider === "google") {
    const r = await gmailProfile(cfg.apiUrl, token);
    return r.ok
      ? { ok: true, email: r.body.emailAddress.toLowerCase(), name: null }
      : { ok: false, message: `Gmail refused the signed-in check: ${r.message}` };
  }
  const r = await graphMe(cfg.apiUrl, token);
  if (!r.ok) return { ok: false, message: `Microsoft Graph refused the signed-in check: ${r.message}` };
  return { ok: true, email: (r.body.mail ?? r.body.userPrincipalName).toLowerCase(), name: r.body.displayName ?? null };
}

/**
 * Saves the signed-in mailbox as connected: a new one, or the one being reconnected. Returns its id, and
 * `held` when the reconnect marked it (release_pending) to wait for a reply check (see connectFinish).
 */
async function saveMailbox(
  env: Env,
  d: Db,
  caller: Caller,
  provider: Provider,
  mailboxId: string | null,
  account: { email: string; name: string | null },
  tokens: OAuthTokens,
): Promise<{ id: string; held: boolean }> {
  const transport = TRANSPORT_OF[provider];
  const t = now();
  const sealed = await sealTokens(env, tokens);
  let existing = mailboxId
    ? await mailboxFor(d, caller, mailboxId, "mailbox.manage")
    : // A removed mailbox of the address is history: signing in as it connects a new one.
      await d.query.mailboxes.findFirst({
        where: and(eq(mailboxes.teamId, caller.teamId), eq(mailboxes.email, account.email), ne(mailboxes.status, "removed")),
      });
  // Signing in again as an address the team already has: a reconnect if the caller manages it. A
  // mailbox switched to SMTP, Cloudflare Email or the Outbox comes back to signing in this way too.
  if (existing && !mailboxId) existing = await mailboxFor(d, caller, existing.id, "mailbox.manage");
  if (existing) {
    if (existing.email !== account.email) throw new ConnectFailed("wrong_account");
    const mark = crypto.randomUUID();
    const cfg = mailboxes.transportConfig;
    const [saved] = await d.batch([
      d
        .update(mailboxes)
        .set({
          transport,
          // Another transport's settings (an SMTP host) mean nothing here: the reply check starts anew.
          // The same one's reply cursor stays, and the mailbox is marked to send nothing until a reply
          // check has read the replies that came while it was down (catchUpReplies), in this same
          // statement: marked in a later one, a send pass between the two (the MailboxDO's alarm, an edit
          // of the mailbox) found it connected and unmarked and sent follow-ups across unread replies.
          // With no cursor yet there is nothing to catch up on: polling starts from now.
          transportConfig:
            existing.transport !== transport
              ? { account: account.email }
              : sql`CASE WHEN json_extract(${cfg}, '$.history_id') IS NOT NULL OR json_extract(${cfg}, '$.delta_link') IS NOT NULL
                  THEN json_set(${cfg}, '$.release_pending', ${mark}, '$.release_pending_at', ${t}) ELSE ${cfg} END`,
          secretCiphertext: sealed,
          status: "connected",
          statusReason: null,
          updatedAt: t,
        })
        // Not over a removal made since it was read: a removed mailbox never comes back.
        .where(and(eq(mailboxes.id, existing.id), ne(mailboxes.status, "removed")))
        .returning({ config: mailboxes.transportConfig }),
      d.insert(auditLog).values(
        auditEntry(caller, "mailbox.reconnect", "mailbox", existing.id, {
          via: provider,
          ...(existing.transport !== transport && { from_transport: existing.transport }),
        }),
      ),
    ]);
    return { id: existing.id, held: (saved[0]?.config as Record<string, unknown> | undefined)?.release_pending === mark };
  }
  authorize(caller, "mailbox.connect", "You can't connect mailboxes");
  const id = newId();
  // A sign-in of the same address finishing at the same time may have saved it since the look-up above.
  await d
    .batch([
      d.insert(mailboxes).values({
        id,
        teamId: caller.teamId,
        userId: caller.userId,
        email: account.email,
        senderName: account.name || account.email.split("@")[0]!,
        signature: "",
        transport,
        transportConfig: { account: account.email },
        secretCiphertext: sealed,
        dailyLimit: 50,
        hourlyLimit: 20,
        minGapSeconds: 60,
        jitterSeconds: 30,
        status: "connected",
        createdAt: t,
        updatedAt: t,
      }),
      d.insert(auditLog).values(auditEntry(caller, "mailbox.create", "mailbox", id, { email: account.email, transport, via: provider })),
    ])
    .catch((e: unknown) => {
      throw isUniqueViolation(e) ? new ConnectFailed("already_connected") : e;
    });
  return { id, held: false };
}

/** The provider's sign-in URL to send the browser to: for a new mailbox, or to reconnect one the caller manages. */
export async function connectStart(env: Env, d: Db, caller: Caller, provider: Provider, mailboxId: string | undefined): Promise<string> {
  let loginHint: string | undefined;
  if (mailboxId) {
    // Any kind of mailbox: signing in converts one switched away from Gmail / Microsoft 365 back (the
    // callback checks the signed-in address is this mailbox's).
    const mb = await mailboxFor(d, caller, mailboxId, "mailbox.manage");
    loginHint = mb.email;
  } else authorize(caller, "mailbox.connect", "You can't connect mailboxes");
  const cfg = providerConfig(env, provider);
  if (!cfg) {
    const message = notConfiguredMessage(provider, missingConfig(env, provider));
    throw new ApiError("validation_failed", message, { fields: [{ field: "provider", message }] });
  }
  return authorizationUrl(env, cfg, { teamId: caller.teamId, userId: caller.userId, mailboxId: mailboxId ?? null }, loginHint);
}

/**
 * The provider sent the browser back with a code: the connected mailbox's id, or why not as a code
 * (the callback shows it on the Mailboxes screen rather than failing).
 */
export async function connectFinish(
  env: Env,
  d: Db,
  caller: Caller,
  provider: Provider,
  o: { code: string; verifier: string; mailboxId: string | null },
): Promise<{ ok: true; id: string } | { ok: false; code: ConnectError }> {
  const cfg = providerConfig(env, provider);
  if (!cfg) return { ok: false, code: "not_configured" };
  const tokens = await exchangeCode(cfg, o.code, o.verifier);
  // Refused, no offline access, or sending unticked on the consent screen: the words say all three.
  if (!tokens.ok) {
    console.warn(`${PROVIDER_NAME[provider]} refused the sign-in: ${tokens.message}`);
    return { ok: false, code: tokens.notGranted === "read" ? "read_not_granted" : "refused" };
  }
  const account = await signedInAs(cfg, tokens.tokens.accessToken);
  if (!account.ok) {
    console.warn(account.message);
    return { ok: false, code: "verify_failed" };
  }
  let saved: { id: string; held: boolean };
  try {
    saved = await saveMailbox(env, d, caller, provider, o.mailboxId, account, tokens.tokens);
  } catch (e) {
    if (e instanceof ConnectFailed) return { ok: false, code: e.code };
    // Not theirs to reconnect, or members may not connect mailboxes.
    if (e instanceof ApiError && (e.code === "forbidden" || e.code === "not_found")) return { ok: false, code: "not_allowed" };
    throw e;
  }
  const { id, held } = saved;
  // A reconnected mailbox keeps its reply cursor and reads the replies that arrived while it was down
  // before its held emails are released (a follow-up must not cross an unread reply): saveMailbox marked
  // it, and the reply check that reads up to the newest point releases them, in this request or, when a
  // round still running holds the mailbox or the reading fails, on the cron. A new one (or one with no
  // cursor) starts from now and is released here.
  // The mailbox is connected by now: a failure of this reading (logged; the reply check says it on the
  // mailbox and the cron reads again) must not fail the sign-in.
  try {
    if (held) await catchUpReplies(env, d, { id, transport: TRANSPORT_OF[provider] });
    // A start that fails keeps its reason on the mailbox and holds it until a round starts the cursor.
    // Its tokens were just issued: a 401 to them is the grant refusing to read mail, not an expired token.
    else
      await startCursor(env, { id, transport: TRANSPORT_OF[provider] }, cfg.apiUrl, tokens.tokens.accessToken, d, undefined, {
        fresh: true,
      });
  } catch (e) {
    console.error(`mailbox ${id}: reading replies after the sign-in failed`, e);
  }
  if (!held) await engine.mailbox(env, id).refresh();
  return { ok: true, id };
}

/** Runs that still send (or will) from their mailbox; the statuses written out, a fixed list of four parameters. */
const openRun = () => inArray(enrollments.status, ["active", "paused", "held", "scheduled"]);
/** Contacts a removal moves to another mailbox in the request: Change mailbox's inline limit (more run there as a job). */
export const REMOVE_REASSIGN_LIMIT = INLINE_FILTER_MATCHES;

/** The open enrollments sending from a mailbox, by sequence (its name only where the caller may see it). */
async function openUse(d: Db, caller: Caller, mailboxId: string) {
  const seen = visibleSequence(caller, sequences.id);
  return d
    .select({
      id: sequences.id,
      name: seen ? sql<string | null>`CASE WHEN ${seen} THEN ${sequences.name} END` : sequences.name,
      contacts: sql<number>`count(*)`,
    })
    .from(enrollments)
    .innerJoin(sequences, eq(sequences.id, enrollments.sequenceId))
    .where(and(eq(enrollments.teamId, caller.teamId), eq(enrollments.mailboxId, mailboxId), openRun()))
    .groupBy(sequences.id)
    .orderBy(desc(sql`count(*)`), asc(sequences.id));
}

/** Add-contacts jobs not yet done (being planned, scheduled or under way): they enroll their contacts later. */
const UNFINISHED_JOB = sql.raw("('preparing','scheduled','queued','running')");
/** The row of `jobs` (unaliased) names this mailbox among those it sends from. */
const jobNamesMailbox = (mailboxId: string) =>
  sql`EXISTS (SELECT 1 FROM json_each(jobs.options, '$.mailbox_ids') WHERE value = ${mailboxId})`;

/** The unfinished jobs that would send from a mailbox (the id and sequence only where the caller may open the job). */
async function pendingJobs(d: Db, caller: Caller, mailboxId: string) {
  const seen = visibleJob(caller, jobs.id);
  return d
    .select({
      id: sql<string | null>`CASE WHEN ${seen} THEN ${jobs.id} END`,
      status: jobs.status,
      runAt: jobs.runAt,
      sequence: sql<string | null>`CASE WHEN ${seen} THEN ${sequences.name} END`,
    })
    .from(jobs)
    .leftJoin(sequences, eq(sequences.id, jobs.sequenceId))
    .where(and(eq(jobs.teamId, caller.teamId), sql`${jobs.status} IN ${UNFINISHED_JOB}`, jobNamesMailbox(mailboxId)))
    .orderBy(asc(jobs.createdAt), asc(jobs.id));
}

function jobsPending(email: string, pending: Awaited<ReturnType<typeof pendingJobs>>) {
  const named = pending.map((j) =>
    j.id === null
      ? "one you can't see"
      : `“${j.sequence ?? "no sequence"}” (${j.status === "scheduled" && j.runAt !== null ? `scheduled for ${new Date(j.runAt).toISOString().slice(0, 16).replace("T", " ")} UTC` : "under way"}, job ${j.id})`,
  );
  const n = pending.length;
  return new ApiError(
    "mailbox_in_use",
    `${n} add-contacts job${n === 1 ? "" : "s"} still to run send${n === 1 ? "s" : ""} from ${email}: ${named.slice(0, 5).join(", ")}${n > 5 ? `, ${n - 5} more` : ""}; cancel ${n === 1 ? "it" : "them"} (a scheduled add) or wait until ${n === 1 ? "it has" : "they have"} run`,
    {
      jobs: pending.map((j) => ({ id: j.id, status: j.status, run_at: j.runAt, sequence: j.sequence })),
      fix: "Cancel the scheduled add on its job page, or remove the mailbox once the add has run (moving its contacts with reassign_to)",
    },
  );
}

type Use = Awaited<ReturnType<typeof openUse>>;

function inUse(email: string, use: Use) {
  const total = use.reduce((n, s) => n + s.contacts, 0);
  const named = use.filter((s) => s.name !== null).map((s) => `“${s.name}” (${s.contacts.toLocaleString("en-US")})`);
  const hidden = use.length - named.length;
  const where = [
    ...named.slice(0, 5),
    ...(named.length > 5 ? [`${named.length - 5} more`] : []),
    ...(hidden ? [`${hidden} you can't see`] : []),
  ];
  return new ApiError(
    "mailbox_in_use",
    `${total.toLocaleString("en-US")} contact${total === 1 ? "" : "s"} still send${total === 1 ? "s" : ""} from ${email}, in ${where.join(", ")}: pick a mailbox to move them to (reassign_to), or use Change mailbox on those sequences first`,
    {
      enrollments: total,
      sequences: use.map((s) => ({ id: s.name === null ? null : s.id, name: s.name, contacts: s.contacts })),
      fix: "Remove it with reassign_to naming another connected mailbox you may send from, or move the contacts with Change mailbox first",
    },
  );
}

export interface Removal {
  id: string;
  email: string;
  /** Enrollments moved to `reassign_to` first (with their queued emails). */
  moved: number;
  /** Emails still queued on the mailbox that were taken back. */
  withdrawn: number;
  /** Gmail / Microsoft 365: what became of the sign-in at the provider; null for other transports. */
  sign_in: GrantRevocation | null;
}

/**
 * Removes a mailbox for good: its open enrollments move to `reassignTo` first (Change mailbox, per
 * sequence: their queued emails withdrawn here and queued there), or the removal is refused (409) while
 * any still send from it. Then, in one write that holds only while none does: the row is marked removed
 * (kept: the emails it sent name it) and its stored secret deleted; the MailboxDO gives back anything
 * still queued and keeps no alarm; reply polling skips it; a Google grant is revoked at the provider
 * (a failure is logged and said, never undoing the removal).
 */
export async function removeMailbox(env: Env, d: Db, caller: Caller, mailboxId: string, reassignTo?: string): Promise<Removal> {
  const mb = await mailboxFor(d, caller, mailboxId, "mailbox.manage");
  const field = (message: string) => new ApiError("validation_failed", message, { fields: [{ field: "reassign_to", message }] });
  // The target is checked whether or not anyone is left to move: a wrong one is said, not ignored.
  const target =
    reassignTo === undefined
      ? null
      : await mailboxFor(d, caller, reassignTo, "mailbox.send").catch((e: unknown) => {
          throw e instanceof ApiError ? field(e.code === "not_found" ? "No such mailbox in your team" : e.message) : e;
        });
  if (target?.id === mb.id) throw field("Pick another mailbox than the one being removed");
  if (target && target.status !== "connected")
    throw field(`${target.email} is ${target.status.replace(/_/g, " ")}: pick a connected mailbox, or reconnect it first`);
  // Before anything moves: a job still to run would enroll its contacts here once the mailbox is gone.
  const pending = await pendingJobs(d, caller, mb.id);
  if (pending.length) throw jobsPending(mb.email, pending);
  let use = await openUse(d, caller, mb.id);
  let moved = 0;
  if (use.length && target) {
    const total = use.reduce((n, s) => n + s.contacts, 0);
    if (total > REMOVE_REASSIGN_LIMIT)
      throw field(
        `${total.toLocaleString("en-US")} contacts send from ${mb.email}: a removal moves at most ${REMOVE_REASSIGN_LIMIT.toLocaleString("en-US")}; move them with Change mailbox on their sequences first (more than ${REMOVE_REASSIGN_LIMIT.toLocaleString("en-US")} run there as a job)`,
      );
    // Every sequence is checked (the caller must be able to edit each) before any contact moves.
    const preps = await Promise.all(use.map((s) => prepareAction(d, caller, s.id, "change-mailbox", { mailbox_id: target.id })));
    for (const prep of preps) {
      const rows = await d
        .select({ id: enrollments.id, status: enrollments.status, contact_id: enrollments.contactId })
        .from(enrollments)
        .where(
          and(eq(enrollments.teamId, caller.teamId), eq(enrollments.sequenceId, prep.seq.id), eq(enrollments.mailboxId, mb.id), openRun()),
        );
      const out = await actOnPage(env, d, caller, prep, "change-mailbox", rows, { mailbox_id: target.id });
      moved += out.results.filter((r) => r.changed).length;
    }
    use = await openUse(d, caller, mb.id);
  }
  if (use.length) throw inUse(mb.email, use);
  const t = now();
  const entry = auditEntry(caller, "mailbox.remove", "mailbox", mb.id, {
    email: mb.email,
    transport: mb.transport,
    ...(reassignTo !== undefined && { reassign_to: reassignTo, moved }),
  });
  const [write] = await batchSql(d, [
    // Refused in the write itself if a contact was given this mailbox, or a job committed with it, since the looks above.
    d
      .update(mailboxes)
      .set({ status: "removed", statusReason: "Removed by a user", secretCiphertext: null, updatedAt: t })
      .where(
        and(
          eq(mailboxes.id, mb.id),
          ne(mailboxes.status, "removed"),
          sql`NOT EXISTS (SELECT 1 FROM ${enrollments} WHERE ${enrollments.mailboxId} = ${mb.id} AND ${enrollments.teamId} = ${caller.teamId} AND ${openRun()})`,
          sql`NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.team_id = ${caller.teamId} AND jobs.status IN ${UNFINISHED_JOB} AND ${jobNamesMailbox(mb.id)})`,
        ),
      )
      .returning({ id: mailboxes.id }),
    // Its audit entry in the same transaction, only when this update removed it: a removal is never unrecorded.
    sql`INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
      SELECT ${entry.id}, ${entry.teamId}, ${entry.userId}, ${entry.apiKeyId}, ${entry.action}, 'mailbox', ${mb.id}, ${JSON.stringify(entry.details)}, ${t}
      WHERE changes() = 1 AND EXISTS (SELECT 1 FROM mailboxes WHERE id = ${mb.id} AND status = 'removed' AND updated_at = ${t})`,
  ]);
  if (!write?.results?.length) {
    const now_ = await openUse(d, caller, mb.id);
    if (now_.length) throw inUse(mb.email, now_);
    const jobsNow = await pendingJobs(d, caller, mb.id);
    if (jobsNow.length) throw jobsPending(mb.email, jobsNow);
    throw notFound("Mailbox"); // removed by another request meanwhile
  }
  const withdrawn = (await engine.mailbox(env, mb.id).close()).length;
  const signIn = isOAuthTransport(mb.transport) ? await revokeGrant(env, mb.transport, mb.secretCiphertext) : null;
  const removal = { id: mb.id, email: mb.email, moved, withdrawn, sign_in: signIn };
  await d.insert(auditLog).values(removalFinished(caller, mb.transport, removal));
  return removal;
}

/**
 * The second audit entry of every removal, the same for each transport (`mailbox.remove_finished`): what
 * only the steps after the removal's write know, the emails the MailboxDO gave back (`withdrawn`) and, for
 * Gmail / Microsoft 365, what the provider said about the sign-in (`sign_in`; a grant Google didn't revoke
 * is one to end by hand), with the rest of the removal's answer. `mailbox.remove` is written in the
 * removal's own transaction, so a removal is recorded even if what follows it fails.
 */
function removalFinished(caller: Caller, transport: string, r: Removal) {
  const { id, ...details } = r;
  return auditEntry(caller, "mailbox.remove_finished", "mailbox", id, { ...details, transport });
}
