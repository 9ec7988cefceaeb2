// Verify on connect: before a mailbox is saved as connected (created, its transport settings changed,
// or reconnected), prove it can send. SMTP connects, negotiates TLS and authenticates (no message);
// Gmail / Graph make an authenticated call (refreshing the token); Cloudflare Email needs its binding.
// The answer says what failed in words.
import type { Env } from "../env";
import { unseal } from "../lib/seal";
import type { SmtpConfig } from "../transports/smtp";
import { gmailProfile } from "../transports/gmail";
import { graphMe } from "../transports/graph";
import { PROVIDER_NAME, PROVIDER_OF } from "../transports/oauth";
import { accessTokenFor } from "./mailbox-auth";
import type { MailboxSettings } from "../transports/mailbox-settings";
import { appSecret } from "./secrets";

export type Verification = { ok: true; message: string } | { ok: false; message: string };

/** Why a saved SMTP password can't be used: it was sealed under another APP_SECRET (AES-GCM refuses the key). */
export const UNREADABLE_PASSWORD = "The saved password can't be read any more; enter it again";

/**
 * The saved SMTP password, or null when it no longer unseals (APP_SECRET changed since it was saved): the
 * one place a saved password is read for a check, so an edit or a reconnect says so instead of a 500.
 */
export async function savedPassword(env: Env, sealed: string): Promise<string | null> {
  try {
    return await unseal(appSecret(env), sealed);
  } catch {
    return null;
  }
}

/** Each step of an SMTP check gets this long (not the whole check). */
export const VERIFY_TIMEOUT_MS = 15_000;

export async function verifySmtp(config: Omit<SmtpConfig, "timeoutMs">): Promise<Verification> {
  const { testConnection } = await import("../transports/smtp");
  const r = await testConnection({ ...config, timeoutMs: VERIFY_TIMEOUT_MS });
  return r.ok ? { ok: true, message: r.message } : { ok: false, message: `Couldn't connect to the SMTP server: ${r.message}` };
}

/** Verifies a saved mailbox with its stored settings. */
export async function verifyMailbox(env: Env, mb: MailboxSettings): Promise<Verification> {
  switch (mb.transport) {
    case "outbox":
      return { ok: true, message: "The outbox keeps every email in Seqflare (nothing leaves)" };
    case "send_email":
      return env.EMAIL
        ? { ok: true, message: "Sends through the Worker's Cloudflare Email binding" }
        : { ok: false, message: "The send_email binding EMAIL is not configured for this Worker" };
    case "smtp": {
      const cfg = mb.transportConfig as { host: string; port: number; security: "tls" | "starttls" | "none"; username?: string };
      const password = mb.secretCiphertext ? await savedPassword(env, mb.secretCiphertext) : undefined;
      if (password === null) return { ok: false, message: UNREADABLE_PASSWORD };
      return verifySmtp({ ...cfg, password, heloName: mb.email.split("@")[1] });
    }
    case "gmail":
    case "graph": {
      const name = PROVIDER_NAME[PROVIDER_OF[mb.transport]];
      const tok = await accessTokenFor(env, mb, { force: true });
      if (!tok.ok) return { ok: false, message: tok.message };
      if (mb.transport === "gmail") {
        const r = await gmailProfile(tok.cfg.apiUrl, tok.accessToken);
        if (!r.ok) return { ok: false, message: `${name} refused the signed-in check: ${r.message}` };
        return { ok: true, message: `Signed in to Gmail as ${r.body.emailAddress}` };
      }
      const r = await graphMe(tok.cfg.apiUrl, tok.accessToken);
      if (!r.ok) return { ok: false, message: `${name} refused the signed-in check: ${r.message}` };
      return { ok: true, message: `Signed in to Microsoft 365 as ${r.body.mail ?? r.body.userPrincipalName}` };
    }
  }
}
