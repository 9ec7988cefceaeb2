// One run per address when two adds race: a job saving a net-new person (contact A) and a job adding
// another contact with the same address (B) to the same sequence both passed the add-contacts check in D1
// (neither run existed yet), and the SequenceDO's enroll checked by contact id only: both were enrolled and
// the inbox got every step twice. The object now refuses a contact whose twin runs there (duplicate_email).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TWINS_OF } from "../../durable-objects/sequence-do";
import { db } from "../../worker/db/client";
import type { Env } from "../../worker/env";
import { now } from "../../worker/lib/clock";
import { processChunk } from "../../worker/services/add-contacts/jobs";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import { DAY, addContactsSetup, enroll, makeContacts, runUntil, sentMessages, startSimulation, waitForJob } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"];
const commit = (s: S, seq: string, json: Parameters<AddContacts["$post"]>[0]["json"]) =>
  ok(client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: seq }, header: {}, json }), 202);

const overridden: string[] = [];
afterEach(() => {
  for (const id of overridden.splice(0)) setTransportOverride(id, null);
});

/** Every email that reaches the mailbox's transport, by recipient. */
function countTransport(mailboxId: string) {
  const to: string[] = [];
  setTransportOverride(mailboxId, {
    async send(m) {
      to.push(m.to.toLowerCase());
      return { ok: true };
    },
  });
  overridden.push(mailboxId);
  return to;
}

/**
 * The test's env with the SequenceDO's enroll held until `release()`: the job gets as far as enrolling
 * (its contact saved, its D1 checks passed) and waits there, as a job whose enroll is still on its way.
 */
