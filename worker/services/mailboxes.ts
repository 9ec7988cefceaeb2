import { and, asc, eq, isNull, ne, sql } from "drizzle-orm";
import { inList } from "../db/in-list";
import { batchSql, isUniqueViolation, type Db } from "../db/client";
import { auditLog, contacts, mailboxes, messages, users } from "../db/schema";
import { blockingReason, loadContactStates } from "../../durable-objects/eligibility";
import { reasonText, type ReasonCode } from "../../durable-objects/engine-types";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { suppressionMatches, suppressionWords } from "./suppressions";
import { newId } from "../lib/ids";
import { seal } from "../lib/seal";
import { engine } from "../../durable-objects/engine";
import { OUTBOX_REFUSED, outboxAllowed, transportFor } from "../transports";
import type { SendResult } from "../transports/types";
import { authorize, mailboxAllows, mailboxFor, teamUser } from "./access";
import { auditEntry } from "./audit";
import { loadMailbox, replyCheckMark, type MailboxSettings } from "../transports/mailbox-settings";
import { isOAuthTransport } from "./mailbox-auth";
import { privateHostProblem } from "../lib/private-host";
import { savedPassword, UNREADABLE_PASSWORD, verifyMailbox, verifySmtp } from "./mailbox-verify";
import { buildMessage } from "./mime";
import { appSecret } from "./secrets";

/**
 * Mailboxes' settings in D1: the one module that reads and writes the `mailboxes` rows for the /api
 * routes and the Apollo facade, and tells the mailbox's MailboxDO when they change (the send ledger
 * and capacity belong to the MailboxDO).
 */

export type MailboxRow = typeof mailboxes.$inferSelect;
export type Transport = MailboxRow["transport"];

export interface SmtpInput {
  host: string;
  port: number;
  security: "tls" | "starttls" | "none";
  username?: string;
  password?: string;
}

export interface MailboxLimits {
  daily_limit?: number;
  hourly_limit?: number;
  min_gap_seconds?: number;
  jitter_seconds?: number;
}

export interface NewMailbox extends MailboxLimits {
  email: string;
  sender_name: string;
  signature: string;
  /** Unset: outbox where that is allowed (local, tests); a deployment requires a choice. */
  transport?: Transport;
  smtp?: SmtpInput;
  user_id?: string;
}

export interface MailboxPatch extends MailboxLimits {
  sender_name?: string;
  signature?: string;
  transport?: Transport;
  smtp?: Partial<SmtpInput>;
  user_id?: string;
}

/** The team's mailboxes by address (a removed one is not listed anywhere: screens, pickers, the Apollo facade). */
export function listMailboxes(d: Db, teamId: string): Promise<MailboxRow[]> {
  return d
    .select()
    .from(mailboxes)
    .where(and(eq(mailboxes.teamId, teamId), ne(mailboxes.status, "removed")))
    .orderBy(asc(mailboxes.email));
}

/** Owners' names of these mailboxes, by user id (one query for a whole list). */
export async function ownerNames(d: Db, teamId: string, rows: readonly MailboxRow[]): Promise<Map<string, string>> {
  const ids = [...new Set(rows.map((r) => r.userId))];
  if (!ids.length) return new Map();
  const found = await d
    .select({ id: users.id, name: users.name })
    .from(users)
    .where(and(eq(users.teamId, teamId), inList(users.id, ids)));
  return new Map(found.map((u) => [u.id, u.name]));
}

const reload = async (d: Db, id: string) => (await d.query.mailboxes.findFirst({ where: eq(mailboxes.id, id) }))!;

/** An hourly limit above the daily one can never be reached: refuse it, naming the field the caller changed. */
function checkLimits(daily: number, hourly: number, changed: MailboxLimits) {
  if (hourly <= daily) return;
  const field = changed.hourly_limit !== undefined || changed.daily_limit === undefined ? "hourly_limit" : "daily_limit";
  const message =
    field === "hourly_limit"
      ? `Hourly limit can't be more than the daily limit (${daily.toLocaleString("en-US")})`
      : `Daily limit can't be less than the hourly limit (${hourly.toLocaleString("en-US")})`;
  throw new ApiError("validation_failed", message, { fields: [{ field, message }] });
}

