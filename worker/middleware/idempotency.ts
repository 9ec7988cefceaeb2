import { createMiddleware } from "hono/factory";
import { and, eq, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import type { AppEnv, Caller } from "../env";
import { now } from "../lib/clock";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { UPLOAD_PATH } from "../routes/imports";
import { recheck, type Grant } from "../services/access";

/** Header a handler sets on an answer that holds a secret: it is never stored, so never replayed. */
export const SECRET_ANSWER = "x-seqflare-secret-answer";

const LOGOUT_PATH = "/api/auth/logout";
const PASSWORD_PATH = "/api/me/password";

/** `status` of a claimed key whose request is still running. */
const IN_PROGRESS = 0;
/**
 * A claim older than this belongs to a request that died (an isolate restarted, or the client went
 * away and the Worker stopped with it) and is taken over. Short, since a client that timed out retries
 * with the same key, which is what the key is for; the write POSTs here answer in well under it.
 */
const CLAIM_STALE_MS = 30_000;

/**
 * How long a key is remembered: a retry within a day gets the first answer; after that the record is
 * deleted (expireIdempotencyRecords), since answers hold contacts' names and addresses that must not
 * outlive an erasure, and the table must not grow without limit. An expired key makes a new request.
 */
export const KEEP_MS = 24 * 3_600_000;

/**
 * Answers larger than this are not kept (an Apollo add_contact_ids answer can reach megabytes, past
 * D1's row size): a replay of one answers 409, as for a secret.
 */
export const MAX_KEPT_BYTES = 256 * 1024;

type Withheld = "secret" | "too_large" | "unknown";

/** What a replay of a request whose answer was not kept says (409): the work is never run again. */
const WITHHELD: Record<Withheld, string> = {
  secret: "This request already succeeded. Its answer held a secret, which is shown only once; send a new request to get a new one.",
  too_large:
    "This request already succeeded. Its answer was too large to keep for a replay; read what it made (the job, the contacts) instead of sending it again.",
  unknown:
    "This request ran, but its answer could not be saved, so whether it took effect is unknown. Check (for example, list what it would have created) before sending it again with a new Idempotency-Key.",
};

/** A key whose first request is still running (or died within CLAIM_STALE_MS): retry after that. */
const inProgress = (key: string) =>
  new ApiError(
    "conflict",
    `A request with this Idempotency-Key is still being processed. Retry in ${CLAIM_STALE_MS / 1000} seconds to get its answer.`,
    { idempotency_key: key },
    undefined,
    { "retry-after": String(CLAIM_STALE_MS / 1000) },
  );

/** Whose key it is: a key is one caller's (a user signed in, or an API key), never shared with another. */
export const principalOf = (caller: Caller) => (caller.via === "api_key" ? `key:${caller.apiKeyId}` : `user:${caller.userId}`);

/** An Idempotency-Key as stored beside a record (a job): qualified by its principal, so keys never collide across callers. */
export const idempotencyScope = (caller: Caller, key: string | undefined) => (key ? `${principalOf(caller)} ${key}` : null);

/**
 * `Idempotency-Key` on POST (invariant 12). The first successful answer is stored per principal (one
 * user's sessions, or one API key) and key, with the authorization checks the request passed. The
 * same principal sending the same key and request gets that answer again (`idempotent-replayed:
 * true`) only after those checks pass again for it now; another request under the same key is a 422.
 * Answers that hold a secret (a created API key), answers over MAX_KEPT_BYTES, and answers whose store
 * failed are stored as a marker without their body, and a replay of one answers 409 saying why: a
 * secret is shown once, ever, and work is never run twice. Failed answers are not stored. Records are
 * kept KEEP_MS (24 hours).
 */
export const idempotency = createMiddleware<AppEnv>(async (c, next) => {
  const caller = c.get("caller");
  caller.grants = [];
  const key = c.req.header("idempotency-key");
  // A CSV upload is not hashed: reading it as text would hold the file twice and turn bytes that are
  // not UTF-8 into U+FFFD before the import reads them. A repeated upload only makes another unsaved import.
  // Signing out is idempotent by itself, and its effect is on this session: an answer stored for the
  // user would make a later session's sign-out with the same key a replay that signs nothing out. A
  // password change's body holds two passwords: its request hash (a fast SHA-256) is never stored.
  if (c.req.method !== "POST" || !key || c.req.path === UPLOAD_PATH || c.req.path === LOGOUT_PATH || c.req.path === PASSWORD_PATH) {
    await next();
    c.res.headers.delete(SECRET_ANSWER); // a marker for this middleware, never for the client
    return;
  }
  if (key.length > 200)
    throw new ApiError("validation_failed", "Idempotency-Key is too long", {
      fields: [{ field: "Idempotency-Key", message: "At most 200 characters" }],
    });
  // The request's handle: under a session guess (middleware/auth.ts) the lookup and the insert below
  // wait for the session's check like the route's own statements.
  const d = c.var.db;
  const principal = principalOf(caller);
  const url = new URL(c.req.url);
  const hash = await sha256Hex(`${c.req.method} ${url.pathname}?${url.searchParams} ${await c.req.text()}`);
  const where = and(eq(idempotencyKeys.teamId, caller.teamId), eq(idempotencyKeys.principal, principal), eq(idempotencyKeys.key, key));
  // The key is claimed before the handler runs (a row with status 0): of two requests sent at once
  // with one key, one does the work and the other is told it is in progress. Checking first and
  // storing after let both run (two API keys created, one of them never shown to anyone).
  const at = now();
  const claim = () =>
    d
      .insert(idempotencyKeys)
      .values({ teamId: caller.teamId, principal, key, requestHash: hash, status: IN_PROGRESS, body: null, grants: [], createdAt: at })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
  if (!(await claim()).length) {
    const stored = await d.query.idempotencyKeys.findFirst({ where });
    if (!stored) {
      // Its claim was given up (that request failed) meanwhile; another may have claimed it since.
      if (!(await claim()).length) throw inProgress(key);
    } else {
      if (stored.requestHash !== hash)
        throw new ApiError("idempotency_key_reused", "This Idempotency-Key was used with a different request", { idempotency_key: key });
      if (stored.status === IN_PROGRESS) {
        // A claim whose request died (the isolate restarted mid-handler) is taken over once it is
        // older than any request can run; a live one answers 409 so the client retries later.
        const [taken] = await d
          .update(idempotencyKeys)
          .set({ createdAt: at })
          .where(and(where, eq(idempotencyKeys.status, IN_PROGRESS), lt(idempotencyKeys.createdAt, at - CLAIM_STALE_MS)))
          .returning({ key: idempotencyKeys.key });
        if (!taken) throw inProgress(key);
      } else if (stored.createdAt < at - KEEP_MS) {
        // Expired but not yet swept by the cron: forgotten, as it would be a minute later.
        await d.delete(idempotencyKeys).where(and(where, eq(idempotencyKeys.createdAt, stored.createdAt)));
        if (!(await claim()).length) throw inProgress(key);
      } else {
        // Authorization first: the replay answers only what a fresh request would be allowed to see.
        await recheck(d, caller, stored.grants as Grant[]);
        if (stored.body === null) throw new ApiError("conflict", WITHHELD[stored.withheld ?? "secret"], { idempotency_key: key });
        return new Response(stored.body, {
          status: stored.status,
          headers: { "content-type": "application/json", "idempotent-replayed": "true" },
        });
      }
    }
  }
  const release = () => d.delete(idempotencyKeys).where(and(where, eq(idempotencyKeys.status, IN_PROGRESS)));
  try {
    await next();
  } catch (err) {
    await release();
    throw err;
  }
  const secret = c.res.headers.has(SECRET_ANSWER);
  if (secret) c.res.headers.delete(SECRET_ANSWER);
  if (c.res.status >= 200 && c.res.status < 300 && (c.res.headers.get("content-type") ?? "").includes("json")) {
    const seen = new Set<string>();
    const grants: Grant[] = (caller.grants ?? []).filter((g) => !seen.has(`${g.action} ${g.id}`) && !!seen.add(`${g.action} ${g.id}`));
    const text = secret ? null : await c.res.clone().text();
    const withheld: Withheld | null = secret ? "secret" : new TextEncoder().encode(text!).byteLength > MAX_KEPT_BYTES ? "too_large" : null;
    const store = (body: string | null, why: Withheld | null) =>
      d
        .update(idempotencyKeys)
        .set({ status: c.res.status, body, grants, withheld: why })
        .where(and(where, eq(idempotencyKeys.status, IN_PROGRESS)));
    try {
      await store(withheld ? null : text, withheld);
    } catch (err) {
      // The work is done: the client still gets its answer (a 500 made it retry, and the claim, taken over
      // after CLAIM_STALE_MS, ran the work a second time). The claim is marked instead, so a retry is told
      // the outcome is unknown and runs nothing. Should that write fail too, the claim stays in progress.
      console.error("storing an idempotent answer failed; marking its outcome unknown", err);
      await store(null, "unknown").catch((e: unknown) => console.error("marking an idempotent answer unknown failed", e));
    }
  } else {
    // Failed answers are not stored: the same key may be sent again once the problem is fixed.
    await release();
  }
});

/** Records deleted per statement by the cron: a bounded delete, found through the created_at index. */
const EXPIRE_PAGE = 1_000;
const EXPIRE_PAGES_PER_TICK = 10;

/** Cron: deletes records older than KEEP_MS, at most EXPIRE_PAGE * EXPIRE_PAGES_PER_TICK a tick. */
export async function expireIdempotencyRecords(d: Db, t = now()): Promise<number> {
  let deleted = 0;
  for (let page = 0; page < EXPIRE_PAGES_PER_TICK; page++) {
    const res = await d.run(sql`
      DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at < ${t - KEEP_MS} LIMIT ${EXPIRE_PAGE})`);
    const n = res.meta.changes ?? 0;
    deleted += n;
    if (n < EXPIRE_PAGE) break;
  }
  return deleted;
}
