import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { db } from "../db/client";
import { auditLog, mailboxes, messages } from "../db/schema";
import type { Context } from "hono";
import type { AppEnv, Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, json, jsonBody } from "../lib/schemas";
import { seal, unseal } from "../lib/seal";
import { mailboxStub } from "../lib/stubs";
import { authorize, mailboxAllows, mailboxFor, teamUser } from "../services/access";
import { auditEntry } from "../services/audit";
import { isOAuthTransport } from "../services/mailbox-auth";
import { appSecret } from "../services/secrets";
import { loadMailbox } from "../services/compose";
import { verifyMailbox, verifySmtp } from "../services/mailbox-verify";
import { buildMessage } from "../services/mime";
import { transportFor } from "../transports";

const Smtp = z
  .object({
    host: z.string().trim().min(1).max(253),
    port: z.number().int().min(1).max(65535).refine((p) => p !== 25, "Port 25 is blocked for outbound connections on Cloudflare; use 587 (STARTTLS) or 465 (TLS)"),
    security: z.enum(["tls", "starttls", "none"]),
    username: z.string().max(254).optional(),
    password: z.string().max(500).optional().openapi({ description: "Write-only: stored encrypted, never returned" }),
  })
  .openapi("SmtpSettings");

const Limits = z.object({
  daily_limit: z.number().int().min(1).max(5000),
  hourly_limit: z.number().int().min(1).max(1000),
  min_gap_seconds: z.number().int().min(0).max(3600),
  jitter_seconds: z.number().int().min(0).max(3600),
});

/** An hourly limit above the daily one can never be reached: refuse it, naming the field the caller changed. */
function checkLimits(daily: number, hourly: number, changed: { daily_limit?: number; hourly_limit?: number }) {
  if (hourly <= daily) return;
  const field = changed.hourly_limit !== undefined || changed.daily_limit === undefined ? "hourly_limit" : "daily_limit";
  const message = field === "hourly_limit" ? `Hourly limit can't be more than the daily limit (${daily.toLocaleString("en-US")})` : `Daily limit can't be less than the hourly limit (${hourly.toLocaleString("en-US")})`;
  throw new ApiError("validation_failed", message, { fields: [{ field, message }] });
}

const CreateMailbox = Limits.partial()
  .extend({
    email: z.string().trim().toLowerCase().email().max(254),
    sender_name: z.string().trim().min(1).max(120),
    signature: z.string().max(5000).default(""),
    transport: z.enum(["outbox", "smtp", "send_email", "gmail", "graph"]).default("outbox").openapi({ description: "gmail and graph mailboxes are connected by signing in (POST /oauth/{provider}/start), not here" }),
    smtp: Smtp.optional(),
    user_id: Id.optional().openapi({ description: "Owner (admins only; default: you)" }),
  })
  .openapi("CreateMailbox");

const UpdateMailbox = Limits.partial()
  .extend({
    sender_name: z.string().trim().min(1).max(120).optional(),
    signature: z.string().max(5000).optional(),
    transport: z.enum(["outbox", "smtp", "send_email", "gmail", "graph"]).optional(),
    smtp: Smtp.partial().optional(),
  })
  .openapi("UpdateMailbox");

export const MailboxSchema = z
  .object({
    id: z.string(),
    user_id: z.string(),
    owner_name: z.string().nullable(),
    can_edit: z.boolean().openapi({ description: "Whether the caller may change this mailbox (its owner or an admin)" }),
    can_send: z.boolean().openapi({ description: "Whether the caller may send a sequence's emails from it (its owner or an admin)" }),
    email: z.string(),
    sender_name: z.string(),
    signature: z.string(),
    transport: z.enum(["outbox", "smtp", "send_email", "gmail", "graph"]),
    smtp: z.object({ host: z.string(), port: z.number(), security: z.string(), username: z.string().nullable(), has_password: z.boolean() }).nullable(),
    daily_limit: z.number(),
    hourly_limit: z.number(),
    min_gap_seconds: z.number(),
    jitter_seconds: z.number(),
    status: z.enum(["connected", "disconnected", "paused", "needs_reconnect"]).openapi({ description: "needs_reconnect: the Google / Microsoft sign-in was revoked or expired; its emails are held until the owner signs in again" }),
    status_reason: z.string().nullable(),
    reply_check: z
      .object({ checked_at: z.number().nullable(), error: z.string().nullable() })
      .nullable()
      .openapi({ description: "Gmail / Microsoft 365: when replies were last looked for (every minute on the cron) and why the last look failed, if it did" }),
    capacity: z.object({ used_last_24h: z.number(), used_last_hour: z.number(), left_today: z.number(), queued: z.number(), next_send_at: z.number().nullable() }),
  })
  .openapi("Mailbox");