const signInInstead = (t: "gmail" | "graph") =>
  new ApiError(
    "validation_failed",
    `${t === "gmail" ? "Gmail" : "Microsoft 365"} mailboxes are connected by signing in: use "Connect ${t === "gmail" ? "Gmail" : "Microsoft 365"}" on the Mailboxes screen (POST /api/oauth/${t === "gmail" ? "google" : "microsoft"}/start)`,
    {
      fields: [{ field: "transport", message: "Connect it by signing in" }],
    },
  );

/**
 * Verify on connect: SMTP settings that don't connect, negotiate TLS and sign in are refused (422), in words.
 * A host on this machine or a private network is refused first, naming smtp.host, with nothing connected
 * (connecting tells the caller how the far end answered). Only the tests (APP_ENV=test) connect to their
 * local SMTP servers.
 */
async function mustConnect(env: Pick<Env, "APP_ENV">, cfg: Parameters<typeof verifySmtp>[0]) {
  const problem = env.APP_ENV === "test" ? undefined : privateHostProblem(cfg.host);
  if (problem) throw new ApiError("validation_failed", problem, { fields: [{ field: "smtp.host", message: problem }] });
  const v = await verifySmtp(cfg);
  if (!v.ok) throw new ApiError("validation_failed", v.message, { fields: [{ field: "smtp", message: v.message }] });
}

const outboxRefused = () =>
  new ApiError("validation_failed", OUTBOX_REFUSED, { fields: [{ field: "transport", message: OUTBOX_REFUSED }] });

/** Connect a mailbox (outbox locally, SMTP after a live check, or Cloudflare send_email). */
export async function createMailbox(env: Env, d: Db, caller: Caller, input: NewMailbox): Promise<MailboxRow> {
  // Deployed, no transport is picked for the caller: the outbox would take every email and send none.
  if (input.transport === undefined && !outboxAllowed(env)) {
    const message = "Choose how this mailbox sends: smtp or send_email (Gmail / Microsoft 365 are connected by signing in)";
    throw new ApiError("validation_failed", message, { fields: [{ field: "transport", message }] });
  }
  const body = { ...input, transport: input.transport ?? ("outbox" as const) };
  if (body.transport === "outbox" && !outboxAllowed(env)) throw outboxRefused();
  if (body.transport === "smtp" && !body.smtp)
    throw new ApiError("validation_failed", "SMTP settings are required", {
      fields: [{ field: "smtp", message: "Give host, port and security" }],
    });
  if (isOAuthTransport(body.transport)) throw signInInstead(body.transport);
  authorize(caller, "mailbox.connect", "You can't connect mailboxes");
  if (body.user_id !== undefined && body.user_id !== caller.userId) {
    authorize(caller, "mailbox.manage", "Only admins add mailboxes for other users");
    await teamUser(d, caller, body.user_id, "user_id");
  }
  const dailyLimit = body.daily_limit ?? 50;
  const hourlyLimit = body.hourly_limit ?? Math.min(20, dailyLimit);
  checkLimits(dailyLimit, hourlyLimit, body);
  const clash = await d.query.mailboxes.findFirst({
    columns: { id: true },
    // A removed mailbox no longer holds its address: it may be connected again.
    where: and(eq(mailboxes.teamId, caller.teamId), eq(mailboxes.email, body.email), ne(mailboxes.status, "removed")),
  });
  if (clash) throw alreadyConnected();
  const id = newId();
  const t = now();
  const { password, ...smtp } = body.smtp ?? ({} as Partial<SmtpInput>);
  if (body.transport === "smtp")
    await mustConnect(env, { ...(smtp as Omit<SmtpInput, "password">), password, heloName: body.email.split("@")[1] });
  if (body.transport === "send_email") {
    if (!env.EMAIL) throw sendEmailUnbound();
    await mustBeTeamDomain(d, caller.teamId, body.email);
  }
  // The check above ran before the slow SMTP check: a create of the same address at the same time
  // can have saved it since, which the (team, email) unique index tells.
  await d
    .batch([
      d.insert(mailboxes).values({
        id,
        teamId: caller.teamId,
        userId: body.user_id ?? caller.userId,
        email: body.email,
        senderName: body.sender_name,
        signature: body.signature,
        transport: body.transport,
        transportConfig: body.transport === "smtp" ? smtp : {},
        secretCiphertext: password ? await seal(appSecret(env), password) : null,
        dailyLimit,
        hourlyLimit,
        minGapSeconds: body.min_gap_seconds ?? 60,
        jitterSeconds: body.jitter_seconds ?? 30,
        status: "connected",
        createdAt: t,
        updatedAt: t,
      }),
      d.insert(auditLog).values(auditEntry(caller, "mailbox.create", "mailbox", id, { email: body.email, transport: body.transport })),
    ])
    .catch((e: unknown) => {
      throw isUniqueViolation(e) ? alreadyConnected() : e;
    });
  return reload(d, id);
}

