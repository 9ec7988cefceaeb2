// Connecting Gmail / Microsoft 365 mailboxes against the local provider fakes
// (test/fixtures/oauth-providers.mjs), for the tests of how sending treats the providers' answers.
import { expect } from "vitest";
import { now } from "../../worker/lib/clock";
import { openTokens, sealTokens } from "../../worker/transports/oauth";
import { makeTeam, sessionFor } from "../fixtures";
import { call, client, env, ok, type Session } from "../helpers";

const FAKE = env.GMAIL_API_URL!;

/** Steers the fake providers (fail, revoke, expire, inbox …). */
export const control = (path: string, body: unknown) =>
  fetch(`${FAKE}/control/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** What the fake sent for an account, and every request made with its tokens. */
export const providerState = async (account: string) =>
  (await (await fetch(`${FAKE}/control/state?account=${encodeURIComponent(account)}`)).json()) as {
    sent: { raw: string }[];
    calls: { method: string; path: string }[];
  };

export const uniqueAccount = (p: string) => `${p}-${crypto.randomUUID().slice(0, 8)}@acme.test`;

/**
 * Start → the provider's consent screen (as `account`, granting only `scopes` when given, as a user unticking
 * some on Google's granular consent) → our callback, as the signed-in browser would.
 */
export async function signIn(
  s: Session,
  provider: "google" | "microsoft",
  account: string,
  body: { mailbox_id?: string } = {},
  scopes?: string,
) {
  const start = await ok(client(s).api.oauth[":provider"].start.$post({ param: { provider }, json: body }));
  const url = new URL(start.url);
  url.searchParams.set("test_account", account);
  if (scopes) url.searchParams.set("test_scopes", scopes);
  const consented = await fetch(url, { redirect: "manual" });
  if (consented.status !== 302) throw new Error(`consent ${consented.status} ${await consented.text()}`);
  const back = new URL(consented.headers.get("location")!);
  const res = await call(`${back.pathname}${back.search}`, { headers: { cookie: s.cookie }, redirect: "manual" });
  if (res.status !== 302) throw new Error(`callback ${back} ${res.status} ${(await res.text()).slice(0, 300)}`);
  const to = new URL(res.headers.get("location")!, "http://x");
  return { id: to.searchParams.get("connected"), error: to.searchParams.get("connect_error") };
}

/** A team whose user connected a mailbox by signing in. */
export async function teamWith(provider: "google" | "microsoft") {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const account = uniqueAccount(provider);
  const r = await signIn(s, provider, account);
  expect(r.error).toBeNull();
  return { teamId, userId, s, account, mailboxId: r.id! };
}

/** A mailbox's transport_config (reply cursors, poll_error, release_pending …). */
export const transportConfig = async (id: string) =>
  JSON.parse(
    (await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?").bind(id).first<{ transport_config: string }>())!
      .transport_config,
  ) as Record<string, unknown>;

export const mailboxRow = (id: string) =>
  env.DB.prepare("SELECT status, status_reason, secret_ciphertext FROM mailboxes WHERE id = ?")
    .bind(id)
    .first<{ status: string; status_reason: string | null; secret_ciphertext: string | null }>();

/** Make the stored access token expire in `ms` (the refresh token stays): the next send refreshes it. */
export async function expireIn(mailboxId: string, ms: number) {
  const t = await openTokens(env, (await mailboxRow(mailboxId))!.secret_ciphertext!);
  await env.DB.prepare("UPDATE mailboxes SET secret_ciphertext = ? WHERE id = ?")
    .bind(await sealTokens(env, { ...t, expiresAt: now() + ms }), mailboxId)
    .run();
}
