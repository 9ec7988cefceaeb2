// Turning a sequence on, or archiving it, writes D1 and then tells its SequenceDO (activate, finish).
// When that call failed (the object out of reach, the request cancelled), the request answered 500
// with D1 already saying "on" (or archived), and nothing ever told the engine again: held contacts
// stayed "Sequence is inactive" under a sequence showing On, and an archived sequence kept open
// contacts (counted as "active in another sequence" elsewhere). The cron repairs both.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { app } from "../../worker/app";
import { runCron } from "../../worker/cron";
import { db } from "../../worker/db/client";
import { repairSequenceEngines } from "../../worker/services/sequences";
import type { Env } from "../../worker/env";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor, startSimulation } from "../fixtures";
import { BASE, env, type Session } from "../helpers";

const tick = { scheduledTime: 0, cron: "* * * * *", noRetry() {} } as ScheduledController;

/** The Worker's env whose SequenceDOs fail the first call of `method` (as an object out of reach would). */
function failingOnce(method: "activate" | "transition"): Env {
  let left = 1;
  const real = env.SEQUENCE_DO;
  const SEQUENCE_DO = new Proxy(real, {
    get(ns, k) {
      if (k !== "get") return (Reflect.get(ns, k) as (...a: unknown[]) => unknown).bind(ns);
      return (id: DurableObjectId) => {
        const stub = ns.get(id);
        return new Proxy(stub, {
          get(s, m) {
            if (m === method && left > 0)
              return async () => {
                left--;
                throw new Error("SequenceDO unreachable");
              };
            const v = Reflect.get(s, m) as unknown;
            return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(s) : v;
          },
        });
      };
    },
  });
  return { ...(env as unknown as Env), SEQUENCE_DO };
}

/** A request as the signed-in app sends it, through the Worker with `withEnv`. */
async function send(s: Session, withEnv: Env, method: string, path: string, body?: unknown) {
  const ctx = createExecutionContext();
  const res = await app.request(
    `${BASE}${path}`,
    {
      method,
      headers: { cookie: s.cookie, "x-csrf-token": s.csrf, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    withEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res.status;
}

const rows = async (sequenceId: string) =>
  (
    await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ? ORDER BY contact_id")
      .bind(sequenceId)
      .all<{ status: string; reason: string | null }>()
  ).results;

/** An inactive sequence (one step, a day's wait) with two contacts held in it. */
async function offWithTwoHeld() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 1 }], null, false);
  const mailboxId = await makeMailbox(teamId, userId);
  const contacts = await makeContacts(teamId, 2);
  await enroll(teamId, sequenceId, contacts, [mailboxId]);
  expect(await rows(sequenceId)).toEqual([
    { status: "held", reason: "sequence_inactive" },
    { status: "held", reason: "sequence_inactive" },
  ]);
  return { teamId, s, sequenceId };
}

