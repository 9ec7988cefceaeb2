import type { Env } from "../env";
import { unseal } from "../lib/seal";
import { appSecret } from "../services/secrets";
import type { MailboxSettings } from "./mailbox-settings";
import type { Transport } from "./types";

/** Tests swap in a transport per mailbox (a server that times out after accepting, say). */
const overrides = new Map<string, Transport>();
export function setTransportOverride(mailboxId: string, t: Transport | null): void {
  if (t) overrides.set(mailboxId, t);
  else overrides.delete(mailboxId);
}

const OUTBOX: Transport = { local: true, send: async () => ({ ok: true, response: "stored in outbox" }) };

/**
 * `outbox` is a local mail catcher: only `npm start` (APP_ENV=local) and the tests offer it. Deployed, a
 * mailbox on it would show Connected and count every email as sent while nothing leaves Seqflare.
 */
export const outboxAllowed = (env: Pick<Env, "APP_ENV">) => env.APP_ENV === "local" || env.APP_ENV === "test";

export const OUTBOX_REFUSED =
  "The Outbox (test) transport only stores emails on a local server: here nothing would leave Seqflare. Choose SMTP or Cloudflare Email, or connect Gmail / Microsoft 365 by signing in";

/**
 * An outbox mailbox saved on a deployment (before it was refused there) sends nothing: a "sender" failure
 * keeps the email queued and pauses the mailbox with this reason, as a refused sign-in would.
 */
const OUTBOX_DEPLOYED: Transport = {
  local: true,
  send: async () => ({ ok: false, kind: "sender", message: OUTBOX_REFUSED }),
};

/**
 * The transport a mailbox sends through. `outbox` (local and tests only) accepts every message: the
 * message row stored in D1 is the outbox, shown on the Outbox screen like a local mail catcher.
 */
export async function transportFor(env: Env, mailbox: MailboxSettings): Promise<Transport> {
  const o = overrides.get(mailbox.id);
  if (o) return o;
  switch (mailbox.transport) {
    case "outbox":
      return outboxAllowed(env) ? OUTBOX : OUTBOX_DEPLOYED;
    case "smtp": {
      const { smtpTransport } = await import("./smtp");
      const cfg = mailbox.transportConfig as { host: string; port: number; security: "tls" | "starttls" | "none"; username?: string };
      const password = mailbox.secretCiphertext ? await unseal(appSecret(env), mailbox.secretCiphertext) : undefined;
      return smtpTransport({ ...cfg, password, heloName: mailbox.email.split("@")[1] });
    }
    case "send_email": {
      if (!env.EMAIL)
        return {
          send: async () => ({ ok: false, kind: "sender", message: "The send_email binding EMAIL is not configured for this Worker" }),
        };
      const { sendEmailTransport } = await import("./send-email");
      return sendEmailTransport(env.EMAIL);
    }
    case "gmail": {
      const { gmailTransport } = await import("./gmail");
      return gmailTransport(env, mailbox);
    }
    case "graph": {
      const { graphTransport } = await import("./graph");
      return graphTransport(env, mailbox);
    }
  }
}
