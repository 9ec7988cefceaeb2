// Credits in the model-based checker (issue 9, invariant 6). These commands enroll through the real
// add-contacts pipeline, not straight into the SequenceDO: commits from people (net-new, verified,
// unverified or without an address, with and without enrichment), saved contacts and lists, now or
// scheduled; commits racing for the last credits; a crash at any write of a commit, a chunk, a
// cancel or a cron tick (crashAt), and a queue that refuses the fan-out; chunks delivered twice, at
// once, after the job ended, or dead-lettered; the cron (start due jobs, abort interrupted commits,
// sweep unsettled holds). The job queue is the test's own, so the checker decides when each message
// arrives, interleaved with the engine's commands (pauses, replies, restarts, alarms) and its alarms.
// Enrollments a job makes join the engine's world, so every engine invariant covers them too.
//
// After a run (everything delivered, the cron run until every job can end) `checkCredits` reads the
// ledger, the jobs, their outcomes and candidates, the contacts, the enrichments and the SequenceDOs:
// the balance replayed row by row never goes below zero and ends at the team's balance; every job
// ended; each job holds once and is settled exactly once with held − used; every credit charged is a
// contact this job saved with a verified address (each saved person paid once, by the job that saved
// it) or an address enrichment found (each contact's address paid once); the balance is the initial
// one minus everything charged; each job's outcomes are what it did in its SequenceDO.
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { expect } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller, Env } from "../../worker/env";
import { now } from "../../worker/lib/clock";
import { ApiError } from "../../worker/lib/errors";
import { handle } from "../../worker/queue/consumer";
import type { QueueMessage } from "../../worker/queue/messages";
import { cancelJob, commitAddContacts, settleEndedJobs, startDueJobs } from "../../worker/services/add-contacts/jobs";
import { WARNING_CATEGORIES, type AddContactsRequest } from "../../worker/services/add-contacts/request";
import { DEFAULT_WATERFALL } from "../../worker/services/enrichment";
import { crashAt } from "../crash";
import { MIN, makeList, sessionFor } from "../fixtures";
import type {
  contacts as contactTable,
  creditLedger,
  enrichments,
  jobCandidates,
  jobOutcomes,
  jobs as jobTable,
} from "../../worker/db/schema";
import { as, env, type RawRow, type Session } from "../helpers";

/** What the credit commands need of the engine's world (its World type has all of it). */
interface AddEvent {
  kind: "add";
  at: number;
  enrollmentId: string;
  seq: number;
  contact: number;
}
export interface EngineWorld {
  teamId: string;
  seqs: { id: string }[];
  contacts: string[];
  emails: string[];
  zones: (string | null)[];
  enrollments: { id: string; seq: number; contact: number }[];
  log: { push(...e: AddEvent[]): number };
}
/** The SequenceDO of a sequence (its name is the sequence id). */
const sequenceObject = (id: string) => env.SEQUENCE_DO.get(env.SEQUENCE_DO.idFromName(id)) as unknown as DurableObjectStub;
/** What a SequenceDO holds (runInDurableObject without its deep generic types). */
const enrollmentsIn = async (id: string) =>
  (
    await (
      runInDurableObject as unknown as (
        s: DurableObjectStub,
        f: (o: { inspect(): Promise<{ enrollments: unknown[] }> }) => Promise<{ enrollments: unknown[] }>,
      ) => Promise<{ enrollments: unknown[] }>
    )(sequenceObject(id), (o) => o.inspect())
  ).enrollments;
type Drive<W> = (w: W, until: number, together?: boolean, maxEvents?: number) => Promise<void>;

interface Pending {
  body: QueueMessage;
  tries: number;
}
interface CreditState {
  userId: string;
  session: Session;
  initial: number;
  /** Net-new people of this team: verified, unverified and without an address (enrichable: they all have a domain). */
  people: string[];
  listId: string;
  /** Messages sent and not yet acknowledged; acknowledged ones, which the queue may still deliver again. */
  queue: Pending[];
  chaos: CreditParams["chaos"];
  acked: QueueMessage[];
  minBalance: number;
  stats: CreditStats;
}
export interface CreditStats {
  commits: number;
  refused: number;
  crashes: number;
  deliveries: number;
  jobs: number;
  charged: number;
}
export const creditStats: CreditStats = { commits: 0, refused: 0, crashes: 0, deliveries: 0, jobs: 0, charged: 0 };

