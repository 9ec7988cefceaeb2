// A whole domain on the Do not email list (`@example.com` in the suppressions' email column): every
// address at exactly that domain is skipped when added to a sequence (not charged), and an email already
// queued for one is not sent (invariant 5). Subdomains are their own domain; another team's entry is theirs.
// The send-time check stays two probes of the (team_id, email) unique index.
import { afterEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { db } from "../../worker/db/client";
import { countingD1 } from "../../worker/middleware/d1-count";
import { setTransportOverride } from "../../worker/transports";
import { loadContactStates } from "../../durable-objects/eligibility";
import { loadFacts } from "../../worker/services/add-contacts/candidates";
import { as, client, env, errorOf, fieldsOf, ok } from "../helpers";
import {
  addContactsSetup,
  DAY,
  enroll,
  enrollmentsOf,
  HOUR,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  makeUser,
  runUntil,
  sentMessages,
  sessionFor,
  SIM_START,
  startSimulation,
  waitForJob,
} from "../fixtures";

const setEmail = (id: string, email: string) => env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(email, id).run();
const entry = (teamId: string, email: string) =>
  env.DB.prepare("SELECT reason, source FROM suppressions WHERE team_id = ? AND email = ?").bind(teamId, email).first();
const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

describe("blocking a whole domain", () => {
  afterEach(() => resetClock());

  it("admins block, list (kind domain), and lift a domain; a bad domain is 422 naming domain; members get 403", async () => {
    const { teamId, userId } = await makeTeam();
    const admin = await sessionFor(teamId, userId);
    const member = await sessionFor(teamId, await makeUser(teamId, "member"));
    const api = client(admin).api;

    const added = await ok(api.suppressions.$post({ json: { domain: " Rival.Test ", emails: ["one@elsewhere.test"] } }));
    expect(added.added).toBe(2);
    expect(added.suppressions.map((s) => [s.email, s.kind, s.reason]).sort()).toEqual([
      ["@rival.test", "domain", "manual"],
      ["one@elsewhere.test", "email", "manual"],
    ]);
    expect(await entry(teamId, "@rival.test")).toEqual({ reason: "manual", source: "manual" });
    const listed = await ok(api.suppressions.$get({ query: {} }));
    expect(listed.suppressions.map((s) => [s.email, s.kind]).sort()).toEqual([
      ["@rival.test", "domain"],
      ["one@elsewhere.test", "email"],
    ]);

    for (const domain of ["@rival.test", "not a domain", "a@b.test", "-bad-.test", "nodot", ""]) {
      const err = await errorOf(await as(admin, "POST", "/api/suppressions", { domain }));
      expect(err, domain).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)[0], domain).toMatchObject({ field: "domain" });
    }
    expect(await errorOf(await as(admin, "POST", "/api/suppressions", {}))).toMatchObject({ status: 422 });
    expect(await count("SELECT count(*) n FROM suppressions WHERE team_id = ?", teamId)).toBe(2);

    expect(await errorOf(await as(member, "POST", "/api/suppressions", { domain: "other.test" }))).toMatchObject({ status: 403 });
    expect(await errorOf(await as(member, "DELETE", "/api/suppressions/%40rival.test"))).toMatchObject({ status: 403 });
    expect(await entry(teamId, "@other.test")).toBeNull();

    // Another team can't see or lift it.
    const b = await makeTeam();
    const adminB = await sessionFor(b.teamId, b.userId);
    expect(await errorOf(await as(adminB, "DELETE", "/api/suppressions/%40rival.test"))).toMatchObject({ status: 404 });
    expect(await entry(teamId, "@rival.test")).not.toBeNull();

    const lifted = await as(admin, "DELETE", "/api/suppressions/%40RIVAL.test");
    expect(lifted.status).toBe(200);
    expect(await lifted.json()).toMatchObject({ lifted: { email: "@rival.test", kind: "domain" } });
    expect(await entry(teamId, "@rival.test")).toBeNull();
    const audit = (
      await env.DB.prepare("SELECT action, target_id FROM audit_log WHERE team_id = ? AND target_id = '@rival.test' ORDER BY action")
        .bind(teamId)
        .all()
    ).results;
    expect(audit).toEqual([
      { action: "suppression.add", target_id: "@rival.test" },
      { action: "suppression.lift", target_id: "@rival.test" },
    ]);
  });

  it("add contacts skips (suppressed, not charged) a contact or a person at a blocked domain, not its subdomains nor another team's block", async () => {
    const x = await addContactsSetup();
    const api = client(x.s).api;
    const [blocked, sub, other] = (await makeContacts(x.teamId, 3)) as [string, string, string];
    await setEmail(blocked, "Ann@Blocked.test");
    await setEmail(sub, "bob@mail.blocked.test");
    await setEmail(other, "cy@theirs.test");
    // A net-new person at the blocked domain: saving them would cost a credit.
    const person = (await env.DB.prepare(
      "SELECT id, email FROM people WHERE email_status = 'verified' AND email IS NOT NULL LIMIT 1",
    ).first<{
      id: string;
      email: string;
    }>())!;
    const personDomain = person.email.toLowerCase().split("@")[1]!;
    await ok(api.suppressions.$post({ json: { domain: "blocked.test" } }));
    await ok(api.suppressions.$post({ json: { domain: personDomain } }));
    // Another team blocks theirs.test: ours is untouched.
    const b = await makeTeam();
    await ok(client(await sessionFor(b.teamId, b.userId)).api.suppressions.$post({ json: { domain: "theirs.test" } }));

    const body = { source: { contact_ids: [blocked, sub, other], people_ids: [person.id] } };
    const pv = await ok(api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: x.sequenceId }, query: {}, json: body }));
    const byContact = (id: string) => pv.contacts.find((c) => c.contact_id === id);
    expect(byContact(blocked)).toMatchObject({ outcome: "skipped", reasons: ["suppressed"], credit_cost: 0 });
    expect(byContact(sub)).toMatchObject({ outcome: "enrolled", reasons: [] });
    expect(byContact(other)).toMatchObject({ outcome: "enrolled", reasons: [] });
    expect(pv.contacts.find((c) => c.person_id === person.id && !c.contact_id)).toMatchObject({
      outcome: "skipped",
      reasons: ["suppressed"],
      credit_cost: 0,
    });
    expect(pv.credits).toMatchObject({ exact: 0, maximum: 0 });

    const { job } = await ok(api.sequences[":id"]["add-contacts"].$post({ param: { id: x.sequenceId }, header: {}, json: body }), 202);
    const done = await waitForJob(job.id);
    expect(done).toMatchObject({ status: "completed", enrolled: 2, credits_used: 0 });
    const outcomes = (
      await env.DB.prepare(
        "SELECT contact_id, person_id, outcome, reasons, credit_cost FROM job_outcomes WHERE job_id = ? AND outcome = 'skipped'",
      )
        .bind(job.id)
        .all<{ contact_id: string | null; person_id: string | null; outcome: string; reasons: string; credit_cost: number }>()
    ).results;
    expect(outcomes.map((o) => [o.contact_id ?? o.person_id, o.reasons, o.credit_cost]).sort()).toEqual(
      [
        [blocked, '["suppressed"]', 0],
        [person.id, '["suppressed"]', 0],
      ].sort(),
    );
    expect((await enrollmentsOf(x.sequenceId)).map((e) => e.contact_id).sort()).toEqual([sub, other].sort());
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND person_id = ?", x.teamId, person.id)).toBe(0);
    expect((await ok(api.credits.$get({ query: {} }))).balance).toBe(1000);
  });

  it("an email already queued for an address at a domain blocked afterwards is not sent; the rest are", async () => {
    startSimulation();
    const { teamId, userId } = await makeTeam();
    const admin = client(await sessionFor(teamId, userId)).api;
    const scheduleId = await makeSchedule(teamId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], scheduleId);
    const mb = await makeMailbox(teamId, userId, { daily: 50, hourly: 20, gapSeconds: 0 });
    const to: string[] = [];
    setTransportOverride(mb, {
      async send(m) {
        to.push(m.to);
        return { ok: true };
      },
    });
    try {
      const [blocked, sub, other] = (await makeContacts(teamId, 3)) as [string, string, string];
      await setEmail(blocked, "Ann@Blocked.test");
      await setEmail(sub, "bob@mail.blocked.test");
      await setEmail(other, "cy@theirs.test");
      await enroll(teamId, sequenceId, [blocked, sub, other], [mb]);
      await runUntil(SIM_START + HOUR); // Sunday evening in New York: queued for Monday's window
      expect(await sentMessages(sequenceId)).toEqual([]);
      expect((await enrollmentsOf(sequenceId)).map((e) => e.reason)).toEqual(Array(3).fill("queued_for_mailbox"));

      await ok(admin.suppressions.$post({ json: { domain: "blocked.test" } }));
      const b = await makeTeam();
      await ok(client(await sessionFor(b.teamId, b.userId)).api.suppressions.$post({ json: { domain: "theirs.test" } }));
      await runUntil(SIM_START + 5 * DAY);

      expect(to.filter((t) => t.toLowerCase().endsWith("@blocked.test"))).toEqual([]);
      const sent = await sentMessages(sequenceId);
      expect(sent.filter((m) => m.contact_id === blocked)).toEqual([]);
      expect(sent.filter((m) => m.contact_id === sub).map((m) => m.position)).toEqual([1, 2]);
      expect(sent.filter((m) => m.contact_id === other).map((m) => m.position)).toEqual([1, 2]);
      const runs = new Map((await enrollmentsOf(sequenceId)).map((e) => [e.contact_id, e]));
      expect(runs.get(blocked)).toMatchObject({ status: "finished", reason: "suppressed_domain" });
    } finally {
      setTransportOverride(mb, null);
    }
  });

  it("the send-time and add-contacts checks probe the unique index for the address and its domain", async () => {
    const { teamId, userId } = await makeTeam();
    const [c] = (await makeContacts(teamId, 1)) as [string];
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    await loadContactStates(db(counted.db), teamId, [c]);
    const person = (await env.DB.prepare("SELECT id FROM people WHERE email IS NOT NULL LIMIT 1").first<{ id: string }>())!;
    await loadFacts(
      db(counted.db),
      teamId,
      sequenceId,
      [
        { contactId: c, personId: null },
        { contactId: null, personId: person.id },
      ],
      Date.now(),
    );
    const checks = counted.count.queries.filter((q) => /FROM suppressions x/.test(q.sql));
    expect(checks).toHaveLength(3);
    for (const q of checks) {
      const plan = (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
          .bind(...q.params)
          .all<{ detail: string }>()
      ).results.map((r) => r.detail);
      const probe = plan.filter((d) => /\bx\b/.test(d));
      expect(probe, plan.join("; ")).toEqual(["SEARCH x USING COVERING INDEX suppressions_team_email_uq (team_id=? AND email=?)"]);
      // Both keys: the address and '@' + its domain, in one IN list on the indexed column.
      expect(q.sql).toMatch(/x\.email IN \(lower\([^)]*\), substr\(lower\(/);
    }
  });
});
