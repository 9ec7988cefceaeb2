// A job's chunk hands the first step of the contacts it enrolls to the mailboxes when that step is due at
// once (SequenceDO.enroll). For a first email it decides on the contacts as the chunk's own facts read them
// (EnrollItem.contact) instead of reading them from D1 a second time (the mailbox checks again before
// sending), except where those facts are not the enrolled row's: a person an earlier try saved, and a person
// someone else saved while the chunk ran. A first task (nothing checks the contact after it is created) is
// decided on D1's state, as every step falling due later is. (An address the enrichment finds is checked
// against the suppressions by the chunk itself: add-contacts.test.ts.)
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Env } from "../../worker/env";
import { now, resetClock, setClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { processChunk } from "../../worker/services/add-contacts/jobs";
import { as, countD1Statements, env } from "../helpers";
import {
  addContactsSetup,
  contactEnrichmentFinds,
  enrollmentsOf,
  HOUR,
  mailboxLedger,
  makeContacts,
  makeList,
  MONDAY_9AM_NY,
  waitForJob,
} from "../fixtures";

beforeEach(() => resetClock());

/** A job of `body` that the queue leaves alone (it starts tomorrow), for a test to run its chunk itself. */
async function parkedJob(s: Parameters<typeof as>[0], sequenceId: string, body: Record<string, unknown>) {
  const job = await commit(s, sequenceId, { ...body, add_at: now() + 86_400_000 });
  await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job).run();
  return job;
}

type Stmt = D1PreparedStatement & { statement: string };

/**
 * A D1 binding that runs `before` ahead of the first batch matching `batch`, and `after` once the first
 * statement matching `read` has answered (then the caller goes on as if nothing happened).
 */