const states = new WeakMap<object, CreditState>();
const stateOf = (w: object) => {
  const st = states.get(w);
  if (!st) throw new Error("setupCredits was not run for this world");
  return st;
};

/**
 * A balance that covers a few commits (the later ones race for the last credits), which people, and
 * how the queue treats the messages still pending when the commands end: each in turn is first
 * delivered with a crash at its n-th write, or twice at once, or plainly.
 */
export const creditParamsArb = fc.record({
  balance: fc.noBias(fc.integer({ min: 0, max: 16 })),
  offset: fc.noBias(fc.integer({ min: 0, max: 40 })),
  chaos: fc.array(fc.oneof(fc.constant("plain" as const), fc.constant("twice" as const), fc.integer({ min: 0, max: 6 })), { maxLength: 8 }),
});
export type CreditParams = typeof creditParamsArb extends fc.Arbitrary<infer T> ? T : never;

/** The Worker's env with this world's job queue (a failing one when `down`), crashing at its `crash`-th write. */
function envOf(w: object, crash: number | null = null, down = false): Env {
  const st = stateOf(w);
  const push = (bodies: QueueMessage[]) => {
    if (down) throw new Error("simulated queue outage");
    for (const body of bodies) st.queue.push({ body, tries: 0 });
  };
  const JOBS = {
    async send(body: QueueMessage) {
      push([body]);
    },
    async sendBatch(msgs: { body: QueueMessage }[]) {
      push(msgs.map((m) => m.body));
    },
  } as unknown as Queue<QueueMessage>;
  const base = { ...(env as unknown as Env), JOBS };
  return crash === null ? base : crashAt(base, crash);
}

/** A crash the test caused is expected; a refusal is an answer; anything else is a finding. */
function expected(err: unknown): "crash" | "refused" {
  if (err instanceof ApiError) return "refused";
  // drizzle wraps a failed statement's error ("Failed query: ...") with the D1 error as its cause.
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if (/simulated/.test(String(e))) return "crash";
  throw err;
}

export async function setupCredits(w: EngineWorld, p: CreditParams) {
  const userId = (await env.DB.prepare("SELECT id FROM users WHERE team_id = ? LIMIT 1").bind(w.teamId).first<{ id: string }>())!.id;
  await env.DB.prepare("UPDATE teams SET credit_balance = ? WHERE id = ?").bind(p.balance, w.teamId).run();
  const pick = async (where: string, n: number) =>
    (
      await env.DB.prepare(`SELECT id FROM people WHERE ${where} ORDER BY id LIMIT ? OFFSET ?`)
        .bind(n, p.offset * n)
        .all<{ id: string }>()
    ).results.map((r) => r.id);
  const people = [
    ...(await pick("email_status = 'verified' AND job_changed_at IS NULL", 3)),
    ...(await pick("email_status IN ('unverified','guessed')", 2)),
    ...(await pick("(email IS NULL OR email_status = 'unavailable')", 3)),
  ];
  const listId = await makeList(w.teamId, userId, w.contacts.slice(0, 3));
  states.set(w, {
    userId,
    session: await sessionFor(w.teamId, userId),
    initial: p.balance,
    people,
    listId,
    queue: [],
    chaos: [...p.chaos],
    acked: [],
    minBalance: p.balance,
    stats: creditStats,
  });
}

/** Enrollments jobs made join the engine's world (their contacts too), so its invariants cover them. */
async function register(w: EngineWorld) {
  const seen = new Set(w.enrollments.map((e) => e.id));
  for (const [seq, s] of w.seqs.entries()) {
    for (const e of (await enrollmentsIn(s.id)) as { id: string; contact_id: string; job_id: string | null; created_at: number }[]) {
      if (!e.job_id || seen.has(e.id)) continue;
      let contact = w.contacts.indexOf(e.contact_id);
      if (contact < 0) {
        const c = (await env.DB.prepare("SELECT email, time_zone FROM contacts WHERE id = ?")
          .bind(e.contact_id)
          .first<{ email: string | null; time_zone: string | null }>())!;
        contact = w.contacts.push(e.contact_id) - 1;
        w.emails.push(c.email ?? `no-address.${e.contact_id}@nowhere.test`);
        w.zones.push(c.time_zone);
      }
      w.enrollments.push({ id: e.id, seq, contact });
      w.log.push({ kind: "add", at: e.created_at, enrollmentId: e.id, seq, contact });
    }
  }
}

