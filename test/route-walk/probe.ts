// One probe of the route walk: a generated input for one route, sent as one caller, and the rules
// every answer must follow. Findings come back as data (not thrown), so one run lists them all.
import { Validator, type Schema as ValidatorSchema } from "@cfworker/json-schema";
import fc from "fast-check";
import { ERROR_STATUS } from "../../worker/lib/errors";
import { sessionFor } from "../fixtures";
import { call, env } from "../helpers";
import { key, type Route } from "./catalog";
import { broken, IdList, IdRef, valid, type Break, type IdKind, type Schema } from "./schema-arb";
import { changeMark, changesSince, hiddenFrom, settle, type Caller, type Change, type Resource, type TeamName, type World } from "./world";

type PathKind = "own" | "foreign" | "foreign-child" | "hidden" | "unknown" | "empty" | "long" | "weird";

/**
 * Resources whose ids a member must not be able to tell from unknown ones when their sequence is hidden from it
 * (an email template: when it is another user's private one).
 */
const HIDEABLE: Resource[] = ["sequences", "jobs", "workflows", "messages", "email_templates"];

export interface Input {
  pathKind: PathKind;
  pick: number;
  enums: Record<string, string>;
  query: Record<string, unknown>;
  /** Which query parameter was broken, and how (out of range, not a number, not a choice). */
  queryBreak: string | null;
  body:
    | { mode: "none" }
    | { mode: "json"; value: unknown; broke: Break | null; atMax: boolean }
    | { mode: "raw"; text: string; type: string; what: string };
  transport: "json" | "form" | "query";
  /** An Idempotency-Key sent with a POST; a success is then replayed by every other caller. */
  idem: string | null;
}

export interface Finding {
  rule: string;
  route: string;
  caller: string;
  status: number;
  request: string;
  answer: string;
  note: string;
  /** `fail` breaks the walk; `note` is reported only (slow answers, statuses the document doesn't list). */
  severity: "fail" | "note";
}

const WEIRD = [
  "%2e%2e",
  "..",
  "%00",
  "%E0%A4%A",
  "a%2Fb",
  "%F0%9F%98%80",
  "null",
  "undefined",
  "0",
  "-1",
  "1%20OR%201%3D1",
  "%27%22",
  "%252F",
];

// ---- inputs -----------------------------------------------------------------------------------

function queryArb(route: Route): fc.Arbitrary<{ query: Record<string, unknown>; queryBreak: string | null }> {
  const qs = route.params.filter((p) => p.in === "query");
  if (!qs.length) return fc.constant({ query: {}, queryBreak: null });
  const one = (s: Schema, name: string) => valid(s, name);
  return fc
    .tuple(
      fc.tuple(...qs.map((p) => (p.required ? one(p.schema, p.name) : fc.option(one(p.schema, p.name), { nil: undefined, freq: 2 })))),
      fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: null, freq: 2 }),
    )
    .map(([vals, br]) => {
      const query: Record<string, unknown> = {};
      qs.forEach((p, i) => vals[i] !== undefined && (query[p.name] = vals[i]));
      if (!br) return { query, queryBreak: null };
      const p = qs[br[0] % qs.length]!;
      const s = p.schema;
      const num = s.type === "integer" || s.type === "number";
      // [what, value, whether the document certainly forbids it]
      const options: [string, unknown, boolean][] = [
        ["empty", "", num || !!s.enum || (s.minLength ?? 0) > 0],
        ["10,000 characters", "q".repeat(10_000), num || !!s.enum || (s.maxLength ?? Infinity) < 10_000],
      ];
      if (num) {
        options.push(
          ["not a number", "abc", true],
          ["1e400", "1e400", s.maximum !== undefined],
          ["a fraction", "1.5", s.type === "integer"],
          ["-1", "-1", (s.minimum ?? -Infinity) > -1],
          ["huge", "99999999999999999999", s.maximum !== undefined],
        );
        if (s.maximum !== undefined) options.push([`${s.maximum + 1} (maximum ${s.maximum})`, String(s.maximum + 1), true]);
        if (s.minimum !== undefined) options.push([`${s.minimum - 1} (minimum ${s.minimum})`, String(s.minimum - 1), true]);
      }
      if (s.enum) options.push(["not a choice", "not-a-choice", true]);
      if (s.maxLength !== undefined)
        options.push([`${s.maxLength + 1} characters (maximum ${s.maxLength})`, "z".repeat(s.maxLength + 1), true]);
      const [what, v, certain] = options[br[1] % options.length]!;
      query[p.name] = v;
      return { query, queryBreak: certain ? `${p.name}: ${what}` : null };
    });
}

