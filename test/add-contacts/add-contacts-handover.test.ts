// A job's chunk hands the first step of the contacts it enrolls to the mailboxes when that step is due at
// once (SequenceDO.enroll). It decides on the contacts as the chunk's own facts read them (EnrollItem.contact)
// instead of reading them from D1 a second time, except where those facts are not the enrolled row's: an
// address the enrichment just found, and a person someone else saved while the chunk ran.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Env } from "../../worker/env";
import { now, resetClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { processChunk } from "../../worker/services/add-contacts/jobs";
import { DEFAULT_WATERFALL, runWaterfall } from "../../worker/services/enrichment";
import { as, countD1Statements, env } from "../helpers";
import { addContactsSetup, enrollmentsOf, mailboxLedger, makeContacts, makeList, waitForJob } from "../fixtures";

beforeEach(() => resetClock());

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

  it("checks an address the enrichment just found against the team's suppressions before handing it over", async () => {
    const x = await addContactsSetup();
    // A contact without an address, at a domain the built-in waterfall finds an address at.
    const t = now();
    let found: { id: string; email: string } | null = null;
    for (let i = 0; i < 50 && !found; i++) {
      const id = newId();
      const w = await runWaterfall(DEFAULT_WATERFALL, {
        firstName: "Ada",
        lastName: `Lovelace${i}`,
        domain: "engine.example.test",
        company: "Engine",
        key: id,
      });
      if (w.email) found = { id, email: w.email };
      else continue;
      await env.DB.prepare(
        `INSERT INTO contacts (id, team_id, first_name, last_name, company, domain, email, email_status, score, stage_id, created_at, updated_at)
         VALUES (?, ?, 'Ada', ?, 'Engine', 'engine.example.test', NULL, 'unavailable', 50, ?, ?, ?)`,
      )
        .bind(id, x.teamId, `Lovelace${i}`, `${x.teamId}-cold`, t, t)
        .run();
    }
    expect(found).not.toBeNull();
    const { id, email } = found!;
    await env.DB.prepare("INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, 'manual', 'test', ?)")
      .bind(newId(), x.teamId, email, t)
      .run();
    const job = await commit(x.s, x.sequenceId, { source: { contact_ids: [id] }, mailbox_ids: x.mailboxIds, enrich: true });
    expect(await waitForJob(job)).toMatchObject({ status: "completed", enrolled: 1 });
    const saved = await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(id).first<{ email: string }>();
    expect(saved!.email).toBe(email);
    // Invariant 5 at the hand-over: the suppressed address is never queued.
    const [row] = await enrollmentsOf(x.sequenceId);
    expect(row).toMatchObject({ contact_id: id, status: "finished", reason: "suppressed" });
    expect((await mailboxLedger(x.mailboxIds[0]!)).queue).toEqual([]);
  });

  it("reads the contact from D1 when someone else saved the person while the chunk ran", async () => {
    const x = await addContactsSetup();
    const people = (
      await env.DB.prepare(
        "SELECT id, email, first_name, last_name FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 3",
      ).all<{ id: string; email: string; first_name: string; last_name: string }>()
    ).results;
    const job = await commit(x.s, x.sequenceId, {
      source: { people_ids: people.map((p) => p.id) },
      mailbox_ids: x.mailboxIds,
      add_at: Date.now() + 86_400_000,
    });
    await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(job).run();
    // Right before the chunk saves its new contacts, another writer saves the first person, and that
    // contact has unsubscribed: the chunk's claim on the person fails and it adds that contact instead.
    const theirs = newId();
    const p = people[0]!;
    const saveFirst = async () => {
      const t = now();
      await env.DB.prepare(
        `INSERT INTO contacts (id, team_id, person_id, first_name, last_name, email, email_status, score, stage_id, unsubscribed_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'verified', 50, ?, ?, ?, ?)`,
      )
        .bind(theirs, x.teamId, p.id, p.first_name, p.last_name, p.email, `${x.teamId}-cold`, t, t, t)
        .run();
    };
    let saved = false;
    const DB = new Proxy(env.DB, {
      get(target, k) {
        if (k === "batch")
          return async (stmts: (D1PreparedStatement & { statement: string })[]) => {
            if (!saved && stmts.some((s) => /INSERT INTO job_candidates/.test(s.statement) && /ON CONFLICT/.test(s.statement))) {
              saved = true;
              await saveFirst();
            }
            return target.batch(stmts);
          };
        const v: unknown = Reflect.get(target, k);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const racing = { ...env, DB } as Env;
    await processChunk(racing, job, 0, 3, db(DB));
    expect(saved).toBe(true);

    const rows = await enrollmentsOf(x.sequenceId);
    expect(rows).toHaveLength(3);
    // Their contact, as D1 has it: unsubscribed, so its first email is not queued.
    expect(rows.find((r) => r.contact_id === theirs)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    const { queue } = await mailboxLedger(x.mailboxIds[0]!);
    expect(queue.map((q) => q.contact_id)).not.toContain(theirs);
    expect(queue).toHaveLength(2);
  });
});