async function after(w: EngineWorld, enrolls = true) {
  const st = stateOf(w);
  if (enrolls) await register(w);
  const b = (await env.DB.prepare("SELECT credit_balance AS b FROM teams WHERE id = ?").bind(w.teamId).first<{ b: number }>())!.b;
  st.minBalance = Math.min(st.minBalance, b);
}

const ALL_OVERRIDES = Object.fromEntries(WARNING_CATEGORIES.map((c) => [c, true]));

interface CommitSpec {
  people: number;
  contacts: number;
  list: boolean;
  seq: number;
  later: number | null;
  enrich: boolean;
  overrides: boolean;
}
const commitSpecArb = fc.record({
  people: fc.integer({ min: 0, max: 255 }),
  contacts: fc.integer({ min: 0, max: 15 }),
  list: fc.boolean(),
  seq: fc.nat(),
  later: fc.option(fc.integer({ min: 1, max: 180 }), { freq: 2 }),
  enrich: fc.boolean(),
  overrides: fc.boolean(),
});
const specText = (s: CommitSpec) =>
  `p=${s.people},c=${s.contacts}${s.list ? ",list" : ""},seq=${s.seq}${s.later ? `,in ${s.later}m` : ""}${s.enrich ? ",enrich" : ""}${s.overrides ? ",anyway" : ""}`;

function requestOf(w: EngineWorld, s: CommitSpec): { sequenceId: string; req: AddContactsRequest } {
  const st = stateOf(w);
  // Bits pick people from the pool and contacts among the world's (job-made ones included, for enrichment and re-adds).
  const people = st.people.filter((_, i) => s.people & (1 << i));
  const saved =
    w.contacts.length > 4
      ? [w.contacts[0]!, w.contacts[1]!, w.contacts[w.contacts.length - 1]!, w.contacts[w.contacts.length - 2]!]
      : w.contacts;
  const contacts = saved.filter((_, i) => s.contacts & (1 << i));
  const none = !people.length && !contacts.length && !s.list;
  const source: AddContactsRequest["source"] = {
    ...(people.length || none ? { people_ids: none ? [st.people[0]!] : people } : {}),
    ...(contacts.length ? { contact_ids: contacts } : {}),
    ...(s.list ? { list_ids: [st.listId] } : {}),
  };
  return {
    sequenceId: w.seqs[s.seq % w.seqs.length]!.id,
    req: {
      source,
      skip_validation: false,
      overrides: s.overrides ? ALL_OVERRIDES : { active_in_other_sequence: true },
      enrich: s.enrich,
      ...(s.later ? { add_at: now() + s.later * MIN } : {}),
    },
  };
}

async function commit(w: EngineWorld, s: CommitSpec, e: Env, key: string | null) {
  const st = stateOf(w);
  // To a sequence that is on, when one is (a commit to one that is off is refused before anything is written).
  const { results: on } = await env.DB.prepare("SELECT id FROM sequences WHERE team_id = ? AND active = 1")
    .bind(w.teamId)
    .all<{ id: string }>();
  const k = [...w.seqs.keys()].map((i) => (s.seq + i) % w.seqs.length).find((i) => on.some((r) => r.id === w.seqs[i]!.id)) ?? s.seq;
  const { sequenceId, req } = requestOf(w, { ...s, seq: k });
  const caller: Caller = { teamId: w.teamId, userId: st.userId, role: "admin", via: "session" };
  st.stats.commits++;
  try {
    await commitAddContacts(e, db(e.DB), caller, sequenceId, req, key, "session");
    return "ok" as const;
  } catch (err) {
    const how = expected(err);
    if (how === "refused") st.stats.refused++;
    else st.stats.crashes++;
    return how;
  }
}

/** One delivery of a message by the queue; a crash leaves it to be delivered again, as `msg.retry()` does. */
async function deliver(w: EngineWorld, p: Pending, crash: number | null, keep: boolean) {
  const st = stateOf(w);
  st.stats.deliveries++;
  try {
    await handle(p.body, envOf(w, crash), false);
    const k = st.queue.indexOf(p);
    if (!keep && k >= 0) st.queue.splice(k, 1);
    st.acked.push(p.body);
  } catch (err) {
    expected(err);
    st.stats.crashes++;
    p.tries++;
  }
}

