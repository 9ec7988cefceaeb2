import { hc, parseResponse } from "hono/client";
// Types only: erased at build time, so no worker code reaches the bundle.
import type { apiKeyRoutes } from "../../worker/routes/api-keys";
import type { authRoutes } from "../../worker/routes/auth";
import type { contactRoutes } from "../../worker/routes/contacts";
import type { listRoutes } from "../../worker/routes/lists";

/** The API's one error body, `{ error: { code, message, details? } }`, as a thrown value. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

// The session's CSRF token lives in memory only (never in storage): login and /me hand it back.
let csrfToken: string | null = null;
export function setCsrfToken(token: string | null) {
  csrfToken = token;
}

// Who to tell when the session is gone. The app shell registers a router navigation here.
let onUnauthenticated: () => void = () => {
  if (location.pathname !== "/login") location.assign("/login");
};
export function setUnauthenticatedHandler(fn: () => void) {
  onUnauthenticated = fn;
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy error page, an empty body): fall through to a generic message.
    body = null;
  }
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (e && typeof e.code === "string") {
    return new ApiError(res.status, e.code, typeof e.message === "string" ? e.message : res.statusText, e.details);
  }
  return new ApiError(res.status, res.status >= 500 ? "internal" : "http_error", `The server answered ${res.status} ${res.statusText}`.trim());
}

/**
 * The fetch every client call goes through: same-origin cookies, JSON, the CSRF header on mutations.
 * A non-2xx answer is thrown as an ApiError, so callers only ever see success bodies; a 401 also
 * sends the user to /login (except for the sign-in call itself, whose 401 means "wrong password").
 */
export const apiFetch: typeof fetch = async (input, init) => {
  const req = new Request(input, init);
  const headers = new Headers(req.headers);
  headers.set("Accept", "application/json");
  if (!SAFE_METHODS.has(req.method) && csrfToken) headers.set("X-CSRF-Token", csrfToken);
  let res: Response;
  try {
    res = await fetch(new Request(req, { headers, credentials: "same-origin" }));
  } catch (cause) {
    throw new ApiError(0, "network_error", "Can't reach Seqflare. Check your connection and try again.", { cause: String(cause) });
  }
  if (res.ok) return res;
  const err = await toApiError(res);
  if (res.status === 401 && !new URL(req.url).pathname.endsWith("/auth/login")) {
    csrfToken = null;
    onUnauthenticated();
  }
  throw err;
};

const base = new URL("/api", location.origin).toString();
const opts = { fetch: apiFetch };

/**
 * Typed clients, one per worker sub-app: request and response types come straight from the worker's
 * zod-openapi route definitions. (One `hc<AppType>` would be nicer, but `worker/app.ts` mounts the
 * sub-apps with unchained `api.route(...)` statements, so `AppType` carries no routes.)
 */
export const api = {
  auth: hc<typeof authRoutes>(base, opts),
  apiKeys: hc<typeof apiKeyRoutes>(base, opts),
  contacts: hc<typeof contactRoutes>(base, opts),
  lists: hc<typeof listRoutes>(base, opts),
};

/** Await a client call and return its (typed) success body; failures were already thrown by apiFetch. */
export const data = parseResponse;

export type Me = Awaited<ReturnType<typeof fetchMe>>;
export type Contact = Awaited<ReturnType<typeof fetchContacts>>["contacts"][number];
export type ContactList = Awaited<ReturnType<typeof fetchLists>>["lists"][number];
export type ApiKey = Awaited<ReturnType<typeof fetchApiKeys>>["api_keys"][number];
export type ApiKeyKind = ApiKey["kind"];

export async function login(email: string, password: string) {
  const me = await data(api.auth.auth.login.$post({ json: { email, password } }));
  setCsrfToken(me.csrf_token);
  return me;
}

export async function logout() {
  try {
    await data(api.auth.auth.logout.$post());
  } finally {
    setCsrfToken(null);
  }
}

export async function fetchMe() {
  const me = await data(api.auth.me.$get());
  setCsrfToken(me.csrf_token);
  return me;
}

export type ContactQuery = { page: number; per_page: number; q?: string; sort?: "created_at" | "name" | "score" };
export function fetchContacts(q: ContactQuery) {
  const query: Record<string, string> = { page: String(q.page), per_page: String(q.per_page) };
  if (q.q) query.q = q.q;
  if (q.sort) query.sort = q.sort;
  return data(api.contacts.contacts.$get({ query }));
}

export function fetchLists() {
  return data(api.lists.lists.$get());
}

export function fetchApiKeys() {
  return data(api.apiKeys["api-keys"].$get());
}

export function createApiKey(name: string, kind: ApiKeyKind) {
  return data(api.apiKeys["api-keys"].$post({ json: { name, kind } }));
}

export function revokeApiKey(id: string) {
  return data(api.apiKeys["api-keys"][":id"].$delete({ param: { id } }));
}