/**
 * Cloudflare Email sends from any address the Worker's binding allows, with no sign-in to prove the
 * address is the team's: a send_email mailbox must be on a domain one of the team's active users signs
 * in with, so a team can't send as another company.
 */
async function mustBeTeamDomain(d: Db, teamId: string, email: string) {
  const domain = email.split("@")[1]!.toLowerCase();
  const user = await d
    .select({ id: users.id })
    .from(users)
    .where(
      and(
        eq(users.teamId, teamId),
        isNull(users.disabledAt),
        sql`lower(substr(${users.email}, instr(${users.email}, '@') + 1)) = ${domain}`,
      ),
    )
    .get();
  if (user) return;
  const message = `Cloudflare Email sends only from your team's own domains: ${domain} is not the domain of any active member's sign-in address`;
  throw new ApiError("validation_failed", message, { fields: [{ field: "email", message }] });
}

const alreadyConnected = () =>
  new ApiError("validation_failed", "This mailbox is already connected", {
    fields: [{ field: "email", message: "Already connected; reconnect it instead" }],
  });

const sendEmailUnbound = () =>
  new ApiError("validation_failed", "The send_email binding EMAIL is not configured for this Worker", {
    fields: [{ field: "transport", message: "Not available on this deployment" }],
  });

/** Whether a patch names another host, port, security or username than the saved SMTP settings. */
function smtpServerChanged(saved: Partial<SmtpInput>, patch: Partial<SmtpInput>): boolean {
  return (["host", "port", "security", "username"] as const).some((k) => patch[k] !== undefined && patch[k] !== saved[k]);
}

/** What a saved change leaves to do elsewhere, named by the field that caused it. */
export type MailboxWarning = { field: string; message: string };

/**
 * The workflows a mailbox's new owner breaks: an active workflow sends as its owner, and only the
 * mailbox's user or an admin may send from it, so one owned by another member that lists this mailbox
 * fails mailbox.send ("forbidden") at its next run and turns off. Admins' workflows keep sending.
 */
async function ownerMoveWarnings(d: Db, teamId: string, mailboxId: string, newOwner: string): Promise<MailboxWarning[]> {
  const rows = await d.all<{ name: string; owner: string }>(sql`
    SELECT w.name, u.name AS owner FROM workflows w JOIN users u ON u.id = w.owner_id AND u.team_id = w.team_id
    WHERE w.team_id = ${teamId} AND w.active = 1 AND w.owner_id <> ${newOwner} AND u.role <> 'admin'
      AND EXISTS (SELECT 1 FROM json_each(w.options, '$.mailbox_ids') WHERE value = ${mailboxId})
    ORDER BY w.name, w.id`);
  return rows.map((w) => ({
    field: "user_id",
    message: `“${w.name}” (owned by ${w.owner}) sends from this mailbox and will turn off at its next run: give it another mailbox or a new owner`,
  }));
}

/**
 * Change sender, signature, limits or transport settings (new SMTP settings must connect first); the MailboxDO re-reads them.
 * Answers the mailbox and, when it was given to someone else, the workflows that will stop sending from it.
 */
