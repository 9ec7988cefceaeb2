import type { SequenceDO } from "../durable-objects/sequence-do";
import type { MailboxDO } from "../durable-objects/mailbox-do";
import type { RateLimiterDO } from "../durable-objects/rate-limiter-do";
import type { QueueMessage } from "./queue/messages";
import type { Grant } from "./services/access";
import type { Db } from "./db/client";

declare global {
  namespace Cloudflare {
    /** Bindings and vars of the Worker (see wrangler.toml). Secrets come from `wrangler secret put` / .dev.vars. */
    interface Env {
      DB: D1Database;
      ASSETS: Fetcher;
      JOBS: Queue<QueueMessage>;
      /** Uploaded CSV files (imports), read back in byte ranges by the queue. */
      IMPORTS: R2Bucket;
      SEQUENCE_DO: DurableObjectNamespace<SequenceDO>;
      MAILBOX_DO: DurableObjectNamespace<MailboxDO>;
      RATE_LIMITER_DO: DurableObjectNamespace<RateLimiterDO>;
      /** "production" | "local" | "test". Only "local" enables the demo seed route. */
      APP_ENV: string;
      /** Secret used to sign unsubscribe tokens and seal mailbox passwords. */
      APP_SECRET?: string;
      /**
       * The APP_SECRET before a rotation, kept a while: unsubscribe links in emails already sent were signed
       * with it and must keep working (CAN-SPAM: 30 days at least). Only verifies; nothing new is signed with it.
       */
      APP_SECRET_PREVIOUS?: string;
      /** Public base URL of the app, for links in emails (unsubscribe). `npm start` sets it to its own address; deploys must set it. Defaults to http://localhost:8787. */
      PUBLIC_URL?: string;
      /** Cloudflare Email Service binding for mailboxes using the `send_email` transport. */
      EMAIL?: SendEmail;
      /** OAuth apps for Gmail / Microsoft 365 mailboxes (secrets; see the README). Without them the connect buttons say what to set. */
      GOOGLE_CLIENT_ID?: string;
      GOOGLE_CLIENT_SECRET?: string;
      MICROSOFT_CLIENT_ID?: string;
      MICROSOFT_CLIENT_SECRET?: string;
      /** Microsoft tenant for sign-in: "common" (default), "organizations", or a tenant id. */
      MICROSOFT_TENANT?: string;
      /** Provider endpoints, for tests against local servers; default to Google's and Microsoft's. */
      GOOGLE_AUTH_URL?: string;
      GOOGLE_TOKEN_URL?: string;
      GMAIL_API_URL?: string;
      MICROSOFT_LOGIN_URL?: string;
      GRAPH_API_URL?: string;
      /** JSON: per key kind, requests per minute, hour and day. */
      RATE_LIMITS?: string;
      /** Local benchmarks only: when set, each request answers its D1 round trips and rows read in Server-Timing (middleware/d1-count.ts). */
      D1_COUNT?: string;
    }
  }
}

export type Env = Cloudflare.Env;

/** Who is calling: set by the auth middleware on every /api route past it. */
export interface Caller {
  teamId: string;
  userId: string;
  role: "admin" | "member";
  via: "session" | "api_key";
  apiKeyId?: string;
  apiKeyKind?: "master" | "standard";
  /** API key callers: the role of the user who made the key (`role` is the key's kind's), for saying why a key is refused. */
  userRole?: "admin" | "member";
  sessionId?: string;
  /** Session callers only: the token mutations must echo in X-CSRF-Token. */
  csrfToken?: string;
  /** The authorization checks this request passed (services/access.ts records them for idempotent replays). */
  grants?: Grant[];
}

/** `caller` is set by the auth middleware, `db` (one drizzle handle per request) by middleware/db.ts. */
export type AppEnv = { Bindings: Env; Variables: { caller: Caller; db: Db } };