function enrollHeld() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let arrived!: () => void;
  const reached = new Promise<void>((r) => (arrived = r));
  const ns = env.SEQUENCE_DO;
  const SEQUENCE_DO = {
    idFromName: (name: string) => ns.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = ns.get(id);
      return new Proxy(stub, {
        get(target, key) {
          if (key === "enroll")
            return async (...args: Parameters<typeof stub.enroll>) => {
              arrived();
              await gate;
              return target.enroll(...args);
            };
          const v = Reflect.get(target, key) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    },
  };
  return { env: { ...env, SEQUENCE_DO } as unknown as Env, reached, release };
}

const one = async <T>(q: string, ...b: unknown[]) =>
  (await env.DB.prepare(q)
    .bind(...b)
    .first<T>())!;

beforeEach(() => startSimulation());

describe("two adds of one address racing into a sequence", () => {
  it("a job saving a person and a job adding a twin contact at the same moment: one run, one email, the other skipped as duplicate_email and not charged", async () => {
    const x = await addContactsSetup({ credits: 10 });
    const to = countTransport(x.mailboxIds[0]!);
    const p = await one<{ id: string; email: string }>(
      "SELECT id, email FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 1 OFFSET 3",
    );
    // Job 1 saves the person (a credit) and stops right before its enroll.
    const first = await commit(x.s, x.sequenceId, { source: { people_ids: [p.id] }, add_at: now() + DAY });
    await env.DB.prepare("UPDATE jobs SET status = 'queued' WHERE id = ?").bind(first.job.id).run();
    const held = enrollHeld();
    const running = processChunk(held.env, first.job.id, 0, 1, db(env.DB));
    await held.reached;
    const a = (await one<{ id: string }>("SELECT id FROM contacts WHERE team_id = ? AND person_id = ?", x.teamId, p.id)).id;

    // Meanwhile someone makes a second contact with that address (no dedupe) and adds it: job 2 finds no run
    // of the address in D1 and enrolls B.
    const [b] = await makeContacts(x.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(p.email.toUpperCase(), b).run();
    const second = await commit(x.s, x.sequenceId, { source: { contact_ids: [b!] } });
    expect(await waitForJob(second.job.id)).toMatchObject({ status: "completed", enrolled: 1 });

    held.release();
    await running;
    expect(await waitForJob(first.job.id)).toMatchObject({ status: "completed", enrolled: 0, skipped: 1, credits_used: 0 });
    const outcome = await one<{ contact_id: string; outcome: string; reasons: string; credit_cost: number }>(
      "SELECT contact_id, outcome, reasons, credit_cost FROM job_outcomes WHERE job_id = ?",
      first.job.id,
    );
    expect({ ...outcome, reasons: JSON.parse(outcome.reasons) }).toEqual({
      contact_id: a,
      outcome: "skipped",
      reasons: ["duplicate_email"],
      credit_cost: 0,
    });
    // Nothing charged: the job held a credit for saving the person, and the hold went back whole.
    const ledger = (
      await env.DB.prepare("SELECT kind, amount FROM credit_ledger WHERE job_id = ? ORDER BY created_at, kind")
        .bind(first.job.id)
        .all<{ kind: string; amount: number }>()
    ).results;
    expect(ledger.find((l) => l.kind === "hold")!.amount).toBeLessThan(0);
    expect(ledger.reduce((n, l) => n + l.amount, 0)).toBe(0);
    expect((await one<{ n: number }>("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).n).toBe(10);

    await runUntil(now() + DAY);
    const runs = (
      await env.DB.prepare("SELECT contact_id FROM enrollments WHERE sequence_id = ?").bind(x.sequenceId).all<{ contact_id: string }>()
    ).results;
    expect(runs.map((r) => r.contact_id)).toEqual([b]);
    expect(to).toEqual([p.email.toLowerCase()]);
    expect((await sentMessages(x.sequenceId)).map((m) => m.contact_id)).toEqual([b]);
  });

  it("two enroll calls under way together, one contact each of one address: the second to reach the object is duplicate_email", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET email = (SELECT email FROM contacts WHERE id = ?) WHERE id = ?").bind(a, b).run();
    const [r1, r2] = await Promise.all([
      enroll(x.teamId, x.sequenceId, [a!], x.mailboxIds),
      enroll(x.teamId, x.sequenceId, [b!], x.mailboxIds),
    ]);
    expect([...r1.enrolled, ...r2.enrolled]).toHaveLength(1);
    expect([...r1.duplicateEmail, ...r2.duplicateEmail]).toHaveLength(1);
    expect([...r1.enrolled, ...r2.enrolled, ...r1.duplicateEmail, ...r2.duplicateEmail].sort()).toEqual([a, b].sort());
    // Both in one call: the first in order is enrolled.
    const y = await addContactsSetup();
    const [c, d] = await makeContacts(y.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET email = (SELECT email FROM contacts WHERE id = ?) WHERE id = ?").bind(c, d).run();
    expect(await enroll(y.teamId, y.sequenceId, [d!, c!], y.mailboxIds)).toMatchObject({ enrolled: [d], duplicateEmail: [c] });
  });

  it("a contact whose twin's run here has finished is enrolled as usual, and emailed", async () => {
    const x = await addContactsSetup({ steps: [{ wait: 0 }] });
    const to = countTransport(x.mailboxIds[0]!);
    const [a, b] = await makeContacts(x.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET email = (SELECT email FROM contacts WHERE id = ?) WHERE id = ?").bind(a, b).run();
    const email = (await one<{ email: string }>("SELECT email FROM contacts WHERE id = ?", a)).email;
    expect(await enroll(x.teamId, x.sequenceId, [a!], x.mailboxIds)).toMatchObject({ enrolled: [a], duplicateEmail: [] });
    await runUntil(now() + DAY);
    expect((await one<{ status: string }>("SELECT status FROM enrollments WHERE contact_id = ?", a)).status).toBe("finished");

    const later = await enroll(x.teamId, x.sequenceId, [b!], x.mailboxIds);
    expect(later).toMatchObject({ enrolled: [b], duplicateEmail: [] });
    await runUntil(now() + DAY);
    expect(to).toEqual([email.toLowerCase(), email.toLowerCase()]);
    expect((await sentMessages(x.sequenceId)).map((m) => m.contact_id)).toEqual([a, b]);
  });

  it("the twins lookup goes from each contact to its twins along the (team, address) index", async () => {
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${TWINS_OF}`)
        .bind(JSON.stringify(["x", "y"]), "team")
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join("; ");
    expect(plan).toMatch(/SEARCH c USING (INDEX \w+|PRIMARY KEY) \(id=\?\)/);
    expect(plan).toMatch(/SEARCH d USING INDEX contacts_team_email_idx \(team_id=\? AND <expr>=\?/);
    expect(plan).not.toMatch(/SCAN (c|d)\b(?! USING)/);
  });
});