async function present(env: Env, caller: Caller, r: typeof mailboxes.$inferSelect): Promise<z.infer<typeof MailboxSchema>> {
  const [cap, owner] = await Promise.all([
    mailboxStub(env, r.id).capacity(r.id),
    env.DB.prepare("SELECT name FROM users WHERE id = ? AND team_id = ?").bind(r.userId, r.teamId).first<{ name: string }>(),
  ]);
  const cfg = r.transportConfig as { host?: string; port?: number; security?: string; username?: string; polled_at?: number | null; poll_error?: string | null };
  return {
    id: r.id,
    user_id: r.userId,
    owner_name: owner?.name ?? null,
    can_edit: mailboxAllows(caller, "mailbox.manage", r.userId),
    can_send: mailboxAllows(caller, "mailbox.send", r.userId),
    email: r.email,
    sender_name: r.senderName,
    signature: r.signature,
    transport: r.transport,
    smtp: r.transport === "smtp" && cfg.host
      ? { host: cfg.host, port: cfg.port ?? 587, security: cfg.security ?? "starttls", username: cfg.username ?? null, has_password: !!r.secretCiphertext }
      : null,
    daily_limit: r.dailyLimit,
    hourly_limit: r.hourlyLimit,
    min_gap_seconds: r.minGapSeconds,
    jitter_seconds: r.jitterSeconds,
    status: r.status,
    status_reason: r.statusReason,
    reply_check: isOAuthTransport(r.transport) ? { checked_at: cfg.polled_at ?? null, error: cfg.poll_error ?? null } : null,
    capacity: {
      used_last_24h: cap.usedLast24h,
      used_last_hour: cap.usedLastHour,
      left_today: Math.max(0, r.dailyLimit - cap.usedLast24h),
      queued: cap.queued,
      next_send_at: cap.nextSendAt,
    },
  };
}

const one = json(z.object({ mailbox: MailboxSchema }));

const signInInstead = (t: "gmail" | "graph") =>
  new ApiError("validation_failed", `${t === "gmail" ? "Gmail" : "Microsoft 365"} mailboxes are connected by signing in: use "Connect ${t === "gmail" ? "Gmail" : "Microsoft 365"}" on the Mailboxes screen (POST /api/oauth/${t === "gmail" ? "google" : "microsoft"}/start)`, {
    fields: [{ field: "transport", message: "Connect it by signing in" }],
  });

/** Verify on connect: SMTP settings that don't connect, negotiate TLS and sign in are refused (422), in words. */
async function mustConnect(cfg: Parameters<typeof verifySmtp>[0]) {
  const v = await verifySmtp(cfg);
  if (!v.ok) throw new ApiError("validation_failed", v.message, { fields: [{ field: "smtp", message: v.message }] });
}

/** Disconnect or reconnect; the MailboxDO re-plans at once (held emails resume on reconnect). */
async function setStatus(c: Context<AppEnv, string, { out: { param: { id: string } } }>, status: "connected" | "disconnected", reason: string | null, action: string) {
  const caller = c.get("caller");
  const d = db(c.env.DB);
  const r = await mailboxFor(d, caller, c.req.valid("param").id, "mailbox.manage");
  if (status === "connected") {
    // Verify on reconnect too: a mailbox joins rotation only once it has shown it can send.
    const v = await verifyMailbox(c.env, (await loadMailbox(c.env.DB, r.id))!);
    if (!v.ok) throw new ApiError("validation_failed", v.message, { fields: [{ field: "transport", message: v.message }] });
  }
  await d.batch([
    d.update(mailboxes).set({ status, statusReason: reason, updatedAt: now() }).where(eq(mailboxes.id, r.id)),
    d.insert(auditLog).values(auditEntry(caller, action, "mailbox", r.id)),
  ]);
  await mailboxStub(c.env, r.id).refresh(r.id);
  return c.json({ mailbox: await present(c.env, caller, (await d.query.mailboxes.findFirst({ where: eq(mailboxes.id, r.id) }))!) }, 200);
}

