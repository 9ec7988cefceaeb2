import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { newId } from "../../worker/lib/ids";
import { countingD1 } from "../../worker/middleware/d1-count";
import { BASE, client, env, ok } from "../helpers";
import { makeSchedule, makeSequence, makeTeam, makeUser, sessionFor } from "../fixtures";

/**
 * A People row of a person the team has saved says which sequences their contact is in now, and only
 * those the caller may see: a member never learns of another member's private sequence from it.
 */

/** A company token no seeded person has, so each search sees only the people made here. */
const company = `Qsq${newId().slice(0, 8)}`;
const person = (n: number) => `ppl-${company}-${n}`;

let teamId: string;
let adminId: string;
let repId: string;
let otherId: string;
/** Sequence ids by what they are to the rep. */
const seq: Record<"own" | "shared" | "private" | "done", string> = { own: "", shared: "", private: "", done: "" };

beforeAll(async () => {
  ({ teamId, userId: adminId } = await makeTeam());
  repId = await makeUser(teamId);
  otherId = await makeUser(teamId);
  const scheduleId = await makeSchedule(teamId);
  const make = async (ownerId: string, name: string) => {
    const { sequenceId } = await makeSequence(teamId, ownerId, [{ wait: 0 }], scheduleId);
    await env.DB.prepare("UPDATE sequences SET name = ? WHERE id = ?").bind(name, sequenceId).run();
    return sequenceId;
  };
  seq.own = await make(repId, "B rep's own");
  seq.shared = await make(otherId, "A shared with the rep");
  seq.private = await make(otherId, "C other's private");
  seq.done = await make(repId, "D finished run");
  await env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, 'view')")
    .bind(seq.shared, repId, teamId)
    .run();

  const t = Date.now();
  // Person 0: saved from the search (person_id); person 1: a contact with the person's address only
  // (made by hand or CSV); person 2: net-new.
  const stmts = [0, 1, 2].map((i) =>
    env.DB.prepare(
      "INSERT INTO people (id, first_name, last_name, title, seniority, department, company, domain, industry, employees, city, country, time_zone, email, email_status, score) VALUES (?, 'Pat', ?, 'Buyer', 'manager', 'sales', ?, 'qsq.test', 'Software', 50, 'Austin', 'United States', 'America/Chicago', ?, 'verified', ?)",
    ).bind(person(i), `Person${i}`, company, `p${i}@${company}.test`, 90 - i),
  );
  const contact = (id: string, personId: string | null, email: string) =>
    env.DB.prepare(
      "INSERT INTO contacts (id, team_id, person_id, first_name, last_name, company, email, email_status, score, stage_id, created_at, updated_at) VALUES (?, ?, ?, 'Pat', 'X', ?, ?, 'verified', 50, ?, ?, ?)",
    ).bind(id, teamId, personId, company, email, `${teamId}-cold`, t, t);
  const run = (contactId: string, sequenceId: string, status: string) =>
    env.DB.prepare(
      "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, current_step, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
    ).bind(newId(), teamId, sequenceId, contactId, status, t, t);
  const c0 = newId();
  const c1 = newId();
  stmts.push(
    contact(c0, person(0), `p0@${company}.test`),
    contact(c1, null, `P1@${company.toUpperCase()}.test`),
    run(c0, seq.own, "active"),
    run(c0, seq.shared, "paused"),
    run(c0, seq.private, "active"),
    run(c0, seq.done, "finished"),
    run(c1, seq.private, "scheduled"),
  );
  await env.DB.batch(stmts);
});

async function rows(userId: string) {
  const s = await sessionFor(teamId, userId);
  const b = await ok(client(s).api.people.search.$post({ json: { companies: [company], per_page: 10 } }));
  return Object.fromEntries(b.people.map((p) => [p.id, { saved: !!p.contact_id, sequences: p.sequences.map((x) => x.id) }]));
}