type Cmd<W> = fc.AsyncCommand<object, W>;
/** `enrolls`: the command may deliver a chunk (only chunks enroll), so its enrollments join the world. */
const cmd = <W extends EngineWorld>(name: string, run: (w: W) => Promise<void>, enrolls = false): Cmd<W> => ({
  check: () => true,
  run: async (_m, w) => {
    await run(w);
    await after(w, enrolls);
  },
  toString: () => name,
});

/** Mostly no crash; else a crash at the n-th D1 write (every write of a commit, chunk or cron tick is reached by some n). */
const crashArb = fc.oneof({ arbitrary: fc.constant(null), weight: 2 }, { arbitrary: fc.integer({ min: 0, max: 6 }), weight: 1 });

/** The credit commands, to mix with the engine's. `drive` runs the engine's alarms (for deliveries during them). */
export function creditCommands<W extends EngineWorld>(drive: Drive<W>): fc.Arbitrary<Cmd<W>>[] {
  return [
    fc.record({ s: commitSpecArb, crash: crashArb, down: fc.boolean(), retry: fc.boolean() }).map(({ s, crash, down, retry }) => {
      const outage = down && crash === null;
      return cmd<W>(
        `commit(${specText(s)}${crash !== null ? `,crash@${crash}` : ""}${outage ? ",queue down" : ""}${retry ? ",retried" : ""})`,
        async (w) => {
          // A crash or a queue outage answers 500; the client may retry with its Idempotency-Key.
          const key = retry ? `model-${w.teamId}-${stateOf(w).stats.commits}` : null;
          const first = await commit(w, s, envOf(w, crash, outage), key);
          if (first === "crash" && key) await commit(w, s, envOf(w), key);
        },
      );
    }),
    fc
      .record({ n: fc.integer({ min: 2, max: 4 }), first: fc.nat(7), same: fc.boolean(), seq: fc.nat(), enrich: fc.boolean() })
      .map(({ n, first, same, seq, enrich }) =>
        cmd<W>(
          `race(${n} commits of ${same ? "the same person" : "one person each"} from ${first}, seq=${seq}${enrich ? ",enrich" : ""})`,
          async (w) => {
            // Commits at the same time for the last credits (one person each), or for one net-new person.
            const specs = Array.from({ length: n }, (_, i): CommitSpec => ({
              people: 1 << ((first + (same ? 0 : i)) % 8),
              contacts: 0,
              list: false,
              seq: seq + i,
              later: null,
              enrich,
              overrides: true,
            }));
            await Promise.all(specs.map((s) => commit(w, s, envOf(w), null)));
          },
        ),
      ),
    fc
      .record({ i: fc.nat(), crash: crashArb, twice: fc.boolean(), together: fc.boolean(), dead: fc.boolean(), stale: fc.boolean() })
      .map(({ i, crash, twice, together, dead, stale }) => {
        const how = dead ? "deadLetter" : stale ? "redeliverAcked" : together ? "deliverTwoAtOnce" : twice ? "deliverKeep" : "deliver";
        return cmd<W>(
          `${how}(${i}${crash !== null && !dead && !stale ? `,crash@${crash}` : ""})`,
          async (w) => {
            const st = stateOf(w);
            if (stale) {
              // At-least-once: a message already handled (its job may have ended since) arrives again.
              const body = st.acked[i % Math.max(1, st.acked.length)];
              if (body) await deliver(w, { body, tries: 0 }, null, true);
              return;
            }
            const p = st.queue[i % Math.max(1, st.queue.length)];
            if (!p) return;
            if (dead) {
              // Every retry failed: the dead-letter queue's consumer marks its contacts not processed (a plan page: fails the job).
              st.queue.splice(st.queue.indexOf(p), 1);
              await handle(p.body, envOf(w), true);
              return;
            }
            if (together) {
              // Two messages (or one twice) handled at the same time, by two consumers.
              const q = st.queue[(i + 1) % st.queue.length]!;
              await Promise.all([deliver(w, p, crash, false), deliver(w, q === p ? { ...p } : q, null, q === p)]);
              return;
            }
            await deliver(w, p, crash, twice);
          },
          true,
        );
      }),
    fc
      .record({ i: fc.nat(), minutes: fc.integer({ min: 0, max: 240 }), ticks: fc.integer({ min: 0, max: 12 }) })
      .map(({ i, minutes, ticks }) =>
        cmd<W>(
          `deliverDuringAlarms(${i},${minutes},${ticks})`,
          async (w) => {
            // A chunk enrolls while both engine objects are part-way through their alarms.
            const st = stateOf(w);
            const driving = drive(w, now() + minutes * MIN, true, 40);
            for (let k = 0; k < ticks; k++) await new Promise((r) => setTimeout(r, 0));
            const p = st.queue[i % Math.max(1, st.queue.length)];
            if (p) await deliver(w, p, null, false);
            await driving;
          },
          true,
        ),
      ),
    fc.record({ j: fc.nat(), crash: crashArb }).map(({ j, crash }) =>
      cmd<W>(`cancel(${j}${crash !== null ? `,crash@${crash}` : ""})`, async (w) => {
        const { results } = await env.DB.prepare("SELECT id FROM jobs WHERE team_id = ? ORDER BY created_at, id")
          .bind(w.teamId)
          .all<{ id: string }>();
        const job = results[j % Math.max(1, results.length)];
        if (!job) return;
        if (crash === null) {
          // Through the route: a job that already started answers 409.
          const res = await as(stateOf(w).session, "POST", `/api/jobs/${job.id}/cancel`);
          expect([200, 409], `cancel answered ${res.status}`).toContain(res.status);
          return;
        }
        try {
          await cancelJob(envOf(w, crash), w.teamId, job.id);
        } catch (err) {
          expected(err);
          stateOf(w).stats.crashes++;
        }
      }),
    ),
    crashArb.map((crash) =>
      cmd<W>(`cron(${crash !== null ? `crash@${crash}` : ""})`, async (w) => {
        const e = envOf(w, crash);
        try {
          await startDueJobs(e);
          await settleEndedJobs(e);
        } catch (err) {
          expected(err);
          stateOf(w).stats.crashes++;
        }
      }),
    ),
  ];
}

