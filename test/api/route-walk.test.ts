// The route walk (issue 8, "Make it stay fixed"): every route of /api/openapi.json and of the Apollo
// facade, called with generated valid, broken and oversized bodies, query strings and path ids, as
// an admin, a member, a standard key, a master key and another team's admin. Every answer must:
// never be a 500; answer a foreign id exactly like an id that doesn't exist (404); carry errors in
// the one body `{ error: { code, message, details? } }` with a known code; write nothing when it
// refuses (a D1 change log made of triggers sees every row written); write nothing for a read; never
// touch or show another team's rows; refuse what the document forbids.
//
// Deterministic: a fixed seed per route (ROUTE_WALK_SEED=n to change it). Runs per caller and
// route: ROUTE_WALK_RUNS (default 2; e.g. ROUTE_WALK_RUNS=20 for a long walk). Findings print as `ROUTE-WALK-FINDING {json}` lines;
// `node test/route-walk/report.mjs <vitest output>` turns them into a de-duplicated table.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { resetClock, setClock } from "../../worker/lib/clock";
import { DEMO, SIM_START } from "../fixtures";
import { call, env } from "../helpers";
import {
  apolloRoutes,
  extraRoutes,
  honoPath,
  key,
  NOT_WALKED,
  restRoutes,
  unknownParams,
  type OpenApiDoc,
  type Route,
} from "../route-walk/catalog";
import { atMaxInput, errorShapeProblem, inputArb, probe, redirectProblem, type Finding } from "../route-walk/probe";
import { buildWorld, hiddenFrom, signIn, type World } from "../route-walk/world";

// ROUTE_WALK_RUNS / ROUTE_WALK_SEED (environment) reach the Workers runtime as bindings (vitest.config.ts).
const knobs = env as unknown as { ROUTE_WALK_RUNS?: string; ROUTE_WALK_SEED?: string };
const RUNS = Number(knobs.ROUTE_WALK_RUNS) || 2;
const SEED = Number(knobs.ROUTE_WALK_SEED) || 20261201;

console.log(`route walk: ${RUNS} runs per caller and route, seed ${SEED} (ROUTE_WALK_RUNS, ROUTE_WALK_SEED)`);

// The document is read from the Worker at collection time, so each route is its own test.
const doc = await (await call("/api/openapi.json")).json<OpenApiDoc>();
const routes: Route[] = [...restRoutes(doc), ...extraRoutes(), ...apolloRoutes()];

let world: World;

beforeAll(async () => {
  // Simulated time after real time: nothing the walk schedules comes due (and sends) mid-walk.
  setClock(SIM_START);
  world = await buildWorld();
}, 120_000);

afterAll(() => resetClock());

/** A stable seed per route, so adding a route doesn't reshuffle the others. */
function seedOf(r: Route): number {
  let h = SEED;
  for (const ch of key(r)) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}

function report(findings: Finding[], seed: number): string[] {
  for (const f of findings) console.log(`ROUTE-WALK-FINDING ${JSON.stringify({ ...f, seed })}`);
  const seen = new Map<string, Finding>();
  for (const f of findings.filter((x) => x.severity === "fail")) seen.set(`${f.rule} ${f.caller} ${f.status}`, f);
  return [...seen.values()].map(
    (f) => `[${f.rule}] as ${f.caller}: ${f.request} → ${f.status} ${f.answer.slice(0, 160)} (${f.note}; seed ${seed})`,
  );
}

describe("the route walk covers the Worker", () => {
  it("walks every route the Worker registers (REST and Apollo), or says why not", () => {
    const walked = new Set(routes.map((r) => `${r.method} ${honoPath(r)}`));
    const registered = new Set<string>();
    for (const r of app.routes) {
      if (r.method === "ALL") continue;
      const path = r.path.replace(/\/$/, "");
      if (path.startsWith("/apollo/v1/")) continue; // the same sub-app as /apollo/api/v1
      registered.add(`${r.method} ${path}`);
    }
    const missing = [...registered].filter((r) => !walked.has(r) && !(r in NOT_WALKED));
    expect(missing).toEqual([]);
    expect(unknownParams, "path ids whose resource the walk can't tell (teach catalog.ts SEGMENT or PARAM)").toEqual([]);
    expect(routes.length).toBeGreaterThan(80);
  });

  it("has something of every kind a member must not see, and another team's rows of every kind", async () => {
    const hidden = await hiddenFrom(DEMO.team, DEMO.rep1);
    for (const res of ["sequences", "steps", "enrollments", "jobs", "workflows", "messages", "replies", "email_templates"] as const)
      expect(hidden.get(res)?.size, res).toBeGreaterThan(0);
    // CSV imports need an uploaded file in R2: neither team has one yet, so import ids are walked as unknown ones only.
    for (const [res, ids] of Object.entries(world.pools.rival.ids))
      if (res !== "imports") expect(ids.length, `Rival's ${res}`).toBeGreaterThan(0);
  });

  it("the error-shape rule rejects bodies that break the one shape", () => {
    expect(errorShapeProblem(404, { error: { code: "not_found", message: "Contact not found" } })).toBeNull();
    expect(errorShapeProblem(404, { message: "nope" })).not.toBeNull();
    expect(errorShapeProblem(404, { error: { code: "gone", message: "x" } })).not.toBeNull();
    expect(errorShapeProblem(400, { error: { code: "not_found", message: "x" } })).not.toBeNull();
    expect(errorShapeProblem(422, { error: { code: "validation_failed", message: "x" } })).not.toBeNull();
  });

  it("the redirect rule accepts a page of this app and rejects any other target", () => {
    expect(redirectProblem(302, "/mailboxes?connect_error=expired")).toBeNull();
    expect(redirectProblem(302, "/login?next=%2Fmailboxes")).toBeNull();
    expect(redirectProblem(200, null)).toBeNull();
    expect(redirectProblem(302, null)).not.toBeNull();
    expect(redirectProblem(302, "https://evil.example/mailboxes")).not.toBeNull();
    expect(redirectProblem(302, "//evil.example/mailboxes")).not.toBeNull();
    expect(redirectProblem(302, "/\\evil.example")).not.toBeNull();
  });
});

describe("the route walk", () => {
  for (const route of routes) {
    it(`${key(route)}: no 500, foreign ids 404, one error body, no write when refused`, async () => {
      const callers = await signIn();
      const findings: Finding[] = [];
      const seed = seedOf(route);
      // First, every array at its documented maximum with the team's own ids (as the admin).
      const atMax = atMaxInput(route);
      if (atMax) findings.push(...(await probe(route, callers[0]!, atMax, world, callers)));
      for (const [i, caller] of callers.entries()) {
        await fc.assert(
          fc.asyncProperty(inputArb(route), async (input) => {
            findings.push(...(await probe(route, caller, input, world, callers)));
            return true;
          }),
          { seed: seed + i, numRuns: RUNS, endOnFailure: true },
        );
      }
      expect(report(findings, seed)).toEqual([]);
    }, 300_000);
  }
});