describe("people search: the sequences a saved person's contact is in", () => {
  it("a member sees their own and shared sequences, never another member's private one; finished runs are left out", async () => {
    const r = await rows(repId);
    // By name: "A shared…" before "B rep's own".
    expect(r[person(0)]).toEqual({ saved: true, sequences: [seq.shared, seq.own] });
    // The only run of this contact is in a sequence the rep can't see: the row shows none.
    expect(r[person(1)]).toEqual({ saved: true, sequences: [] });
    expect(r[person(2)]).toEqual({ saved: false, sequences: [] });
  });

  it("the private sequence's owner and an admin see it", async () => {
    const other = await rows(otherId);
    expect(other[person(0)]!.sequences).toEqual([seq.shared, seq.private]);
    expect(other[person(1)]!.sequences).toEqual([seq.private]);
    const admin = await rows(adminId);
    expect(admin[person(0)]!.sequences).toEqual([seq.shared, seq.own, seq.private]);
    expect(admin[person(1)]!.sequences).toEqual([seq.private]);
  });

  it("names each sequence as it is now", async () => {
    const s = await sessionFor(teamId, repId);
    const b = await ok(client(s).api.people.search.$post({ json: { companies: [company], per_page: 10 } }));
    expect(b.people.find((p) => p.id === person(0))!.sequences).toEqual([
      { id: seq.shared, name: "A shared with the rep" },
      { id: seq.own, name: "B rep's own" },
    ]);
  });

  it("for a member it stays one D1 round trip, the runs read through the contact's index", async () => {
    const s = await sessionFor(teamId, repId);
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const search = async () => {
      const ctx = createExecutionContext();
      const res = await app.request(
        `${BASE}/api/people/search`,
        {
          method: "POST",
          headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" },
          body: JSON.stringify({ companies: [company], per_page: 10 }),
        },
        { ...env, DB: counted.db },
        ctx,
      );
      const body = (await res.json()) as { people: unknown[] };
      await waitOnExecutionContext(ctx);
      return { status: res.status, body };
    };
    // Warm, as under load (test/api/round-trips: the per-isolate handle is built once).
    await search();
    counted.reset();
    const res = await search();
    expect(res.status).toBe(200);
    expect(res.body.people).toHaveLength(3);
    expect(counted.count.roundTrips, counted.count.statements.join("\n")).toBe(1);
    const page = counted.count.queries.find((q) => /json_group_array/.test(q.sql))!;
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${page.sql}`)
      .bind(...page.params)
      .all<{ detail: string }>();
    const detail = plan.results.map((r) => r.detail).join("; ");
    expect(detail, detail).toMatch(/SEARCH e USING (COVERING )?INDEX enrollments_contact_idx/);
  });
});

describe("people search: a saved person's contact and sequences are read for the page's rows only", () => {
  it("a page sorted by name reads them for its 10 rows, not for every match the sort meets", async () => {
    // 60 people of one company, all saved by one team and running in a sequence; another team saved none.
    const co = `Qsr${newId().slice(0, 8)}`;
    const { teamId: team, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(team, userId, [{ wait: 0 }], await makeSchedule(team));
    const bare = await makeTeam("Bare");
    const t = Date.now();
    const stmts: D1PreparedStatement[] = [];
    for (let i = 0; i < 60; i++) {
      const id = `ppl-${co}-${i}`;
      const contactId = newId();
      stmts.push(
        env.DB.prepare(
          "INSERT INTO people (id, first_name, last_name, title, seniority, department, company, domain, industry, employees, city, country, time_zone, email, email_status, score) VALUES (?, 'Pat', ?, 'Buyer', 'manager', 'sales', ?, 'qsr.test', 'Software', 50, 'Austin', 'United States', 'America/Chicago', ?, 'verified', 50)",
        ).bind(id, `Last${String(i).padStart(2, "0")}`, co, `p${i}@${co}.test`),
        env.DB.prepare(
          "INSERT INTO contacts (id, team_id, person_id, first_name, last_name, company, email, email_status, score, stage_id, created_at, updated_at) VALUES (?, ?, ?, 'Pat', 'X', ?, ?, 'verified', 50, ?, ?, ?)",
        ).bind(contactId, team, id, co, `p${i}@${co}.test`, `${team}-cold`, t, t),
        env.DB.prepare(
          "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, current_step, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', 1, ?, ?)",
        ).bind(newId(), team, sequenceId, contactId, t, t),
      );
    }
    await env.DB.batch(stmts);

    const readFor = async (teamOf: string, user: string) => {
      const s = await sessionFor(teamOf, user);
      const counted = countingD1(env.DB, { rowsOfRaw: true });
      const search = async () => {
        const ctx = createExecutionContext();
        const res = await app.request(
          `${BASE}/api/people/search`,
          {
            method: "POST",
            headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" },
            body: JSON.stringify({ companies: [co], sort: "name", page: 3, per_page: 10 }),
          },
          { ...env, DB: counted.db },
          ctx,
        );
        const body = (await res.json()) as { people: { last_name: string; contact_id: string | null; sequences: { id: string }[] }[] };
        await waitOnExecutionContext(ctx);
        return body;
      };
      await search(); // warm: the caller, and the total kept per isolate
      counted.reset();
      const body = await search();
      const page = counted.count.queries.find((q) => /json_group_array/.test(q.sql))!;
      const r = await env.DB.prepare(page.sql)
        .bind(...page.params)
        .all();
      return { body, rowsRead: r.meta.rows_read };
    };
    const saved = await readFor(team, userId);
    const none = await readFor(bare.teamId, bare.userId);
    // The same page, in name order, with the contact and the sequence where saved.
    expect(saved.body.people.map((p) => p.last_name)).toEqual(Array.from({ length: 10 }, (_, i) => `Last${20 + i}`));
    expect(none.body.people.map((p) => p.last_name)).toEqual(saved.body.people.map((p) => p.last_name));
    expect(saved.body.people.every((p) => p.contact_id && p.sequences.map((x) => x.id).join() === sequenceId)).toBe(true);
    expect(none.body.people.every((p) => p.contact_id === null && p.sequences.length === 0)).toBe(true);
    // What the saved contacts add to the page's reading: a few rows for each of the page's 10 (its
    // contact, its run, its sequence: 80 in all), not for each of the 60 matches the sort meets (270
    // when the lookups were result columns of the sorted query).
    const extra = saved.rowsRead - none.rowsRead;
    expect(extra, `${saved.rowsRead} vs ${none.rowsRead}`).toBeLessThanOrEqual(10 * 10);
  });
});