/**
 * After the commands: the queue delivers everything (a message failing 3 times is dead-lettered),
 * time passes so scheduled jobs come due and interrupted commits go stale, the cron runs; until no
 * job is left running (or rounds run out: then the check names the stranded job).
 */
export async function settleCredits<W extends EngineWorld>(w: W, drive: Drive<W>) {
  const st = stateOf(w);
  const e = envOf(w);
  for (let round = 0; round < 6; round++) {
    const { results: live } = await env.DB.prepare(
      "SELECT status, run_at FROM jobs WHERE team_id = ? AND status NOT IN ('completed','failed','cancelled')",
    )
      .bind(w.teamId)
      .all<{ status: string; run_at: number | null }>();
    if (!live.length && !st.queue.length) break;
    await drive(w, Math.max(now() + 11 * MIN, ...live.map((j) => (j.status === "scheduled" ? (j.run_at ?? 0) + MIN : 0))));
    await startDueJobs(e);
    await settleEndedJobs(e);
    while (st.queue.length) {
      const p = st.queue[0]!;
      const how = st.chaos.shift() ?? "plain";
      if (how === "twice") await Promise.all([deliver(w, p, null, false), deliver(w, { ...p }, null, true)]);
      else await deliver(w, p, how === "plain" ? null : how, false);
      if (st.queue[0] === p && p.tries >= 3) {
        st.queue.shift();
        await handle(p.body, e, true);
      }
    }
    await after(w);
  }
  await settleEndedJobs(e);
  await after(w);
}

/** The rows of a raw D1 read, as `T` (a RawRow of the table read, or the columns selected). */
const all = async <T>(sql: string, ...b: unknown[]): Promise<T[]> =>
  (
    await env.DB.prepare(sql)
      .bind(...b)
      .all<T>()
  ).results;
type OutcomeRow = RawRow<typeof jobOutcomes>;

