import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { Table } from "drizzle-orm";
import { hc, type ClientResponse } from "hono/client";
import { app, type AppType } from "../worker/app";
import { countingD1 } from "../worker/middleware/d1-count";

export { env };

export const BASE = "http://seqflare.test";

export interface Session {
  cookie: string;
  csrf: string;
  userId: string;
  teamId: string;
}

/**
 * A GET signed in with `cookie`, straight through the app with D1 counted: the answer's status and
 * JSON body, and the request's D1 round trips, rows read and statements (for the tests that hold a
 * page to what it reads).
 */
export async function countedGet<T>(cookie: string, path: string) {
  const counted = countingD1(env.DB, { rowsOfRaw: true });
  const ctx = createExecutionContext();
  const res = await app.request(`${BASE}${path}`, { headers: { cookie } }, { ...env, DB: counted.db }, ctx);
  const body = (await res.json()) as T;
  await waitOnExecutionContext(ctx);
  return { status: res.status, body, count: counted.count };
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

/** One refused field of a 422 (`details.fields[]`), as worker/lib/errors.ts words it. */
export interface FieldProblem {
  /** The dotted path: `smtp.port`, `variants.0.subject`, `(body)`. */
  field: string;
  /** The field's name in words. */
  label: string;
  message: string;
  /** zod's issue code, when zod refused it. */
  code?: string;
}

/** The one error body's contents, with the answer's status. `details` depends on the code: read it through fieldsOf / detailsOf. */
export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  details?: unknown;
}

/** The error an answer carries (any response: the worker's own, or a typed-client call's). */
export async function errorOf(res: { status: number; json(): Promise<unknown> }): Promise<ErrorAnswer> {
  const body = (await res.json()) as { error: Omit<ErrorAnswer, "status"> };
  return { status: res.status, ...body.error };
}

/** The refused fields of a 422 (`details.fields`); throws (failing the test) when the answer has none. */
export function fieldsOf(err: Pick<ErrorAnswer, "details">): FieldProblem[] {
  const fields = (err.details as { fields?: unknown } | null | undefined)?.fields;
  if (!Array.isArray(fields)) throw new Error(`expected details.fields, got ${JSON.stringify(err.details)}`);
  return fields as FieldProblem[];
}

/** The figures an error carries in `details` (limit_bytes, balance, fix, next_window_opens_at…); throws when it has none. */
export function detailsOf(err: Pick<ErrorAnswer, "details">): Record<string, unknown> {
  if (typeof err.details !== "object" || err.details === null || Array.isArray(err.details))
    throw new Error(`expected details, got ${JSON.stringify(err.details)}`);
  return err.details as Record<string, unknown>;
}

/** What D1 answers for one column in a raw query: booleans as 0/1, JSON as its text, instants as epoch numbers. */
type RawValue<C extends { _: { columnType: string; data: unknown; notNull: boolean } }> =
  | (C["_"]["columnType"] extends "SQLiteBoolean" | "SQLiteTimestamp"
      ? number
      : C["_"]["columnType"] extends "SQLiteTextJson" | "SQLiteBlobJson"
        ? string
        : C["_"]["data"])
  | (C["_"]["notNull"] extends true ? never : null);

/**
 * A row of a drizzle table as a raw `env.DB.prepare("SELECT * ...")` answers it: the SQL column names
 * (snake_case) with D1's values. `Pick<RawRow<typeof enrollments>, "status" | "reason">` for a few columns.
 */
export type RawRow<T extends Table> = {
  [K in keyof T["_"]["columns"] as T["_"]["columns"][K]["_"]["name"]]: RawValue<T["_"]["columns"][K]>;
};

/**
 * Counts, in this isolate (the Worker's and the Durable Objects' calls alike: the test pool runs them in
 * one), the D1 statements whose text matches `pattern`, until `restore()`.
 */
export function countD1Statements(pattern: RegExp) {
  const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const originals = { raw: stmtProto.raw!, all: stmtProto.all!, first: stmtProto.first!, run: stmtProto.run! };
  const counter = { n: 0, restore: () => Object.assign(stmtProto, originals) };
  for (const [name, fn] of Object.entries(originals))
    stmtProto[name] = function (this: { statement: string }, ...a: unknown[]) {
      if (pattern.test(this.statement)) counter.n++;
      return fn.apply(this, a);
    };
  return counter;
}

/** Saves an uploaded CSV import and waits until it is ready or failed (the queue saves it part by part); the import as it ended. */
export async function savedImport(s: Session, id: string, timeoutMs = 60_000) {
  const api = client(s).api;
  await ok(api.imports[":id"].save.$post({ param: { id } }), 202);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const imp = (await ok(api.imports[":id"].$get({ param: { id } }))).import;
    if (imp.status === "ready" || imp.status === "failed") return imp;
    if (Date.now() > until) throw new Error(`import ${id} still ${imp.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