export const mailboxRoutes = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/mailboxes",
      tags: ["Mailboxes"],
      summary: "The team's mailboxes with capacity used and left",
      responses: { 200: json(z.object({ mailboxes: z.array(MailboxSchema) })) },
    }),
    async (c) => {
      const rows = await db(c.env.DB).select().from(mailboxes).where(eq(mailboxes.teamId, c.get("caller").teamId)).orderBy(asc(mailboxes.email));
      return c.json({ mailboxes: await Promise.all(rows.map((r) => present(c.env, c.get("caller"), r))) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/mailboxes/{id}",
      tags: ["Mailboxes"],
      summary: "One mailbox",
      request: { params: IdParam },
      responses: { 200: one, 404: errorResponses[404] },
    }),
    async (c) => c.json({ mailbox: await present(c.env, c.get("caller"), await mailboxFor(db(c.env.DB), c.get("caller"), c.req.valid("param").id, "mailbox.view")) }, 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/mailboxes",
      tags: ["Mailboxes"],
      summary: "Connect a mailbox (outbox, SMTP or Cloudflare send_email)",
      request: { body: jsonBody(CreateMailbox) },
      responses: { 201: { ...one, description: "Created" }, 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const body = c.req.valid("json");
      const d = db(c.env.DB);
      if (body.transport === "smtp" && !body.smtp) throw new ApiError("validation_failed", "SMTP settings are required", { fields: [{ field: "smtp", message: "Give host, port and security" }] });
      if (isOAuthTransport(body.transport)) throw signInInstead(body.transport);
      authorize(caller, "mailbox.connect", "You can't connect mailboxes");
      if (body.user_id !== undefined && body.user_id !== caller.userId) {
        authorize(caller, "mailbox.manage", "Only admins add mailboxes for other users");
        await teamUser(d, caller, body.user_id, "user_id");
      }
      const dailyLimit = body.daily_limit ?? 50;
      const hourlyLimit = body.hourly_limit ?? Math.min(20, dailyLimit);
      checkLimits(dailyLimit, hourlyLimit, body);
      const clash = await d.query.mailboxes.findFirst({ where: and(eq(mailboxes.teamId, caller.teamId), eq(mailboxes.email, body.email)) });
      if (clash) throw new ApiError("validation_failed", "This mailbox is already connected", { fields: [{ field: "email", message: "Already connected; reconnect it instead" }] });
      const id = newId();
      const t = now();
      const { password, ...smtp } = body.smtp ?? ({} as Partial<z.infer<typeof Smtp>>);
      if (body.transport === "smtp") await mustConnect({ ...(smtp as Omit<z.infer<typeof Smtp>, "password">), password, heloName: body.email.split("@")[1] });
      if (body.transport === "send_email" && !c.env.EMAIL) throw new ApiError("validation_failed", "The send_email binding EMAIL is not configured for this Worker", { fields: [{ field: "transport", message: "Not available on this deployment" }] });
      await d.batch([
        d.insert(mailboxes).values({
          id, teamId: caller.teamId, userId: body.user_id ?? caller.userId, email: body.email, senderName: body.sender_name, signature: body.signature,
          transport: body.transport, transportConfig: body.transport === "smtp" ? smtp : {},
          secretCiphertext: password ? await seal(appSecret(c.env), password) : null,
          dailyLimit, hourlyLimit, minGapSeconds: body.min_gap_seconds ?? 60, jitterSeconds: body.jitter_seconds ?? 30,
          status: "connected", createdAt: t, updatedAt: t,
        }),
        d.insert(auditLog).values(auditEntry(caller, "mailbox.create", "mailbox", id, { email: body.email, transport: body.transport })),
      ]);
      return c.json({ mailbox: await present(c.env, caller, (await d.query.mailboxes.findFirst({ where: eq(mailboxes.id, id) }))!) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/mailboxes/{id}",
      tags: ["Mailboxes"],
      summary: "Change sender, signature, limits or transport settings",
      request: { params: IdParam, body: jsonBody(UpdateMailbox) },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const body = c.req.valid("json");
      const d = db(c.env.DB);
      const r = await mailboxFor(d, caller, c.req.valid("param").id, "mailbox.manage");
      checkLimits(body.daily_limit ?? r.dailyLimit, body.hourly_limit ?? r.hourlyLimit, body);
      const { password, ...smtp } = body.smtp ?? {};
      const transport = body.transport ?? r.transport;
      if (isOAuthTransport(transport) && transport !== r.transport) throw signInInstead(transport);
      // gmail / graph keep their reply-polling cursor; SMTP merges the changed settings.
      const config = transport === "smtp" ? { ...(r.transport === "smtp" ? (r.transportConfig as object) : {}), ...smtp } : transport === r.transport ? r.transportConfig : {};
      if (transport === "smtp" && !(config as { host?: string }).host) throw new ApiError("validation_failed", "SMTP settings are required", { fields: [{ field: "smtp.host", message: "Required" }] });
      if (transport === "smtp" && (body.smtp !== undefined || r.transport !== "smtp")) {
        // Verify on change: the new settings must connect before they replace the old ones.
        const stored = password === undefined && r.transport === "smtp" && r.secretCiphertext ? await unseal(appSecret(c.env), r.secretCiphertext) : undefined;
        await mustConnect({ ...(config as { host: string; port: number; security: "tls" | "starttls" | "none"; username?: string }), password: password || stored, heloName: r.email.split("@")[1] });
      }
      await d.batch([
        d.update(mailboxes).set({
          ...(body.sender_name !== undefined && { senderName: body.sender_name }),
          ...(body.signature !== undefined && { signature: body.signature }),
          ...(body.daily_limit !== undefined && { dailyLimit: body.daily_limit }),
          ...(body.hourly_limit !== undefined && { hourlyLimit: body.hourly_limit }),
          ...(body.min_gap_seconds !== undefined && { minGapSeconds: body.min_gap_seconds }),
          ...(body.jitter_seconds !== undefined && { jitterSeconds: body.jitter_seconds }),
          transport,
          transportConfig: config,
          ...(password !== undefined && { secretCiphertext: password ? await seal(appSecret(c.env), password) : null }),
          updatedAt: now(),
        }).where(eq(mailboxes.id, r.id)),
        d.insert(auditLog).values(auditEntry(caller, "mailbox.update", "mailbox", r.id, { ...body, smtp: body.smtp ? { ...smtp, password: password ? "(changed)" : undefined } : undefined })),
      ]);
      await mailboxStub(c.env, r.id).refresh(r.id);
      return c.json({ mailbox: await present(c.env, caller, (await d.query.mailboxes.findFirst({ where: eq(mailboxes.id, r.id) }))!) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/mailboxes/{id}/disconnect",
      tags: ["Mailboxes"],
      summary: "Disconnect: its emails are held (not failed) until it is reconnected",
      request: { params: IdParam },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404] },
    }),
    (c) => setStatus(c, "disconnected", "Disconnected by a user", "mailbox.disconnect"),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/mailboxes/{id}/reconnect",
      tags: ["Mailboxes"],
      summary: "Reconnect (also clears a pause after a sending error): held emails resume by themselves",
      request: { params: IdParam },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404] },
    }),
    (c) => setStatus(c, "connected", null, "mailbox.reconnect"),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/mailboxes/{id}/test",
      tags: ["Mailboxes"],
      summary: "Send a test email through the mailbox's transport (not counted against its limits)",
      request: { params: IdParam, body: jsonBody(z.object({ to: z.string().trim().toLowerCase().email() })) },
      responses: {
        200: json(z.object({ ok: z.boolean(), message: z.string(), kind: z.string().nullable(), code: z.string().nullable() })),
        403: errorResponses[403],
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const d = db(c.env.DB);
      const r = await mailboxFor(d, caller, c.req.valid("param").id, "mailbox.manage");
      const mb = (await loadMailbox(c.env.DB, r.id))!;
      const { to } = c.req.valid("json");
      const id = newId();
      const t = now();
      const messageId = `<sf.test.${id}@${mb.email.split("@")[1]}>`;
      const subject = `Seqflare test email from ${mb.senderName}`;
      const text = `This is a test email from Seqflare, sent through ${mb.email} (${mb.transport}).\nIf you can read this, the mailbox is ready to send.`;
      const raw = buildMessage({ from: { email: mb.email, name: mb.senderName }, to: { email: to }, subject, text, messageId, date: t, unsubscribeUrl: "", postalAddress: "", signature: mb.signature });
      const transport = await transportFor(c.env, mb);
      const res = await transport.send({ from: { email: mb.email, name: mb.senderName }, to, raw, messageId });
      // Test emails show in the Outbox too (no sequence, no enrollment).
      await d.insert(messages).values({
        id, teamId: caller.teamId, enrollmentId: `test:${id}`, sequenceId: "", stepId: `test:${id}`, mailboxId: mb.id, contactId: "", toEmail: to,
        subject, body: text, messageIdHeader: messageId, raw, status: res.ok ? "sent" : "failed", error: res.ok ? null : res.message, scheduledAt: t, sentAt: t, createdAt: t,
      });
      return c.json(res.ok ? { ok: true, message: res.response ?? "Sent", kind: null, code: null } : { ok: false, message: res.message, kind: res.kind, code: res.code ?? null }, 200);
    },
  );