/** Invariant 6 (and 1, 10 for what jobs did), read back from D1 and the SequenceDOs after a run. */
export async function checkCredits(w: EngineWorld) {
  const st = stateOf(w);
  const jobs = await all<RawRow<typeof jobTable>>("SELECT * FROM jobs WHERE team_id = ? ORDER BY created_at, id", w.teamId);
  const ledger = await all<RawRow<typeof creditLedger> & { n: number }>(
    "SELECT rowid AS n, * FROM credit_ledger WHERE team_id = ? ORDER BY rowid",
    w.teamId,
  );
  const outcomes = await all<OutcomeRow>("SELECT * FROM job_outcomes WHERE team_id = ?", w.teamId);
  const cands = await all<RawRow<typeof jobCandidates>>("SELECT * FROM job_candidates WHERE team_id = ?", w.teamId);
  const verifiedPeople = new Set(
    (
      await all<{ id: string }>(
        "SELECT id FROM people WHERE email_status = 'verified' AND id IN (SELECT value FROM json_each(?))",
        JSON.stringify(st.people),
      )
    ).map((r) => r.id),
  );
  const contacts = await all<Pick<RawRow<typeof contactTable>, "id" | "person_id" | "email_status" | "source">>(
    "SELECT id, person_id, email_status, source FROM contacts WHERE team_id = ?",
    w.teamId,
  );
  const enrich = await all<RawRow<typeof enrichments>>("SELECT * FROM enrichments WHERE team_id = ?", w.teamId);
  const balance = (await env.DB.prepare("SELECT credit_balance AS b FROM teams WHERE id = ?").bind(w.teamId).first<{ b: number }>())!.b;
  st.stats.jobs += jobs.length;

  // The balance never went below zero: replayed in the order D1 wrote them, each ledger row continues
  // from the one before, stays >= 0 and ends at the team's balance (and so did every sample taken).
  let running = st.initial;
  for (const r of ledger) {
    running += r.amount;
    expect(r.balance_after, `ledger row ${r.kind} ${r.ref} (${r.amount}) does not continue the balance`).toBe(running);
    expect(running, `the balance went below zero at ${r.kind} ${r.ref}`).toBeGreaterThanOrEqual(0);
  }
  expect(balance, "the team's balance is not what its ledger adds up to").toBe(running);
  expect(st.minBalance, "the balance was seen below zero").toBeGreaterThanOrEqual(0);
  const jobIds = new Set(jobs.map((j) => j.id));
  for (const r of ledger) expect(jobIds.has(r.job_id!), `a ledger row of no job: ${r.kind} ${r.ref}`).toBe(true);

  const outcomesOf = new Map<string, OutcomeRow[]>();
  for (const o of outcomes) outcomesOf.set(o.job_id, [...(outcomesOf.get(o.job_id) ?? []), o]);
  const contactById = new Map(contacts.map((c) => [c.id, c]));
  const providerCost = new Map(DEFAULT_WATERFALL.map((p) => [p.name, p.cost]));
  const paidEnrichment = (jobId: string, contactId: string) =>
    enrich.filter((e) => e.job_id === jobId && e.contact_id === contactId && e.success === 1).reduce((a, e) => a + e.cost, 0);
  /** The candidate row through which this job saved (and pays for) the contact, if it did. */
  const claimOf = (jobId: string, idx: number, contactId: string) => {
    const c = cands.find((x) => x.job_id === jobId && x.idx === idx);
    const saved = contactById.get(contactId);
    return c?.person_id && c.contact_id === contactId && saved?.person_id === c.person_id && saved?.source === "add_contacts" ? c : null;
  };

  let charged = 0;
  for (const j of jobs) {
    const name = `job ${j.id} (${j.status}, held ${j.credits_held}, used ${j.credits_used})`;
    // Nothing stranded: every job ended; a failed one says why.
    expect(["completed", "failed", "cancelled"], `${name} never ended`).toContain(j.status);
    if (j.status === "failed") expect(j.error, `${name} failed without a reason`).toBeTruthy();
    // Held once, settled exactly once, the unused part refunded (nothing in this model gets dearer after the commit).
    const holds = ledger.filter((r) => r.job_id === j.id && r.kind === "hold");
    const settles = ledger.filter((r) => r.job_id === j.id && r.kind !== "hold");
    expect(
      holds.map((r) => r.amount),
      `${name}: its hold`,
    ).toEqual(j.credits_held > 0 ? [-j.credits_held] : []);
    expect(settles.length, `${name}: settlements`).toBe(j.credits_held > 0 || j.credits_used > 0 ? 1 : 0);
    if (settles[0]) expect(settles[0].amount, `${name}: refund = held − used`).toBe(j.credits_held - j.credits_used);
    expect(j.credits_used, `${name}: used more than it held`).toBeLessThanOrEqual(j.credits_held);
    // What the job reports is its outcomes, and what it used is what they cost.
    const mine = outcomesOf.get(j.id) ?? [];
    expect(j.credits_used, `${name}: used ≠ the sum of its outcomes' costs`).toBe(mine.reduce((a, o) => a + o.credit_cost, 0));
    expect([j.processed, j.enrolled, j.warned, j.skipped], `${name}: counts ≠ outcomes`).toEqual([
      mine.length,
      ...(["enrolled", "warned", "skipped"] as const).map((k) => mine.filter((o) => o.outcome === k).length),
    ]);
    if (j.status === "completed") expect(mine.length, `${name}: completed with candidates left`).toBe(j.total);
    charged += j.credits_used;

    // Each outcome's cost is what that contact cost this job: 1 if this job saved it with a verified
    // address, plus the enrichment that found its address; a contact not added costs nothing and says why.
    for (const o of mine) {
      const what = `${name}, candidate ${o.idx} (${o.outcome} ${o.reasons})`;
      if (o.outcome !== "enrolled") {
        expect(o.credit_cost, `${what}: charged though not added`).toBe(0);
        expect(JSON.parse(o.reasons).length, `${what}: not added without a reason`).toBeGreaterThan(0);
        continue;
      }
      expect(contactById.has(o.contact_id!), `${what}: enrolled a contact that was never saved`).toBe(true);
      const claim = claimOf(j.id, o.idx, o.contact_id!);
      // Saved with a verified address: the person's own, or one this job's enrichment found (another job
      // may have enriched the contact since: that is its charge, not this one's).
      const foundHere = enrich.some((e) => e.job_id === j.id && e.contact_id === o.contact_id && e.success === 1);
      const savedVerified = !!claim && (verifiedPeople.has(claim.person_id!) || foundHere);
      const expectedCost = (savedVerified ? 1 : 0) + paidEnrichment(j.id, o.contact_id!);
      expect(o.credit_cost, `${what}: charged ${o.credit_cost}, cost ${expectedCost}${claim ? " (saved by this job)" : ""}`).toBe(
        expectedCost,
      );
    }

    // The outcomes say what the job did in its sequence: its enrolled contacts are exactly those the
    // SequenceDO holds under this job, whatever the retries.
    const seq = w.seqs.find((s) => s.id === j.sequence_id)!;
    const inObject = [
      ...new Set(
        ((await enrollmentsIn(seq.id)) as { contact_id: string; job_id: string | null }[])
          .filter((e) => e.job_id === j.id)
          .map((e) => e.contact_id),
      ),
    ].sort();
    const reported = [...new Set(mine.filter((o) => o.outcome === "enrolled").map((o) => o.contact_id as string))].sort();
    expect(reported, `${name}: enrolled outcomes ≠ its enrollments in the SequenceDO`).toEqual(inObject);
    expect(mine.filter((o) => o.outcome === "enrolled").length, `${name}: a contact reported enrolled twice`).toBe(reported.length);
  }

  // Charged exactly once per net-new verified contact: each person a job saved was claimed by one job,
  // which reported it enrolled (and, with a verified address, paid 1 for it).
  for (const c of contacts.filter((x) => x.person_id && x.source === "add_contacts")) {
    const claims = cands.filter((x) => x.person_id === c.person_id && x.contact_id === c.id);
    expect(claims.length, `person ${c.person_id}, saved as ${c.id}, claimed by ${claims.length} candidates`).toBe(1);
    const paid = outcomes.filter((o) => o.job_id === claims[0]!.job_id && o.idx === claims[0]!.idx && o.outcome === "enrolled");
    expect(paid.length, `person ${c.person_id} saved without being reported enrolled by the job that saved it`).toBe(1);
  }
  // An address found by enrichment is paid once per contact, at its provider's price, whatever the retries and jobs.
  for (const e of enrich)
    expect([0, providerCost.get(e.provider)], `enrichment ${e.provider} of ${e.contact_id} costs ${e.cost}`).toContain(e.cost);
  const byContact = new Map<string, number>();
  for (const e of enrich.filter((x) => x.success === 1 && x.cost > 0)) byContact.set(e.contact_id, (byContact.get(e.contact_id) ?? 0) + 1);
  for (const [c, n] of byContact) expect(n, `contact ${c}: its address paid for ${n} times`).toBe(1);

  // The balance is what the team started with, minus everything charged.
  expect(balance, "balance ≠ initial − Σ charged").toBe(st.initial - charged);
  st.stats.charged += charged;
}
