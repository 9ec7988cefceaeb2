import { env, exports } from "cloudflare:workers";
import { hc, type ClientResponse } from "hono/client";
import type { AppType } from "../worker/app";

export { env };

export const BASE = "http://seqflare.test";

export interface Session {
  cookie: string;
  csrf: string;
  userId: string;
  teamId: string;
}

/** Calls the Worker exactly as a client would. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/**
 * The typed client the web app uses (`hc<AppType>`), signed in with a session (cookie + CSRF token, as
 * the SPA sends them) or an API key: paths, params and bodies are checked by tsc, so a renamed route
 * or field breaks the test's build instead of silently hitting a 404.
 */
export function client(auth: Session | { apiKey: string }) {
  const headers: Record<string, string> =
    "apiKey" in auth ? { "x-api-key": auth.apiKey } : { cookie: auth.cookie, "x-csrf-token": auth.csrf };
  return hc<AppType>(BASE, {
    headers,
    fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
  });
}

/** The body a typed-client call answers with `status`, typed from the route's schema for that status. */
type BodyAt<R, S extends number> = R extends ClientResponse<infer T, infer U, "json"> ? (U extends S ? T : never) : never;

/**
 * Awaits a typed-client call, checks its status (throwing with the answer's text when it differs)
 * and returns its body as the route declares it for that status.
 */
export async function ok<R extends ClientResponse<unknown, number, string>, S extends number = 200>(
  call: Promise<R>,
  status: S = 200 as S,
): Promise<BodyAt<R, S>> {
  const res = await call;
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}`);
  return (await res.json()) as BodyAt<R, S>;
}

export async function login(email: string, password = "demo1234"): Promise<Session> {
  const res = await call("/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login ${email} failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  const body = (await res.json()) as { csrf_token: string; user: { id: string }; team: { id: string } };
  return { cookie, csrf: body.csrf_token, userId: body.user.id, teamId: body.team.id };
}

/** A JSON request as the signed-in SPA sends it (cookie + CSRF token). */
export function as(s: Session, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return call(path, {
    method,
    headers: {
      cookie: s.cookie,
      "x-csrf-token": s.csrf,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A JSON request with an API key. */
export function withKey(key: string, method: string, path: string, body?: unknown) {
  return call(path, {
    method,
    headers: { "x-api-key": key, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The error an answer carries (any response: the worker's own, or a typed-client call's). */
export async function errorOf(res: { status: number; json(): Promise<unknown> }) {
  const body = (await res.json()) as { error: { code: string; message: string; details?: any } };
  return { status: res.status, ...body.error };
}