/** Fields no body may set (mass assignment): another team, another id, a role, a balance. */
const EXTRAS = {
  team_id: new IdRef("teams", "foreign", 0),
  id: new IdRef("contacts", "foreign", 1),
  created_by: new IdRef("users", "foreign", 0),
  role: "admin",
  kind: "master",
  credit_balance: 1_000_000_000,
  deleted_at: 1,
  revoked_at: null,
};

const JUNK: [string, string, string][] = [
  ["{", "application/json", "truncated JSON"],
  ["", "application/json", "empty body"],
  ["null", "application/json", "JSON null"],
  ["[]", "application/json", "JSON array"],
  ['"text"', "application/json", "JSON string"],
  ["1e999", "application/json", "JSON number out of range"],
  ['{"a":1}', "text/plain", "text/plain body"],
  ["a=1&b[]=2", "application/x-www-form-urlencoded", "form body"],
  [`{"x":"${"b".repeat(1_100_000)}"}`, "application/json", "1.1 MB body"],
  ['{"__proto__":{"admin":true},"constructor":{"prototype":{}}}', "application/json", "prototype keys"],
];

export function inputArb(route: Route): fc.Arbitrary<Input> {
  const kinds: { weight: number; arbitrary: fc.Arbitrary<PathKind> }[] = route.ids.length
    ? [
        { weight: 6, arbitrary: fc.constant("own") },
        { weight: 3, arbitrary: fc.constant("foreign") },
        ...(route.ids.length > 1 ? [{ weight: 2, arbitrary: fc.constant<PathKind>("foreign-child") }] : []),
        ...(HIDEABLE.includes(route.ids[0]!.res) ? [{ weight: 2, arbitrary: fc.constant<PathKind>("hidden") }] : []),
        { weight: 1, arbitrary: fc.constantFrom<PathKind>("unknown", "empty", "long", "weird") },
      ]
    : [{ weight: 1, arbitrary: fc.constant("own") }];
  const enumParams = route.params.filter((p) => p.in === "path" && p.schema.enum);
  const enums = fc
    .tuple(
      ...enumParams.map((p) =>
        fc.oneof(
          { weight: 9, arbitrary: fc.constantFrom<string>(...(p.schema.enum as string[])) },
          { weight: 1, arbitrary: fc.constantFrom("unknown-action", "", "PAUSE") },
        ),
      ),
    )
    .map((vals) => Object.fromEntries(enumParams.map((p, i) => [p.name, vals[i]!])));
  const junk = fc.constantFrom(...JUNK).map(([text, type, what]) => ({ mode: "raw" as const, text, type, what }));
  const body: fc.Arbitrary<Input["body"]> =
    route.body && route.method === "GET"
      ? fc.oneof(
          valid(route.body).map((value) => ({ mode: "json" as const, value, broke: null, atMax: false })),
          broken(route.body).map(({ value, broke }) => ({ mode: "json" as const, value, broke, atMax: false })),
        )
      : route.body
        ? fc.oneof(
            { weight: 3, arbitrary: valid(route.body).map((value) => ({ mode: "json" as const, value, broke: null, atMax: false })) },
            {
              weight: 1,
              arbitrary: valid(route.body).map((value) => ({
                mode: "json" as const,
                value: value && typeof value === "object" && !Array.isArray(value) ? { ...EXTRAS, ...value } : value,
                broke: null,
                atMax: false,
              })),
            },
            {
              weight: 1,
              arbitrary: valid(route.body, "", true).map((value) => ({ mode: "json" as const, value, broke: null, atMax: true })),
            },
            { weight: 4, arbitrary: broken(route.body).map(({ value, broke }) => ({ mode: "json" as const, value, broke, atMax: false })) },
            { weight: 1, arbitrary: junk },
          )
        : fc.oneof(
            { weight: 9, arbitrary: fc.constant({ mode: "none" as const }) },
            { weight: 1, arbitrary: route.method === "GET" ? fc.constant({ mode: "none" as const }) : junk },
          );
  const transport =
    route.api === "apollo" && route.method !== "GET"
      ? fc.constantFrom<Input["transport"]>("json", "json", "json", "form", "query")
      : fc.constant<Input["transport"]>(route.method === "GET" && route.api === "apollo" ? "query" : "json");
  const idem =
    route.method === "POST"
      ? fc.option(
          fc.nat().map((n) => `walk-${n}`),
          { nil: null, freq: 2 },
        )
      : fc.constant(null);
  return fc
    .record({ pathKind: fc.oneof(...kinds), pick: fc.nat({ max: 100_000 }), enums, q: queryArb(route), body, transport, idem })
    .map(({ q, ...r }) => ({ ...r, query: q.query, queryBreak: q.queryBreak }));
}