export async function updateMailbox(
  env: Env,
  d: Db,
  caller: Caller,
  mailboxId: string,
  body: MailboxPatch,
): Promise<{ mailbox: MailboxRow; warnings: MailboxWarning[] }> {
  const r = await mailboxFor(d, caller, mailboxId, "mailbox.manage");
  // Given to another user (admins only, as when connecting one for them): a disabled user's mailbox had no way
  // to a new owner. Only the row's user_id moves; what that changes is in the README (Mailboxes).
  const newOwner = body.user_id !== undefined && body.user_id !== r.userId ? body.user_id : null;
  if (newOwner) {
    authorize(caller, "mailbox.manage", "Only an admin can give a mailbox to someone else");
    await teamUser(d, caller, newOwner, "user_id");
  }
  checkLimits(body.daily_limit ?? r.dailyLimit, body.hourly_limit ?? r.hourlyLimit, body);
  const { password, ...smtp } = body.smtp ?? {};
  const transport = body.transport ?? r.transport;
  if (isOAuthTransport(transport) && transport !== r.transport) throw signInInstead(transport);
  // Naming the outbox is refused on a deployment, even for a mailbox already on it (saved before this
  // was refused): it sends nothing there, so only a real transport is saved.
  if (body.transport === "outbox" && !outboxAllowed(env)) throw outboxRefused();
  // gmail / graph keep their reply-polling cursor; SMTP merges the changed settings.
  const config =
    transport === "smtp"
      ? { ...(r.transport === "smtp" ? r.transportConfig : {}), ...smtp }
      : transport === r.transport
        ? r.transportConfig
        : {};
  // Switching to SMTP starts from no settings: each one the connection needs must be given (a missing
  // `security` would otherwise connect in plain text while the screen showed the default).
  const missing = (["host", "port", "security"] as const).filter((k) => (config as Record<string, unknown>)[k] === undefined);
  if (transport === "smtp" && missing.length)
    throw new ApiError("validation_failed", "SMTP settings are required", {
      fields: missing.map((k) => ({ field: `smtp.${k}`, message: "Required" })),
    });
  if (transport === "send_email" && r.transport !== "send_email") {
    if (!env.EMAIL) throw sendEmailUnbound();
    await mustBeTeamDomain(d, caller.teamId, r.email);
  }
  if (transport === "smtp" && (body.smtp !== undefined || r.transport !== "smtp")) {
    // The saved password belongs to the server and account it was saved for: anyone who may edit the
    // mailbox could otherwise point it at their own host and receive the password in AUTH.
    const keepsServer = r.transport === "smtp" && !smtpServerChanged(r.transportConfig as Partial<SmtpInput>, smtp);
    if (password === undefined && r.transport === "smtp" && r.secretCiphertext && !keepsServer) {
      const message =
        "You changed the server or account: enter the password again (the saved one is only sent to the server it was saved for)";
      throw new ApiError("validation_failed", message, { fields: [{ field: "smtp.password", message }] });
    }
    // Verify on change: the new settings must connect before they replace the old ones.
    let stored: string | undefined;
    if (password === undefined && keepsServer && r.secretCiphertext) {
      const saved = await savedPassword(env, r.secretCiphertext);
      if (saved === null)
        throw new ApiError("validation_failed", UNREADABLE_PASSWORD, {
          fields: [{ field: "smtp.password", message: UNREADABLE_PASSWORD }],
        });
      stored = saved;
    }
    await mustConnect(env, { ...(config as Omit<SmtpInput, "password">), password: password || stored, heloName: r.email.split("@")[1] });
  }
  // Only what the patch changes is written. transport_config also holds a Gmail / Graph mailbox's
  // reply-poll cursor and lease, which each poll round moves with json_set: writing back the whole copy
  // read above (for a sender-name edit, say) rolled a round's cursor back. Changed SMTP settings are
  // json_set key by key; a new transport starts a new config, written whole, only over the transport
  // it was read from.
  const changesTransport = transport !== r.transport;
  const savedConfig = r.transportConfig as Record<string, unknown>;
  const smtpKeys =
    transport === "smtp" && !changesTransport
      ? (Object.keys(smtp) as (keyof typeof smtp)[]).filter((k) => smtp[k] !== undefined && smtp[k] !== savedConfig[k])
      : [];
  const t = now();
  const entry = auditEntry(caller, "mailbox.update", "mailbox", r.id, {
    ...body,
    smtp: body.smtp ? { ...smtp, password: password ? "(changed)" : undefined } : undefined,
    ...(newOwner && { previous_user_id: r.userId }),
  });
  const [updated] = await batchSql(d, [
    d
      .update(mailboxes)
      .set({
        ...(body.sender_name !== undefined && { senderName: body.sender_name }),
        ...(body.signature !== undefined && { signature: body.signature }),
        ...(body.daily_limit !== undefined && { dailyLimit: body.daily_limit }),
        ...(body.hourly_limit !== undefined && { hourlyLimit: body.hourly_limit }),
        ...(body.min_gap_seconds !== undefined && { minGapSeconds: body.min_gap_seconds }),
        ...(body.jitter_seconds !== undefined && { jitterSeconds: body.jitter_seconds }),
        ...(newOwner && { userId: newOwner }),
        ...(changesTransport && { transport, transportConfig: config }),
        ...(smtpKeys.length > 0 && {
          transportConfig: sql`json_set(${mailboxes.transportConfig}, ${sql.join(
            smtpKeys.map((k) => sql`${`$.${k}`}, ${smtp[k]}`),
            sql`, `,
          )})`,
        }),
        // A new transport never inherits the old one's secret: a Gmail mailbox's sealed tokens must not
        // become an SMTP password sent to whatever host the new settings name.
        ...((password !== undefined || changesTransport) && {
          secretCiphertext: password ? await seal(appSecret(env), password) : null,
        }),
        updatedAt: t,
      })
      // Not over a removal made since the read (a sealed password would land on the removed row), nor
      // over another transport saved meanwhile (a sign-in's tokens would become this patch's settings).
      .where(and(eq(mailboxes.id, r.id), ne(mailboxes.status, "removed"), eq(mailboxes.transport, r.transport))),
    // Audited only when the update above took effect (same batch: the row as it left it).
    sql`INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
      SELECT ${entry.id}, ${entry.teamId}, ${entry.userId}, ${entry.apiKeyId}, ${entry.action}, ${entry.targetType}, ${entry.targetId},
        ${JSON.stringify(entry.details)}, ${entry.createdAt}
      WHERE EXISTS (SELECT 1 FROM mailboxes WHERE id = ${r.id} AND status <> 'removed' AND transport = ${transport} AND updated_at = ${t})`,
  ]);
  if (!updated?.meta.changes) {
    const current = await d.select({ status: mailboxes.status }).from(mailboxes).where(eq(mailboxes.id, r.id)).get();
    if (!current || current.status === "removed")
      throw new ApiError("conflict", "This mailbox was removed while you were editing it: nothing was saved");
    throw new ApiError(
      "conflict",
      "This mailbox was connected another way while you were editing it: reload it and make your change again",
    );
  }
  await engine.mailbox(env, r.id).refresh();
  return {
    mailbox: await reload(d, r.id),
    warnings: newOwner ? await ownerMoveWarnings(d, caller.teamId, r.id, newOwner) : [],
  };
}

