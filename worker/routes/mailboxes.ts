import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../lib/openapi";
import { errorResponses, Id, IdParam, json, jsonBody } from "../lib/schemas";
import { mailboxFor } from "../services/access";
import {
  createMailbox,
  listMailboxes,
  mailboxViews,
  sendTestEmail,
  sendWithoutReplyCheck,
  setMailboxStatus,
  updateMailbox,
} from "../services/mailboxes";
import { REMOVE_REASSIGN_LIMIT, removeMailbox } from "../services/mailbox-connect";

const Smtp = z
  .object({
    host: z.string().trim().min(1).max(253),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .refine((p) => p !== 25, "Port 25 is blocked for outbound connections on Cloudflare; use 587 (STARTTLS) or 465 (TLS)"),
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

const CreateMailbox = Limits.partial()
  .extend({
    email: z.string().trim().toLowerCase().email().max(254),
    sender_name: z.string().trim().min(1).max(120),
    signature: z.string().max(5000).default(""),
    transport: z.enum(["outbox", "smtp", "send_email", "gmail", "graph"]).optional().openapi({
      description:
        "gmail and graph mailboxes are connected by signing in (POST /oauth/{provider}/start), not here. outbox (nothing leaves Seqflare: emails are stored for the Outbox screen) exists only on a local server (APP_ENV local or test), where it is the default; a deployment refuses it and requires a transport",
    }),
    smtp: Smtp.optional(),
    user_id: Id.optional().openapi({ description: "Owner (admins only; default: you)" }),
  })
  .openapi("CreateMailbox");

const UpdateMailbox = Limits.partial()
  .extend({
    sender_name: z.string().trim().min(1).max(120).optional(),
    signature: z.string().max(5000).optional(),
    transport: z
      .enum(["outbox", "smtp", "send_email", "gmail", "graph"])
      .optional()
      .openapi({ description: "outbox only on a local server (APP_ENV local or test): a deployment refuses it (422)" }),
    smtp: Smtp.partial().optional(),
    user_id: Id.optional().openapi({
      description:
        "Admins only: give the mailbox to another active user of the team (they may then edit it and send from it; new tasks of its contacts go to them). Its status is unchanged: a mailbox disconnected when its owner was disabled stays so until reconnected.",
    }),
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
    smtp: z
      .object({ host: z.string(), port: z.number(), security: z.string(), username: z.string().nullable(), has_password: z.boolean() })
      .nullable(),
    daily_limit: z.number(),
    hourly_limit: z.number(),
    min_gap_seconds: z.number(),
    jitter_seconds: z.number(),
    status: z.enum(["connected", "disconnected", "paused", "needs_reconnect"]).openapi({
      description:
        "needs_reconnect: the Google / Microsoft sign-in was revoked or expired; its emails are held until the owner signs in again",
    }),
    status_reason: z.string().nullable(),
    reply_check: z.object({ checked_at: z.number().nullable(), error: z.string().nullable() }).nullable().openapi({
      description:
        "Gmail / Microsoft 365: when replies were last looked for (every minute on the cron) and why the last look failed, if it did",
    }),
    held_for_reply_check: z
      .object({
        since: z.number().nullable().openapi({ description: "When the sign-in that started the hold was saved (ms)" }),
        error: z.string().nullable().openapi({ description: "Why the reply check failed last, if it did: what keeps the mailbox held" }),
      })
      .nullable()
      .openapi({
        description:
          "Gmail / Microsoft 365 signed in again: the mailbox sends nothing (its queued emails are held, not failed, and its capacity goes unused) until a reply check has read the inbox from after the sign-in, so no follow-up crosses a reply that came while it was down. null when it isn't waiting. An admin may end the wait with POST /mailboxes/{id}/send-without-reply-check",
      }),
    capacity: z.object({
      used_last_24h: z.number(),
      used_last_hour: z.number(),
      left_today: z.number(),
      queued: z.number(),
      next_send_at: z.number().nullable(),
      hold: z
        .object({ until: z.number(), cause: z.enum(["rate_limited", "sign_in"]), reason: z.string() })
        .nullable()
        .openapi({
          description:
            "The whole mailbox waits until `until`: the provider refused for now (its sending limit, or its sign-in could not be refreshed), in its words. Its emails are held, not failed.",
        }),
    }),
  })
  .openapi("Mailbox");

const one = json(z.object({ mailbox: MailboxSchema }));
/** A change saved: the mailbox, and what it leaves to do elsewhere. */
const updated = json(
  z.object({
    mailbox: MailboxSchema,
    warnings: z.array(z.object({ field: z.string(), message: z.string() })).openapi({
      description:
        "Saved, but worth a look: given to someone else (user_id), the active workflows of other members (not admins) that send from it, which will fail and turn off at their next run",
    }),
  }),
);

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
      const caller = c.get("caller");
      return c.json({ mailboxes: await mailboxViews(c.env, c.var.db, caller, await listMailboxes(c.var.db, caller.teamId)) }, 200);
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
    async (c) => {
      const caller = c.get("caller");
      const r = await mailboxFor(c.var.db, caller, c.req.valid("param").id, "mailbox.view");
      return c.json({ mailbox: (await mailboxViews(c.env, c.var.db, caller, [r]))[0]! }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/mailboxes",
      tags: ["Mailboxes"],
      summary: "Connect a mailbox (outbox, SMTP or Cloudflare send_email)",
      request: { body: jsonBody(CreateMailbox) },
      responses: {
        201: { ...one, description: "Created" },
        403: { ...errorResponses[403], description: "Only admins add mailboxes for other users" },
        422: errorResponses[422],
      },
    }),
    async (c) => {
      const caller = c.get("caller");
      const r = await createMailbox(c.env, c.var.db, caller, c.req.valid("json"));
      return c.json({ mailbox: (await mailboxViews(c.env, c.var.db, caller, [r]))[0]! }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/mailboxes/{id}",
      tags: ["Mailboxes"],
      summary: "Change sender, signature, limits or transport settings",
      description:
        "Writes only what changes. 409 when the mailbox was removed, or connected with another transport, since the request read it (nothing is saved).",
      request: { params: IdParam, body: jsonBody(UpdateMailbox) },
      responses: { 200: updated, 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { mailbox, warnings } = await updateMailbox(c.env, c.var.db, caller, c.req.valid("param").id, c.req.valid("json"));
      return c.json({ mailbox: (await mailboxViews(c.env, c.var.db, caller, [mailbox]))[0]!, warnings }, 200);
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
    async (c) => {
      const caller = c.get("caller");
      const r = await setMailboxStatus(
        c.env,
        c.var.db,
        caller,
        c.req.valid("param").id,
        "disconnected",
        "Disconnected by a user",
        "mailbox.disconnect",
      );
      return c.json({ mailbox: (await mailboxViews(c.env, c.var.db, caller, [r]))[0]! }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/mailboxes/{id}",
      tags: ["Mailboxes"],
      summary: "Remove a mailbox for good: sending stops, replies are no longer read, its stored sign-in or password is deleted",
      description: `Refused (409 mailbox_in_use, naming the jobs) while an add-contacts job that has not finished (scheduled, being planned or under way) sends from it: cancel the scheduled add, or wait until it has run. Refused (409 mailbox_in_use, with how many contacts in which sequences) while open enrollments (active, paused, held, scheduled) send from it, unless \`reassign_to\` names another connected mailbox you may send from: up to ${REMOVE_REASSIGN_LIMIT.toLocaleString("en-US")} contacts then move there first as with Change mailbox (their queued emails with them; you must be able to edit each of their sequences), more answer 422. Gmail: the sign-in is revoked at Google; Microsoft has no endpoint for an app to revoke its sign-in (the tokens are deleted; \`sign_in\` says so). A revocation that fails does not stop the removal. The mailbox disappears from lists and pickers; the emails it sent keep naming it, and its address can be connected again as a new mailbox.`,
      request: {
        params: IdParam,
        query: z.object({
          reassign_to: Id.optional().openapi({ description: "The mailbox the contacts still sending from this one move to first" }),
        }),
      },
      responses: {
        200: json(
          z.object({
            removed: z.object({
              id: z.string(),
              email: z.string(),
              moved: z.number().openapi({ description: "Contacts moved to reassign_to" }),
              withdrawn: z.number().openapi({ description: "Emails still queued on the mailbox that were taken back" }),
              sign_in: z
                .object({ provider: z.enum(["google", "microsoft"]), revoked: z.boolean(), message: z.string() })
                .nullable()
                .openapi({ description: "Gmail / Microsoft 365: whether the provider revoked the sign-in, in words" }),
            }),
          }),
        ),
        403: errorResponses[403],
        404: errorResponses[404],
        409: {
          ...errorResponses[409],
          description:
            "mailbox_in_use: contacts still send from it (details.enrollments, details.sequences), or an unfinished add-contacts job does (details.jobs)",
        },
        422: errorResponses[422],
      },
    }),
    async (c) =>
      c.json(
        { removed: await removeMailbox(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("query").reassign_to) },
        200,
      ),
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
    async (c) => {
      const caller = c.get("caller");
      const r = await setMailboxStatus(c.env, c.var.db, caller, c.req.valid("param").id, "connected", null, "mailbox.reconnect");
      return c.json({ mailbox: (await mailboxViews(c.env, c.var.db, caller, [r]))[0]! }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/mailboxes/{id}/send-without-reply-check",
      tags: ["Mailboxes"],
      summary: "Admins: a mailbox held for its reply check after a reconnect sends without waiting for it",
      description:
        "For a check that keeps failing (held_for_reply_check.error): the held emails go out now, and replies that came while the mailbox was down are applied only once the check reads them, so a follow-up may reach someone who replied. `confirm: true` says the caller accepts that. Signing in again is the other way out, once what makes the check fail is fixed. When the check could never start (the mailbox has no reply cursor yet), the next rounds' failed starts do not hold the mailbox again until one starts it or the mailbox is signed in again. 409 when the mailbox is not waiting for a reply check.",
      request: {
        params: IdParam,
        body: jsonBody(
          z.object({
            confirm: z.literal(true).openapi({ description: "Follow-ups may go to people whose replies are not read yet" }),
          }),
        ),
      },
      responses: { 200: one, 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409], 422: errorResponses[422] },
    }),
    async (c) => {
      const caller = c.get("caller");
      const r = await sendWithoutReplyCheck(c.env, c.var.db, caller, c.req.valid("param").id);
      return c.json({ mailbox: (await mailboxViews(c.env, c.var.db, caller, [r]))[0]! }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/mailboxes/{id}/test",
      tags: ["Mailboxes"],
      summary:
        "Send a test email through the mailbox's transport (not counted against its limits): to the mailbox's own address or an active member of the team, at most 10 per mailbox an hour",
      request: { params: IdParam, body: jsonBody(z.object({ to: z.string().trim().toLowerCase().email() })) },
      responses: {
        200: json(z.object({ ok: z.boolean(), message: z.string(), kind: z.string().nullable(), code: z.string().nullable() })),
        403: errorResponses[403],
        404: errorResponses[404],
        422: { ...errorResponses[422], description: "`to` is not the mailbox's own address nor an active member's, or is suppressed" },
        429: { ...errorResponses[422], description: "This mailbox sent 10 test emails in the last hour: wait retry-after seconds" },
      },
    }),
    async (c) => c.json(await sendTestEmail(c.env, c.var.db, c.get("caller"), c.req.valid("param").id, c.req.valid("json").to), 200),
  );