describe("the cron repairs a turn-on or an archive whose engine call failed", () => {
  beforeEach(() => startSimulation());

  it("turned on while its SequenceDO was out of reach (500): the next tick releases the held contacts", async () => {
    const { s, sequenceId } = await offWithTwoHeld();
    expect(await send(s, failingOnce("activate"), "PATCH", `/api/sequences/${sequenceId}`, { active: true })).toBe(500);
    const seq = await env.DB.prepare("SELECT active FROM sequences WHERE id = ?").bind(sequenceId).first<{ active: number }>();
    expect(seq!.active, "D1 says on").toBe(1);
    expect((await rows(sequenceId)).map((r) => r.status)).toEqual(["held", "held"]);

    await runCron(tick, env as unknown as Env);
    expect(await rows(sequenceId)).toEqual([
      { status: "active", reason: "waiting_for_step" },
      { status: "active", reason: "waiting_for_step" },
    ]);
  });

  it("archived while its SequenceDO was out of reach (500): the next tick finishes its held and paused contacts", async () => {
    const { teamId, s, sequenceId } = await offWithTwoHeld();
    // One of them paused by a user: paused with no date has no timer, so nothing in the engine finishes it by itself.
    const [first] = (
      await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ? ORDER BY contact_id").bind(sequenceId).all<{ id: string }>()
    ).results;
    await engine.sequence(env as unknown as Env, sequenceId, teamId).pause([first!.id]);
    expect((await rows(sequenceId)).map((r) => r.status)).toEqual(["paused", "held"]);

    expect(await send(s, failingOnce("transition"), "POST", `/api/sequences/${sequenceId}/archive`)).toBe(500);
    const seq = await env.DB.prepare("SELECT archived_at FROM sequences WHERE id = ?")
      .bind(sequenceId)
      .first<{ archived_at: number | null }>();
    expect(seq!.archived_at, "D1 says archived").not.toBeNull();
    expect((await rows(sequenceId)).map((r) => r.status)).toEqual(["paused", "held"]);

    await runCron(tick, env as unknown as Env);
    expect(await rows(sequenceId)).toEqual([
      { status: "finished", reason: "sequence_archived" },
      { status: "finished", reason: "sequence_archived" },
    ]);
  });
});

type Stmt = { statement: string; params?: unknown[] };

/** The statements `run` makes that read `sequences`, with their bound values. */
async function sequenceReadsOf(run: () => Promise<unknown>): Promise<Stmt[]> {
  const seen: Stmt[] = [];
  const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const originals = { raw: stmtProto.raw!, all: stmtProto.all!, first: stmtProto.first!, run: stmtProto.run! };
  for (const [name, fn] of Object.entries(originals))
    stmtProto[name] = function (this: Stmt, ...a: unknown[]) {
      if (/from "sequences"/i.test(this.statement)) seen.push({ statement: this.statement, params: this.params });
      return fn.apply(this, a);
    };
  try {
    await run();
  } finally {
    Object.assign(stmtProto, originals);
  }
  return seen;
}

describe("the cron's repair when nothing is wrong", () => {
  beforeEach(() => startSimulation());

  it("reads only the sequences on and those archived, through their partial indexes, and calls no SequenceDO", async () => {
    const { teamId, userId } = await makeTeam();
    const mailboxId = await makeMailbox(teamId, userId);
    const on = await makeSequence(teamId, userId, [{ wait: 1 }], null);
    await enroll(teamId, on.sequenceId, await makeContacts(teamId, 2), [mailboxId]);
    const archived = await makeSequence(teamId, userId, [{ wait: 1 }], null, false);
    await env.DB.prepare("UPDATE sequences SET archived_at = 1 WHERE id = ?").bind(archived.sequenceId).run();
    let calls = 0;
    const counting = {
      ...(env as unknown as Env),
      SEQUENCE_DO: new Proxy(env.SEQUENCE_DO, {
        get(ns, k) {
          if (k === "get") calls++;
          return (Reflect.get(ns, k) as (...a: unknown[]) => unknown).bind(ns);
        },
      }),
    };
    let result: unknown;
    const reads = await sequenceReadsOf(async () => (result = await repairSequenceEngines(counting, db(env.DB))));
    expect(result).toEqual({ activated: 0, finished: 0 });
    expect(calls).toBe(0);
    expect(reads).toHaveLength(2);
    const plans: string[] = [];
    for (const r of reads)
      plans.push(
        ...(
          await env.DB.prepare(`EXPLAIN QUERY PLAN ${r.statement}`)
            .bind(...(r.params ?? []))
            .all<{ detail: string }>()
        ).results.map((x) => x.detail),
      );
    // A walk over a partial index (the sequences on, those archived) is the point; a walk over a whole table is not.
    expect(plans.filter((d) => /^SCAN \w+$/.test(d.trim()))).toEqual([]);
    expect(plans.join("\n")).toMatch(/sequences_on_idx/);
    expect(plans.join("\n")).toMatch(/sequences_archived_idx/);
  });
});