/** The same route with every array at its documented maximum and own ids: the input that found D1's parameter limit. */
export function atMaxInput(route: Route): Input | null {
  if (!route.body) return null;
  const value = fc.sample(valid(route.body, "", true), { seed: 1, numRuns: 1 })[0];
  const enums = Object.fromEntries(
    route.params.filter((p) => p.in === "path" && p.schema.enum).map((p) => [p.name, String(p.schema.enum![0])]),
  );
  return {
    pathKind: "own",
    pick: 0,
    enums,
    query: {},
    queryBreak: null,
    body: { mode: "json", value, broke: null, atMax: true },
    transport: route.method === "GET" ? "query" : "json",
    idem: null,
  };
}

// ---- resolving placeholders for one caller ------------------------------------------------------

const other = (t: TeamName): TeamName => (t === "demo" ? "rival" : "demo");
/** A well-formed id no team has (24 hex, like newId), the same for the same pick. */
const unknownId = (pick: number) => "ee" + ((pick * 2654435761) % 2 ** 32).toString(16).padStart(22, "0");

interface Ctx {
  world: World;
  team: TeamName;
  sequenceId: string | null;
  /** Every id the request carries (an answer may echo them). */
  sent: Set<string>;
  /** For a member or standard key: what its sequence visibility hides. */
  hidden: Map<Resource, Set<string>> | null;
}

function pickFrom(list: string[] | undefined, pick: number): string | null {
  return list?.length ? list[pick % list.length]! : null;
}

function idOf(ctx: Ctx, res: Resource, kind: IdKind, pick: number): string {
  if (kind === "empty") return "";
  if (kind === "long") return "l".repeat(65 + (pick % 300));
  if (kind === "unknown") return unknownId(pick);
  const pool = ctx.world.pools[kind === "own" ? ctx.team : other(ctx.team)];
  let id: string | null = null;
  if (kind === "own" && ctx.sequenceId && res === "steps") id = pickFrom(pool.stepsBySequence.get(ctx.sequenceId), pick);
  if (kind === "own" && ctx.sequenceId && res === "enrollments") id = pickFrom(pool.enrollmentsBySequence.get(ctx.sequenceId), pick);
  id ??= pickFrom(pool.ids[res], pick) ?? unknownId(pick);
  ctx.sent.add(id);
  return id;
}

function resolve(ctx: Ctx, v: unknown): unknown {
  if (v instanceof IdRef) return idOf(ctx, v.res, v.kind, v.pick);
  if (v instanceof IdList) {
    // n different ids: past a pool's size an id would repeat, and a repeat counts once against a list's limit
    // (README), so a list one past its maximum is made of unknown ids from there on.
    const seen = new Set<string>();
    return Array.from({ length: v.n }, (_, i) => {
      const kind = v.kind === "mixed" ? (i % 2 ? "unknown" : "own") : v.kind;
      const id = kind === "unknown" ? unknownId(v.pick + i) : idOf(ctx, v.res, kind, v.pick + i);
      const distinct = seen.has(id) ? unknownId(v.pick + i) : id;
      seen.add(distinct);
      return distinct;
    });
  }
  if (Array.isArray(v)) return v.map((x) => resolve(ctx, x));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(ctx, x)]));
  return v;
}

interface PathIds {
  values: string[];
  /** The same path with foreign ids swapped for unknown ones (what a foreign id must look like). */
  twin: string[] | null;
}