function racingD1(hooks: { batch?: RegExp; before?: () => Promise<void>; read?: RegExp; after?: () => Promise<void> }) {
  let fired = 0;
  const afterRead = (st: D1PreparedStatement): D1PreparedStatement => {
    const m = st as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of ["all", "raw", "first"]) {
      const orig = m[name]!.bind(st);
      m[name] = async (...a: unknown[]) => {
        const r = await orig(...a);
        if (!fired++) await hooks.after!();
        return r;
      };
    }
    const bind = m.bind!.bind(st);
    m.bind = (...a: unknown[]) => afterRead(bind(...a) as D1PreparedStatement);
    return st;
  };
  const DB = new Proxy(env.DB, {
    get(target, k) {
      if (k === "prepare" && hooks.read) return (q: string) => (hooks.read!.test(q) ? afterRead(target.prepare(q)) : target.prepare(q));
      if (k === "batch" && hooks.batch)
        return async (stmts: Stmt[]) => {
          if (!fired && stmts.some((st) => hooks.batch!.test(st.statement))) {
            fired++;
            await hooks.before!();
          }
          return target.batch(stmts);
        };
      const v: unknown = Reflect.get(target, k);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { DB, env: { ...env, DB } as Env, fired: () => fired > 0 };
}

/** People of the shared prospect database with a verified address and no job change (enrolled without warnings). */
async function verifiedPeople(n: number) {
  return (
    await env.DB.prepare(
      "SELECT id, email, first_name, last_name FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT ?",
    )
      .bind(n)
      .all<{ id: string; email: string; first_name: string; last_name: string }>()
  ).results;
}

/** The team saves `p` as contact `id` (another writer than the job under test). */
async function saveAs(
  teamId: string,
  id: string,
  p: { id: string; email: string; first_name: string; last_name: string },
  o: { unsubscribed: boolean },
) {
  const t = now();
  await env.DB.prepare(
    `INSERT INTO contacts (id, team_id, person_id, first_name, last_name, email, email_status, score, stage_id, unsubscribed_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'verified', 50, ?, ?, ?, ?)`,
  )
    .bind(id, teamId, p.id, p.first_name, p.last_name, p.email, `${teamId}-cold`, o.unsubscribed ? t : null, t, t)
    .run();
}

/** The chunk's claim on the people it saves (runChunk), written in the batch that creates their contacts. */
const CLAIM = /INSERT INTO job_candidates \(job_id, idx, team_id, person_id, contact_id\)\s+SELECT/;

/** The one statement that reads contacts' states for the engine (eligibility.ts, CONTACT_STATES_SQL). */
const CONTACT_STATES = /c\.custom_fields AS customFields/;

async function commit(s: Parameters<typeof as>[0], sequenceId: string, body: unknown) {
  const res = await as(s, "POST", `/api/sequences/${sequenceId}/add-contacts`, body);
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { job: { id: string } }).job.id;
}

describe("add contacts: the first step's hand-over", () => {
  it("hands over the contacts the chunk just checked without reading them from D1 again", async () => {
    const x = await addContactsSetup();
    // Sent in each contact's own zone: the zone the mailbox queues with comes from the contact.
    await env.DB.prepare("UPDATE schedules SET use_contact_time_zone = 1 WHERE id = ?").bind(x.scheduleId).run();
    const ids = await makeContacts(x.teamId, 40, { score: (i) => i, timeZone: (i) => (i % 2 ? "Asia/Tokyo" : null) });
    const list = await makeList(x.teamId, x.userId, ids);
    const reads = countD1Statements(CONTACT_STATES);
    try {
      const job = await commit(x.s, x.sequenceId, { source: { list_ids: [list] }, mailbox_ids: x.mailboxIds });
      expect(await waitForJob(job)).toMatchObject({ status: "completed", enrolled: 40 });
    } finally {
      reads.restore();
    }
    expect(reads.n).toBe(0);
    // Every contact's first email is in the mailbox, with the contact's score and zone.
    const { queue } = await mailboxLedger(x.mailboxIds[0]!);
    const rows = await enrollmentsOf(x.sequenceId);
    expect(rows.map((r) => r.reason)).toEqual(Array(40).fill("queued_for_mailbox"));
    expect(queue.map((q) => q.contact_id).sort()).toEqual([...ids].sort());
    expect(new Set(queue.map((q) => q.step_id))).toEqual(new Set([x.stepIds[0]]));
    for (const q of queue) {
      const i = ids.indexOf(q.contact_id);
      expect(q.score).toBe(i);
      if (i % 2) expect(q.zone).toBe("Asia/Tokyo");
      else expect(q.zone).not.toBe("Asia/Tokyo");
    }
  });

  it("hands over a contact with the address the enrichment just found for it", async () => {
    const x = await addContactsSetup();
    // A contact without an address, at a domain where the built-in waterfall finds one.
    const { id, email } = await contactEnrichmentFinds(x.teamId, `${x.teamId}-cold`);
    const reads = countD1Statements(CONTACT_STATES);
    try {
      const job = await commit(x.s, x.sequenceId, { source: { contact_ids: [id] }, mailbox_ids: x.mailboxIds, enrich: true });
      expect(await waitForJob(job)).toMatchObject({ status: "completed", enrolled: 1 });
    } finally {
      reads.restore();
    }
    expect(reads.n).toBe(0);
    const saved = await env.DB.prepare("SELECT email, email_status FROM contacts WHERE id = ?").bind(id).first();
    expect(saved).toEqual({ email, email_status: "verified" });
    // Queued with that address's contact, not finished for want of an address.
    expect(await enrollmentsOf(x.sequenceId)).toMatchObject([{ contact_id: id, status: "active", reason: "queued_for_mailbox" }]);
    expect((await mailboxLedger(x.mailboxIds[0]!)).queue.map((q) => q.contact_id)).toEqual([id]);
  });

  it("reads the contact from D1 when someone else saved the person while the chunk ran", async () => {
    const x = await addContactsSetup();
    const people = await verifiedPeople(3);
    const job = await parkedJob(x.s, x.sequenceId, { source: { people_ids: people.map((p) => p.id) }, mailbox_ids: x.mailboxIds });
    // Right before the chunk saves its new contacts, another writer saves the first person, and that
    // contact has unsubscribed: the chunk's claim on the person fails and it adds that contact instead.
    const theirs = newId();
    const race = racingD1({ batch: CLAIM, before: () => saveAs(x.teamId, theirs, people[0]!, { unsubscribed: true }) });
    await processChunk(race.env, job, 0, 3, db(race.DB));
    expect(race.fired()).toBe(true);

    const rows = await enrollmentsOf(x.sequenceId);
    expect(rows).toHaveLength(3);
    // Their contact, as D1 has it: unsubscribed, so its first email is not queued.
    expect(rows.find((r) => r.contact_id === theirs)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    const { queue } = await mailboxLedger(x.mailboxIds[0]!);
    expect(queue.map((q) => q.contact_id)).not.toContain(theirs);
    expect(queue).toHaveLength(2);
  });

  it("reads the contact from D1 when an earlier try saved the person and the contact changed before the retry", async () => {
    const x = await addContactsSetup();
    const people = await verifiedPeople(2);
    const job = await parkedJob(x.s, x.sequenceId, { source: { people_ids: people.map((p) => p.id) }, mailbox_ids: x.mailboxIds });
    // The first try saves both people, then dies before enrolling anyone.
    const crash = racingD1({
      read: /SELECT idx FROM|"job_candidates"\."idx"/,
      after: async () => {
        throw new Error("restart after saving the contacts");
      },
    });
    const claimed = async () =>
      (
        await env.DB.prepare("SELECT contact_id FROM job_candidates WHERE job_id = ? AND contact_id IS NOT NULL ORDER BY idx")
          .bind(job)
          .all<{ contact_id: string }>()
      ).results.map((r) => r.contact_id);
    const died = (await processChunk(crash.env, job, 0, 2, db(crash.DB)).catch((e: unknown) => e)) as Error & { cause?: Error };
    expect(died.cause?.message ?? died.message).toBe("restart after saving the contacts");
    const saved = await claimed();
    expect(saved).toHaveLength(2);
    expect(await enrollmentsOf(x.sequenceId)).toEqual([]);
    // One of the new contacts unsubscribes before the retry; the person's own facts know nothing of it.
    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE id = ?").bind(now(), saved[0]).run();
    await processChunk(env, job, 0, 2);

    const rows = await enrollmentsOf(x.sequenceId);
    expect(rows.find((r) => r.contact_id === saved[0])).toMatchObject({ status: "finished", reason: "unsubscribed" });
    const { queue } = await mailboxLedger(x.mailboxIds[0]!);
    expect(queue.map((q) => q.contact_id)).toEqual([saved[1]]);
  });

  it("decides a first task on the contact as D1 has it when handing it over", async () => {
    // Inside the schedule's window, so the task falls due at once.
    setClock(MONDAY_9AM_NY + HOUR);
    const x = await addContactsSetup({ steps: [{ type: "call", wait: 0 }, { wait: 2 }] });
    const ids = await makeContacts(x.teamId, 3);
    const list = await makeList(x.teamId, x.userId, ids);
    const job = await parkedJob(x.s, x.sequenceId, { source: { list_ids: [list] }, mailbox_ids: x.mailboxIds });
    // Once the chunk has read its facts, the first contact is moved to Do Not Contact.
    const race = racingD1({
      read: /AS enrolled/,
      after: async () => {
        await env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(`${x.teamId}-dnc`, ids[0]).run();
      },
    });
    await processChunk(race.env, job, 0, 3, db(race.DB));
    expect(race.fired()).toBe(true);

    const rows = await enrollmentsOf(x.sequenceId);
    expect(rows.find((r) => r.contact_id === ids[0])).toMatchObject({ status: "finished", reason: "do_not_contact" });
    const tasks = (
      await env.DB.prepare("SELECT contact_id FROM tasks WHERE sequence_id = ?").bind(x.sequenceId).all<{ contact_id: string }>()
    ).results.map((r) => r.contact_id);
    expect(tasks.sort()).toEqual([ids[1], ids[2]].sort());
  });
});