/** Disconnect or reconnect; the MailboxDO re-plans at once (held emails resume on reconnect). */
export async function setMailboxStatus(
  env: Env,
  d: Db,
  caller: Caller,
  mailboxId: string,
  status: "connected" | "disconnected",
  reason: string | null,
  action: string,
): Promise<MailboxRow> {
  const r = await mailboxFor(d, caller, mailboxId, "mailbox.manage");
  if (status === "connected") {
    // Verify on reconnect too: a mailbox joins rotation only once it has shown it can send.
    const v = await verifyMailbox(env, (await loadMailbox(d, r.id))!);
    if (!v.ok) throw new ApiError("validation_failed", v.message, { fields: [{ field: "transport", message: v.message }] });
  }
  await d.batch([
    // Not over a removal made since the check above: a removed mailbox never comes back.
    d
      .update(mailboxes)
      .set({ status, statusReason: reason, updatedAt: now() })
      .where(and(eq(mailboxes.id, r.id), ne(mailboxes.status, "removed"))),
    d.insert(auditLog).values(auditEntry(caller, action, "mailbox", r.id)),
  ]);
  await engine.mailbox(env, r.id).refresh();
  return reload(d, r.id);
}

/**
 * The way out of a reconnect's hold whose reply check keeps failing (a team admin's, after confirming):
 * the mailbox sends its held emails without waiting for the check to read the inbox. The check itself
 * goes on every minute; a reply that came while the mailbox was down is applied when it is read, so a
 * follow-up that goes before then may reach someone who replied (the screen says so before asking).
 * The MailboxDO is released with the mark first (as a check that caught up does, releaseHeld), then the
 * mark is cleared, only if no later reconnect replaced it; a failure between the two leaves the mark to
 * be cleared by trying again (a second release changes nothing).
 */