function pathIds(route: Route, ctx: Ctx, input: Input): PathIds {
  const { pools } = ctx.world;
  const chain = (team: TeamName, pick: number): string[] => {
    const out: string[] = [];
    for (const { res } of route.ids) {
      const parent = out[out.length - 1];
      const pool = pools[team];
      const list =
        res === "steps" && parent
          ? pool.stepsBySequence.get(parent)
          : res === "variants" && parent
            ? pool.variantsByStep.get(parent)
            : pool.ids[res];
      out.push(pickFrom(list, pick) ?? unknownId(pick + out.length));
    }
    return out;
  };
  const p = input.pick;
  switch (input.pathKind) {
    case "own":
      return { values: chain(ctx.team, p), twin: null };
    case "foreign": {
      const values = chain(other(ctx.team), p);
      return { values, twin: values.map((_, i) => unknownId(p + i)) };
    }
    case "foreign-child": {
      const values = chain(ctx.team, p);
      const last = route.ids[route.ids.length - 1]!.res;
      values[values.length - 1] = pickFrom(pools[other(ctx.team)].ids[last], p) ?? unknownId(p);
      const twin = [...values];
      twin[twin.length - 1] = unknownId(p + 7);
      return { values, twin };
    }
    case "hidden": {
      const list = [...(ctx.hidden?.get(route.ids[0]!.res) ?? [])];
      if (!list.length) return { values: chain(ctx.team, p), twin: null };
      const values = chain(ctx.team, p);
      values[0] = list[p % list.length]!;
      // Children of a hidden parent: its own (hidden too), or unknown ids.
      for (let i = 1; i < values.length; i++) values[i] = unknownId(p + i);
      return { values, twin: values.map((_, i) => unknownId(p + 11 + i)) };
    }
    case "unknown":
      return { values: route.ids.map((_, i) => unknownId(p + i)), twin: null };
    case "empty":
      return { values: route.ids.map((_, i) => (i === 0 ? "" : unknownId(p + i))), twin: null };
    case "long":
      return { values: route.ids.map((_, i) => (i === 0 ? "L".repeat(65 + (p % 400)) : unknownId(p + i))), twin: null };
    case "weird":
      return { values: route.ids.map((_, i) => (i === 0 ? WEIRD[p % WEIRD.length]! : unknownId(p + i))), twin: null };
  }
}

function buildPath(route: Route, ids: string[], enums: Record<string, string>): string {
  let i = 0;
  return (
    route.prefix +
    route.template.replace(/\{(\w+)\}/g, (_, name: string) => {
      if (name in enums) return encodeURIComponent(enums[name]!);
      const v = ids[i++] ?? "";
      return /%/.test(v) ? v : encodeURIComponent(v);
    })
  );
}

/** Apollo's flat parameters: `name[]` for arrays, strings for everything else. */
function flatten(value: unknown): [string, string][] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [["value", JSON.stringify(value)]];
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (Array.isArray(v)) for (const x of v) out.push([`${k}[]`, typeof x === "string" ? x : JSON.stringify(x)]);
    else out.push([k, typeof v === "string" ? v : JSON.stringify(v)]);
  }
  return out;
}

interface Built {
  url: string;
  init: RequestInit;
  twinUrl: string | null;
  describe: string;
  sent: Set<string>;
  seq: string | null;
  /** The body's value as sent (ids resolved), for the schema check. */
  value: unknown;
}

let idemSerial = 0;

/** What is hidden from a user changes only when a write succeeds: read it again after each. */
const hiddenCache = new Map<string, Promise<Map<Resource, Set<string>>>>();
function hiddenCached(teamId: string, userId: string) {
  const k = `${teamId} ${userId}`;
  if (!hiddenCache.has(k)) hiddenCache.set(k, hiddenFrom(teamId, userId));
  return hiddenCache.get(k)!;
}

function build(route: Route, caller: Caller, input: Input, world: World, hidden: Ctx["hidden"]): Built {
  const ctx: Ctx = { world, team: caller.team, sequenceId: null, sent: new Set(), hidden };
  const ids = pathIds(route, ctx, input);
  for (const v of ids.values) ctx.sent.add(v);
  if (route.ids[0]?.res === "sequences" && ["own", "foreign-child"].includes(input.pathKind)) ctx.sequenceId = ids.values[0]!;
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(resolve(ctx, input.query) as Record<string, unknown>))
    query.append(k, typeof v === "string" ? v : JSON.stringify(v));
  // Keys are unique per request (a counter), so one caller's earlier record never answers its next probe.
  const idem = input.idem ? `${input.idem}-${++idemSerial}` : null;
  const headers: Record<string, string> = { ...caller.headers, ...(idem ? { "idempotency-key": idem } : {}) };
  let body: string | undefined;
  let bodyDesc = "";
  let value: unknown;
  if (input.body.mode === "json") {
    value = resolve(ctx, input.body.value);
    if (input.transport === "json") {
      body = JSON.stringify(value);
      headers["content-type"] = "application/json";
    } else {
      const pairs = new URLSearchParams(flatten(value));
      if (input.transport === "form") {
        body = pairs.toString();
        headers["content-type"] = "application/x-www-form-urlencoded";
      } else for (const [k, v] of pairs) query.append(k, v);
    }
    const shown = JSON.stringify(value, (_k, v) =>
      Array.isArray(v) && v.length > 6
        ? [...v.slice(0, 3), `…${v.length} items in all`]
        : typeof v === "string" && v.length > 80
          ? `${v.slice(0, 40)}…(${v.length} chars)`
          : v,
    );
    bodyDesc = ` ${input.transport !== "json" ? `[${input.transport}] ` : ""}${shown}${input.body.broke ? `  ← broken: ${input.body.broke.at} ${input.body.broke.what}` : input.body.atMax ? "  ← arrays at documented maximum" : ""}`;
  } else if (input.body.mode === "raw") {
    body = input.body.text;
    headers["content-type"] = input.body.type;
    bodyDesc = ` <${input.body.what}>`;
  }
  const qs = query.toString();
  const url = buildPath(route, ids.values, input.enums) + (qs ? `?${qs}` : "");
  const twinUrl = ids.twin ? buildPath(route, ids.twin, input.enums) + (qs ? `?${qs}` : "") : null;
  const shortUrl = url.length > 300 ? `${url.slice(0, 200)}…(${url.length} chars)` : url;
  return {
    url,
    init: { method: route.method, headers, body },
    twinUrl,
    describe: `${route.method} ${shortUrl}${idem ? ` [Idempotency-Key ${idem}]` : ""}${bodyDesc}${input.queryBreak ? `  ← broken query: ${input.queryBreak}` : ""}`,
    sent: ctx.sent,
    seq: ctx.sequenceId,
    value,
  };
}

// ---- the rules ----------------------------------------------------------------------------------

interface Answer {
  status: number;
  replayed: boolean;
  text: string;
  json: unknown;
  /** The error code, when the answer is the one error body. */
  code: string | undefined;
  /** A redirect's Location header (the OAuth callback's only answer), else null. */
  location: string | null;
  changes: Change[];
  ms: number;
}

async function send(url: string, init: RequestInit, mutation: boolean): Promise<Answer> {
  const mark = await changeMark();
  const t0 = Date.now();
  let status: number;
  let text: string;
  let replayed = false;
  let location: string | null = null;
  try {
    // The Worker's own answer, never where it redirects to: fetch follows a redirect by default, and the OAuth
    // callback's /mailboxes?… is the web app (ASSETS), whose answer depends on whether web/dist is built.
    const res = await call(url, { ...init, redirect: "manual" });
    status = res.status;
    location = res.headers.get("location");
    replayed = res.headers.get("idempotent-replayed") === "true";
    text = await res.text();
  } catch (e) {
    status = 599;
    text = `the Worker threw: ${(e as Error)?.stack ?? e}`;
  }
  const ms = Date.now() - t0;
  if (mutation && status < 300) {
    hiddenCache.clear();
    await settle();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, replayed, text, json, code: codeOf(json), location, changes: await changesSince(mark), ms };
}

/**
 * What is wrong with a redirect, or null: it must say where it goes, and go to a page of this app (a path
 * from its root: not `//host`, `/\\host` or a full URL, which would send the browser to another site).
 */