export async function sendWithoutReplyCheck(env: Env, d: Db, caller: Caller, mailboxId: string): Promise<MailboxRow> {
  const r = await mailboxFor(d, caller, mailboxId, "mailbox.manage");
  if (caller.role !== "admin")
    throw new ApiError(
      "forbidden",
      "Only a team admin can let a mailbox send without waiting for its reply check: its follow-ups may reach people who replied",
    );
  const cfg = (r.transportConfig ?? {}) as { release_pending_at?: number; poll_error?: string | null };
  const mark = replyCheckMark(r.transport, r.transportConfig);
  if (r.status !== "connected" || mark === null)
    throw new ApiError("conflict", `${r.email} is not waiting for a reply check: nothing is held for one`);
  await engine.mailbox(env, r.id).refresh(mark);
  await d.batch([
    d
      .update(mailboxes)
      // With no cursor yet (its start keeps failing), the waiver is kept (reply_check_waived_at): the next
      // round's failed start would otherwise hold the mailbox again within a minute (startCursor).
      .set({
        transportConfig: sql`CASE WHEN json_extract(${mailboxes.transportConfig}, '$.history_id') IS NULL AND json_extract(${mailboxes.transportConfig}, '$.delta_link') IS NULL
          THEN json_set(json_remove(${mailboxes.transportConfig}, '$.release_pending', '$.release_pending_at'), '$.reply_check_waived_at', ${now()})
          ELSE json_remove(${mailboxes.transportConfig}, '$.release_pending', '$.release_pending_at') END`,
      })
      .where(and(eq(mailboxes.id, r.id), sql`json_extract(${mailboxes.transportConfig}, '$.release_pending') = ${mark}`)),
    d.insert(auditLog).values(
      auditEntry(caller, "mailbox.send_without_reply_check", "mailbox", r.id, {
        held_since: cfg.release_pending_at ?? null,
        reply_check_error: cfg.poll_error ?? null,
      }),
    ),
  ]);
  return reload(d, r.id);
}

export type TestResult =
  { ok: true; message: string; kind: null; code: null } | { ok: false; message: string; kind: string; code: string | null };

/** Test emails a mailbox may send in any rolling hour. */
export const TEST_EMAILS_PER_HOUR = 10;
const HOUR_MS = 3_600_000;

/**
 * A test email checks the mailbox, outside every sequence's limits, so it may only go to the mailbox
 * itself or to an active user of the team: it must never be a way to mail strangers.
 */
async function mustBeTeamAddress(d: Db, teamId: string, mailboxEmail: string, to: string) {
  if (to === mailboxEmail.toLowerCase()) return;
  const user = await d
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.teamId, teamId), sql`lower(${users.email}) = ${to}`, isNull(users.disabledAt)))
    .get();
  if (user) return;
  const message = "A test email goes only to this mailbox's own address or to an active member of your team";
  throw new ApiError("validation_failed", message, { fields: [{ field: "to", message }] });
}

/**
 * Records a test email as "sending" only while the mailbox has sent fewer than TEST_EMAILS_PER_HOUR
 * tests in the last hour: the count and the insert are one statement, so concurrent tests can't all
 * pass the check. Beyond it: 429, with retry-after the time until the oldest test leaves the window.
 */
async function reserveTestEmail(d: Db, row: typeof messages.$inferInsert) {
  const since = row.scheduledAt! - HOUR_MS;
  const recent = sql`FROM ${messages} WHERE ${messages.mailboxId} = ${row.mailboxId} AND ${messages.status} IN ('sending', 'sent', 'failed', 'unknown', 'bounced') AND ${messages.scheduledAt} > ${since} AND ${messages.stepId} LIKE 'test:%'`;
  const res =
    await d.run(sql`INSERT INTO ${messages} (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, raw, status, scheduled_at, sent_at, created_at)
    SELECT ${row.id}, ${row.teamId}, ${row.enrollmentId}, '', ${row.stepId}, ${row.mailboxId}, '', ${row.toEmail}, ${row.subject}, ${row.body}, ${row.messageIdHeader}, ${row.raw}, 'sending', ${row.scheduledAt}, ${row.sentAt}, ${row.createdAt}
    WHERE (SELECT count(*) ${recent}) < ${TEST_EMAILS_PER_HOUR}`);
  if (res.meta.changes) return;
  const oldest = await d.get<{ t: number | null }>(sql`SELECT min(${messages.scheduledAt}) AS t ${recent}`);
  const retryAfter = Math.max(1, Math.ceil(((oldest?.t ?? row.scheduledAt!) + HOUR_MS - row.scheduledAt!) / 1000));
  throw new ApiError(
    "rate_limited",
    `A mailbox sends at most ${TEST_EMAILS_PER_HOUR} test emails an hour: try again in ${Math.ceil(retryAfter / 60)} min`,
    { retry_after: retryAfter },
    429,
    { "retry-after": String(retryAfter) },
  );
}

/**
 * Why the send path would refuse this address (invariant 5), through its own check of a contact:
 * a live contact with it in a Do Not Contact stage, unsubscribed or bounced has no suppression row.
 */
async function contactBlock(d: Db, teamId: string, to: string): Promise<ReasonCode | null> {
  const ids = await d
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.teamId, teamId), sql`lower(${contacts.email}) = ${to}`, isNull(contacts.deletedAt)));
  for (const c of (
    await loadContactStates(
      d,
      teamId,
      ids.map((r) => r.id),
    )
  ).values()) {
    const reason = blockingReason(c, true);
    if (reason) return reason;
  }
  return null;
}

/** A test email through the mailbox's transport (not counted against its limits; shown in the Outbox). */
export async function sendTestEmail(env: Env, d: Db, caller: Caller, mailboxId: string, toAddress: string): Promise<TestResult> {
  return sendTestMessage(env, d, caller, mailboxId, toAddress, (mb, to, messageId, t) => {
    const subject = `Seqflare test email from ${mb.senderName}`;
    const text = `This is a test email from Seqflare, sent through ${mb.email} (${mb.transport}).\nIf you can read this, the mailbox is ready to send.`;
    const raw = buildMessage({
      from: { email: mb.email, name: mb.senderName },
      to: { email: to },
      subject,
      text,
      messageId,
      date: t,
      unsubscribeUrl: "",
      postalAddress: "",
      signature: mb.signature,
    });
    return { subject, text, raw };
  });
}

/** A test email's content, built once its address, Message-ID and time are known. */
export interface TestMessage {
  subject: string;
  /** What the Outbox shows as its body. */
  text: string;
  raw: string;
}

/**
 * The test-email path: the caller's right to test the mailbox (mailbox.manage), an address of the mailbox or an
 * active member of the team that is not suppressed nor blocked, at most TEST_EMAILS_PER_HOUR an hour, recorded
 * as a test email (no sequence, enrollment or contact: no report, run or timeline counts it) and sent through
 * the mailbox's transport. The mailbox's own test and a sequence step's test (step-preview.ts) differ only in
 * what `build` writes.
 */
export async function sendTestMessage(
  env: Env,
  d: Db,
  caller: Caller,
  mailboxId: string,
  toAddress: string,
  build: (mb: MailboxSettings, to: string, messageId: string, at: number) => TestMessage | Promise<TestMessage>,
): Promise<TestResult> {
  const r = await mailboxFor(d, caller, mailboxId, "mailbox.manage");
  const to = toAddress.trim().toLowerCase();
  await mustBeTeamAddress(d, caller.teamId, r.email, to);
  // Not even a test goes to an address that opted out or bounced (invariant 5; another bounce costs the
  // mailbox's reputation).
  const suppressed = (await suppressionMatches(d, caller.teamId, [to])).get(to);
  if (suppressed) {
    const message = `${suppressionWords(suppressed)}: no email is sent to it, a test included`;
    throw new ApiError("validation_failed", message, {
      fields: [{ field: "to", message, code: "suppressed", reason: suppressed.reason }],
    });
  }
  const blocked = await contactBlock(d, caller.teamId, to);
  if (blocked) {
    const message = `${reasonText(blocked)}: no email is sent to this address, a test included`;
    throw new ApiError("validation_failed", message, { fields: [{ field: "to", message, code: "blocked", reason: blocked }] });
  }
  const mb = (await loadMailbox(d, r.id))!;
  // The transport is built before anything is recorded: a mailbox that can't be used (an SMTP password that
  // no longer unseals, after APP_SECRET changed) sends nothing, so the test says why and the Outbox shows no
  // row that "may have been sent" (the send's catch below is for a send that may have reached the server).
  let transport: Awaited<ReturnType<typeof transportFor>>;
  try {
    transport = await transportFor(env, mb);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).slice(0, 300);
    return {
      ok: false,
      message: `Nothing was sent: Seqflare can't use this mailbox's saved settings (${why}). Enter its password again, or reconnect it.`,
      kind: "sender",
      code: null,
    };
  }
  const id = newId();
  const t = now();
  const messageId = `<sf.test.${id}@${mb.email.split("@")[1]}>`;
  const { subject, text, raw } = await build(mb, to, messageId, t);
  // Test emails show in the Outbox too (no sequence, no enrollment).
  await reserveTestEmail(d, {
    id,
    teamId: caller.teamId,
    enrollmentId: `test:${id}`,
    sequenceId: "",
    stepId: `test:${id}`,
    mailboxId: mb.id,
    contactId: "",
    toEmail: to,
    subject,
    body: text,
    messageIdHeader: messageId,
    raw,
    status: "sending",
    scheduledAt: t,
    sentAt: t,
    createdAt: t,
  });
  const settle = (status: "sent" | "failed" | "unknown", error: string | null) =>
    d.update(messages).set({ status, error }).where(eq(messages.id, id));
  let res: SendResult;
  try {
    res = await transport.send({ from: { email: mb.email, name: mb.senderName }, to, raw, messageId });
  } catch (e) {
    // The server may have taken it: the Outbox says so rather than showing it "sending" for ever.
    await settle("unknown", (e instanceof Error ? e.message : String(e)).slice(0, 500));
    throw e;
  }
  await settle(res.ok ? "sent" : "failed", res.ok ? null : res.message);
  return res.ok
    ? { ok: true, message: res.response ?? "Sent", kind: null, code: null }
    : { ok: false, message: res.message, kind: res.kind, code: res.code ?? null };
}