export function redirectProblem(status: number, location: string | null): string | null {
  if (status < 300 || status >= 400) return null;
  if (!location) return `answered ${status} without a Location`;
  if (!/^\/(?![/\\])/.test(location)) return `redirects off the app, to ${location.slice(0, 160)}`;
  return null;
}

/** `error.code` of a parsed body, if it has one. */
function codeOf(json: unknown): string | undefined {
  if (!json || typeof json !== "object" || !("error" in json)) return undefined;
  const e = json.error;
  return e && typeof e === "object" && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

const CERTAIN: Break["cls"][] = ["type", "required", "bound", "enum", "pattern", "id"];
const validators = new Map<Schema, Validator>();
function schemaValid(schema: Schema, value: unknown): boolean {
  let v = validators.get(schema);
  if (!v) validators.set(schema, (v = new Validator(schema as ValidatorSchema, "2020-12", false)));
  return v.validate(value).valid;
}

/** What is wrong with an error answer's body, or null: exactly `{ error: { code, message, details? } }`, a known code, its status. */
export function errorShapeProblem(status: number, json: unknown): string | null {
  if (!json || typeof json !== "object" || Array.isArray(json)) return "not a JSON object";
  const keys = Object.keys(json);
  if (keys.length !== 1 || keys[0] !== "error") return `top-level keys ${JSON.stringify(keys)} (want only "error")`;
  const e: unknown = (json as { error: unknown }).error;
  if (!e || typeof e !== "object") return "error is not an object";
  const { code, message, details } = e as { code?: unknown; message?: unknown; details?: unknown };
  const extra = Object.keys(e).filter((k) => !["code", "message", "details"].includes(k));
  if (extra.length) return `error has extra keys ${JSON.stringify(extra)}`;
  if (typeof code !== "string" || !(code in ERROR_STATUS)) return `code ${JSON.stringify(code)} is not one of the API's error codes`;
  if (typeof message !== "string" || !message.trim()) return "message is empty";
  if ((ERROR_STATUS as Record<string, number>)[code] !== status)
    return `code ${code} belongs to status ${(ERROR_STATUS as Record<string, number>)[code]}, answered with ${status}`;
  const fields = (details as { fields?: unknown } | null | undefined)?.fields;
  if (
    code === "validation_failed" &&
    status === 422 &&
    !(
      Array.isArray(fields) &&
      fields.length &&
      fields.every(
        (f: { field?: unknown; message?: unknown } | null) =>
          typeof f?.field === "string" && f.field && typeof f?.message === "string" && f.message,
      )
    )
  ) {
    return "422 validation_failed without details.fields naming each field";
  }
  return null;
}

const clip = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Sends one generated input as one caller; returns every rule it breaks. */
export async function probe(route: Route, caller0: Caller, input: Input, world: World, callers: Caller[]): Promise<Finding[]> {
  let caller = caller0;
  // Signing out ends the session the walk uses: sign out a throwaway session of the same user.
  if (route.template === "/auth/logout" && caller.via === "session") {
    const s = await sessionFor(world.pools[caller.team].teamId, caller.userId);
    caller = { ...caller, headers: { cookie: s.cookie, "x-csrf-token": s.csrf } };
  }
  const limited = caller.name === "member" || caller.name === "standard_key";
  const hidden = limited ? await hiddenCached(world.pools[caller.team].teamId, caller.userId) : null;
  const b = build(route, caller, input, world, hidden);
  const mutation = route.method !== "GET";
  const a = await send(b.url, b.init, mutation);
  const findings: Finding[] = [];
  const found = (rule: string, note: string, ans: Answer = a, request = b.describe, who: string = caller.name) =>
    findings.push({
      rule,
      route: key(route),
      caller: who,
      status: ans.status,
      request,
      answer: clip(ans.text),
      note,
      severity: NOTES.includes(rule) ? "note" : "fail",
    });
  judge(a, found, caller, world, b, route, input, hidden);
  if (caller.weakerKeys && (a.status === 403 || a.status === 404)) {
    // A standard key acts as a member: what the member is refused, a key of the member's, or of an admin
    // who owns nothing, is refused too.
    for (const weak of caller.weakerKeys) {
      const k = await send(b.url, { ...b.init, headers: { ...withoutAuth(b.init.headers), ...weak.headers } }, route.method !== "GET");
      if (k.status < 300)
        found(
          "standard_key_exceeds_member",
          `the member was refused (${a.status} ${a.code}) but the ${weak.name} answered ${k.status}`,
          k,
          b.describe,
          weak.name,
        );
      if (k.status >= 500) found("server_error", `answered ${k.status} to the ${weak.name}`, k, b.describe, weak.name);
    }
  }
  if (input.idem && a.status < 300) {
    // Invariant 12: an idempotency record belongs to its caller; nobody else gets its stored answer.
    // One other caller per success (which one follows the input), so a walk covers every pair without replaying four times.
    const others = callers.filter((c) => c.name !== caller.name);
    for (const other of [others[input.pick % others.length]!]) {
      const r = await send(b.url, { ...b.init, headers: { ...withoutAuth(b.init.headers), ...other.headers } }, true);
      if (r.replayed)
        found(
          "idempotent_replay_crossed",
          `${other.name} replayed ${caller.name}'s stored answer (${r.status})`,
          r,
          b.describe,
          other.name,
        );
      if (r.status >= 500)
        found("server_error", `answered ${r.status} to ${other.name} reusing ${caller.name}'s Idempotency-Key`, r, b.describe, other.name);
    }
    const stored = await env.DB.prepare("SELECT body FROM idempotency_keys WHERE key = ?")
      .bind((b.init.headers as Record<string, string>)["idempotency-key"])
      .all<{ body: string | null }>();
    const secrets = secretsIn(a.json);
    for (const row of stored.results)
      if (row.body && secrets.some((x) => row.body!.includes(x)))
        found("stored_secret", "the idempotency record stores a secret the answer showed once");
  }
  if (b.twinUrl) {
    // A foreign id must be indistinguishable from an id that doesn't exist, and never succeed.
    const t = await send(b.twinUrl, b.init, mutation);
    judge(
      t,
      (rule, note, ans = t) => found(rule, note, ans, `${b.describe.split(" ")[0]} ${b.twinUrl}`),
      caller,
      world,
      b,
      route,
      input,
      hidden,
    );
    const what = input.pathKind === "hidden" ? "hidden" : "foreign";
    const whose =
      input.pathKind === "hidden" ? "an id of a sequence (or its job, workflow, email) hidden from this caller" : "a foreign id";
    if (a.status < 300) found(`${what}_id_accepted`, `${whose} in the path answered ${a.status} (an unknown id answers ${t.status})`);
    else if (t.status === 404 && a.status !== 404)
      found(`${what}_id_not_404`, `${whose} answered ${a.status} ${a.code ?? ""}, an unknown id 404`);
    else if (a.status !== t.status || a.code !== t.code)
      found(`${what}_id_distinguishable`, `${whose} answered ${a.status} ${a.code}, an unknown id ${t.status} ${t.code}`);
  }
  return findings;
}

/**
 * Reads whose one write is their own audit entry: an export of contacts with their emails is on the audit log
 * when it starts (worker/services/contacts-export.ts). Any other write from them is still a finding.
 */
const AUDITED_READS = new Set(["/contacts/export", "/sequences/{id}/contacts/export"]);

function judge(
  a: Answer,
  found: (rule: string, note: string, ans?: Answer) => void,
  caller: Caller,
  world: World,
  b: Built,
  route: Route,
  input: Input,
  hidden: Ctx["hidden"],
) {
  // A redirect (the OAuth callback's only answer) is not an error; 4xx and 5xx are.
  const ok = a.status >= 200 && a.status < 400;
  if (a.status >= 500) found("server_error", `answered ${a.status}`);
  if (!ok) {
    const problem = errorShapeProblem(a.status, a.json);
    if (problem) found("error_shape", problem);
  }
  // A redirect is judged as the Worker answers it (send doesn't follow it): it names where it goes, and
  // that is a page of this app (a path), never another site a crafted query could send the browser to.
  const offApp = redirectProblem(a.status, a.location);
  if (offApp) found("redirect_target", offApp);
  const writes = a.changes.filter(
    (c) => !(c.tbl === "sessions" && route.template.startsWith("/auth/")) && !(c.tbl === "audit_log" && AUDITED_READS.has(route.template)),
  );
  if (!ok && writes.length) found("refused_but_wrote", `answered ${a.status} yet wrote ${summarize(writes)}`);
  if (route.method === "GET" && writes.length) found("read_wrote", `a read wrote ${summarize(writes)}`);
  const teamId = world.pools[caller.team].teamId;
  const foreignWrites = a.changes.filter((c) => c.team !== null && c.team !== teamId);
  if (foreignWrites.length)
    found("cross_team_write", `a caller of ${caller.team} changed another team's rows: ${summarize(foreignWrites)}`);
  const theirs = world.idsOfTeam[other(caller.team)];
  // Ids shared by every team (people of the prospect database) say nothing about another team.
  const shownIds = [...new Set(`${a.text} ${a.location ?? ""}`.match(/[0-9a-f]{24}/g) ?? [])].filter(
    (id) => !b.sent.has(id) && !world.sharedIds.has(id),
  );
  const leaked = shownIds.filter((id) => theirs.has(id));
  if (leaked.length) found("foreign_leak", `the answer shows ${leaked.length} id(s) of another team: ${leaked.slice(0, 3).join(", ")}`);
  if (hidden && a.status < 300) {
    const shown = [...hidden].flatMap(([res, set]) => shownIds.filter((id) => set.has(id)).map((id) => `${res} ${id}`));
    if (shown.length)
      found(
        "hidden_leak",
        `the answer shows ${shown.length} id(s) of sequences hidden from ${caller.name} (or their steps, contacts' enrollments, emails, jobs, workflows, tasks): ${shown.slice(0, 3).join(", ")}`,
      );
  }
  if (ok && input.queryBreak) found("accepted_invalid_query", `accepted a query the document forbids (${input.queryBreak})`);
  if (ok && input.body.mode === "json" && input.body.broke) {
    const br = input.body.broke;
    // Apollo reads every parameter leniently (a string where an array goes, "true" for true): only limits, choices and ids count there.
    const certain = route.api === "rest" ? CERTAIN.includes(br.cls) : ["bound", "required", "enum", "id"].includes(br.cls);
    if (certain && br.cls === "id") found("accepted_bad_id", `stored or acted on a ${br.what} in ${br.at}`);
    else if (certain && route.body && !schemaValid(route.body, b.value))
      found("accepted_invalid_body", `accepted a body the document forbids: ${br.at} ${br.what}`);
  }
  const junkNeverOk =
    route.api === "rest"
      ? [
          "truncated JSON",
          "JSON null",
          "JSON array",
          "JSON string",
          "JSON number out of range",
          "1.1 MB body",
          ...(route.bodyRequired ? ["empty body"] : []),
        ]
      : ["truncated JSON", "1.1 MB body"];
  if (ok && input.body.mode === "raw" && route.body && junkNeverOk.includes(input.body.what))
    found("accepted_invalid_body", `accepted ${input.body.what}`);
  if (a.ms > 5_000) found("slow", `took ${(a.ms / 1000).toFixed(1)} s`);
  if (route.documented && !route.documented.includes(a.status) && ![400, 401, 413, 429].includes(a.status))
    found("undocumented_status", `the document lists ${route.documented.join(", ")} for this operation, not ${a.status}`);
}

/** A request's headers without who sends it (to send the same request as someone else). */
function withoutAuth(headers: RequestInit["headers"]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers as Record<string, string>).filter(([h]) => !["cookie", "x-csrf-token", "x-api-key"].includes(h)),
  );
}

/** Rules that are reported, not failed on. */
const NOTES = ["slow", "undocumented_status"];

/** Values an answer shows once and must never be stored: created keys, tokens, passwords. */
function secretsIn(json: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, k = "") => {
    if (typeof v === "string" && /^(key|secret|token|password|api_key)$/.test(k) && v.length >= 16) out.push(v);
    else if (v && typeof v === "object") for (const [kk, vv] of Object.entries(v)) walk(vv, kk);
  };
  walk(json);
  return out;
}

function summarize(changes: Change[]): string {
  const n = new Map<string, number>();
  for (const c of changes) n.set(`${c.op} ${c.tbl}`, (n.get(`${c.op} ${c.tbl}`) ?? 0) + 1);
  return [...n].map(([k, v]) => `${v}× ${k}`).join(", ");
}