/** The caller's view of a mailbox: its settings (never its secret), who may change or send from it, and its capacity: the limits from the row, their use from the MailboxDO. */
export async function mailboxView(env: Env, caller: Caller, r: MailboxRow, ownerName: string | null) {
  const cap = await engine.mailbox(env, r.id).usage();
  const cfg = r.transportConfig as {
    host?: string;
    port?: number;
    security?: "tls" | "starttls" | "none";
    username?: string;
    polled_at?: number | null;
    poll_error?: string | null;
    release_pending_at?: number;
  };
  return {
    id: r.id,
    user_id: r.userId,
    owner_name: ownerName,
    can_edit: mailboxAllows(caller, "mailbox.manage", r.userId),
    can_send: mailboxAllows(caller, "mailbox.send", r.userId),
    email: r.email,
    sender_name: r.senderName,
    signature: r.signature,
    transport: r.transport,
    smtp:
      r.transport === "smtp" && cfg.host
        ? {
            host: cfg.host,
            port: cfg.port ?? 587,
            security: cfg.security ?? "starttls",
            username: cfg.username ?? null,
            has_password: !!r.secretCiphertext,
          }
        : null,
    daily_limit: r.dailyLimit,
    hourly_limit: r.hourlyLimit,
    min_gap_seconds: r.minGapSeconds,
    jitter_seconds: r.jitterSeconds,
    // Never "removed": mailboxFor and listMailboxes leave removed mailboxes out, so none is viewed.
    status: r.status as Exclude<MailboxRow["status"], "removed">,
    status_reason: r.statusReason,
    reply_check: isOAuthTransport(r.transport) ? { checked_at: cfg.polled_at ?? null, error: cfg.poll_error ?? null } : null,
    // Signed in again and marked (release_pending): the MailboxDO sends nothing until a reply check reads
    // the inbox from after the sign-in, so the screens must not say it sends. The check's last error, if
    // it is failing, is what keeps it held.
    held_for_reply_check:
      r.status === "connected" && replyCheckMark(r.transport, r.transportConfig) !== null
        ? { since: typeof cfg.release_pending_at === "number" ? cfg.release_pending_at : null, error: cfg.poll_error ?? null }
        : null,
    capacity: {
      used_last_24h: cap.usedLast24h,
      used_last_hour: cap.usedLastHour,
      left_today: Math.max(0, r.dailyLimit - cap.usedLast24h),
      queued: cap.queued,
      next_send_at: cap.nextSendAt,
      hold: cap.hold,
    },
  };
}

/** Views of several mailboxes (owner names in one query, capacities from their MailboxDOs in parallel). */
export async function mailboxViews(env: Env, d: Db, caller: Caller, rows: readonly MailboxRow[]) {
  const names = await ownerNames(d, caller.teamId, rows);
  return Promise.all(rows.map((r) => mailboxView(env, caller, r, names.get(r.userId) ?? null)));
}
