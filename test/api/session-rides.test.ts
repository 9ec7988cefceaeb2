import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { db } from "../../worker/db/client";
import { CheckFailed, riding, runChecked, type RidingCheck } from "../../worker/db/riding-check";
import { contactStages } from "../../worker/db/schema";
import { now } from "../../worker/lib/clock";
import { mayRunOnGuess } from "../../worker/middleware/auth";
import { countingD1 } from "../../worker/middleware/d1-count";
import { DEMO } from "../../worker/seed/demo";
import { as, BASE, countedGet, env, errorOf, login, type Session } from "../helpers";

// A GET sends its session's statement in the same D1 batch as its first read (worker/db/riding-check.ts),
// acting meanwhile as the caller this isolate last saw for that session. These tests change the session
// straight in D1 between two requests, as another isolate's sign-out or an admin's change would, and
// check that the next GET answers as the session now is, never with what the old guess read.

const contactsPage = "/api/contacts?per_page=5";

async function hiddenSequence(): Promise<string> {
  // A sequence rep1 neither owns nor shares: 404 to rep1 as a member, visible to rep1 as an admin.
  const row = await env.DB.prepare(
    `SELECT id FROM sequences WHERE team_id = ? AND owner_id <> ? AND archived_at IS NULL
       AND id NOT IN (SELECT sequence_id FROM sequence_shares WHERE user_id = ?)
       AND id IN (SELECT sequence_id FROM enrollments) LIMIT 1`,
  )
    .bind(DEMO.team, DEMO.rep1, DEMO.rep1)
    .first<{ id: string }>();
  if (!row) throw new Error("the demo seed has no sequence hidden from rep1");
  return row.id;
}

const setRole = (userId: string, role: "admin" | "member") =>
  env.DB.prepare("UPDATE users SET role = ? WHERE id = ?").bind(role, userId).run();

describe("a GET's caller rides in its first read", () => {
  it("a warm contacts page is one round trip, and the session's statement is in it", async () => {
    const s = await login("admin@demo.test");
    await countedGet(s.cookie, contactsPage);
    const { status, count } = await countedGet(s.cookie, contactsPage);
    expect(status).toBe(200);
    expect(count.roundTrips, count.statements.join("\n")).toBe(1);
    expect(count.queries.some((q) => /FROM sessions s JOIN users u/.test(q.sql))).toBe(true);
  });

  it("a session signed out elsewhere gets a 401 with no rows, though its guess was read with them", async () => {
    const s = await login("admin@demo.test");
    expect((await as(s, "GET", contactsPage)).status).toBe(200);
    await env.DB.prepare("DELETE FROM sessions WHERE csrf_token = ?").bind(s.csrf).run();
    const res = await as(s, "GET", contactsPage);
    const body = await res.text();
    expect(res.status, body).toBe(401);
    expect(body).not.toMatch(/"contacts"/);
    expect(JSON.parse(body)).toMatchObject({ error: { code: "unauthenticated" } });
  });

  it("a disabled user gets a 401 on the next page", async () => {
    const s = await login("rep2@demo.test");
    expect((await as(s, "GET", contactsPage)).status).toBe(200);
    await env.DB.prepare("UPDATE users SET disabled_at = ? WHERE id = ?").bind(now(), DEMO.rep2).run();
    try {
      expect(await errorOf(await as(s, "GET", contactsPage))).toMatchObject({ status: 401, code: "unauthenticated" });
    } finally {
      await env.DB.prepare("UPDATE users SET disabled_at = NULL WHERE id = ?").bind(DEMO.rep2).run();
    }
  });

  it("a member made admin sees the sequence at once, and loses it at once when made member again", async () => {
    const seqId = await hiddenSequence();
    const page = `/api/sequences/${seqId}/enrollments?per_page=5`;
    const rep = await login("rep1@demo.test");
    expect((await as(rep, "GET", page)).status).toBe(404);
    await setRole(DEMO.rep1, "admin");
    try {
      // The guess (member) rode with the page's batch and was refused: the request was answered again as an admin.
      const res = await as(rep, "GET", page);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { enrollments: unknown[] }).enrollments.length).toBeGreaterThan(0);
    } finally {
      await setRole(DEMO.rep1, "member");
    }
    const res = await as(rep, "GET", page);
    const body = await res.text();
    expect(res.status, body).toBe(404);
    expect(body).not.toMatch(/"enrollments"/);
  });

  it("an admin turned member is refused an admin-only read the guess would have allowed", async () => {
    const s = await login("admin@demo.test");
    expect((await as(s, "GET", "/api/api-keys")).status).toBe(200);
    await setRole(DEMO.admin, "member");
    try {
      expect(await errorOf(await as(s, "GET", "/api/api-keys"))).toMatchObject({ status: 403, code: "forbidden" });
    } finally {
      await setRole(DEMO.admin, "admin");
    }
  });

  it("two teams' pages read at the same time each answer their own caller", async () => {
    const [a, r] = await Promise.all([login("admin@demo.test"), login("admin@rival.test")]);
    const teamOf = async (s: Session) => {
      const res = await as(s, "GET", "/api/contacts?per_page=100");
      const { contacts } = (await res.json()) as { contacts: { id: string }[] };
      return contacts.map((c) => c.id);
    };
    const rounds = await Promise.all(Array.from({ length: 10 }, (_, i) => teamOf(i % 2 ? r : a)));
    const teams = await env.DB.prepare(`SELECT id, team_id FROM contacts WHERE id IN (SELECT value FROM json_each(?))`)
      .bind(JSON.stringify(rounds.flat()))
      .all<{ id: string; team_id: string }>();
    const team = new Map(teams.results.map((t) => [t.id, t.team_id]));
    rounds.forEach((ids, i) => {
      expect(ids.length).toBeGreaterThan(0);
      expect(new Set(ids.map((id) => team.get(id)))).toEqual(new Set([i % 2 ? r.teamId : a.teamId]));
    });
  });
});

describe("a POST that only reads (people search, preview) rides like a GET", () => {
  const search = { titles: ["CEO"], page: 1, per_page: 5 };

  it("a warm people search is one round trip with the session's statement; a POST that writes reads its caller alone first", async () => {
    const s = await login("admin@demo.test");
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const post = async (path: string, body: unknown) => {
      counted.reset();
      const ctx = createExecutionContext();
      const res = await app.request(
        `${BASE}${path}`,
        {
          method: "POST",
          headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" },
          body: JSON.stringify(body),
        },
        { ...env, DB: counted.db },
        ctx,
      );
      await res.text();
      await waitOnExecutionContext(ctx);
      return { status: res.status, count: structuredClone(counted.count) };
    };
    await post("/api/people/search", search);
    const read = await post("/api/people/search", search);
    expect(read.status).toBe(200);
    expect(read.count.roundTrips, read.count.statements.join("\n")).toBe(1);
    expect(read.count.queries.some((q) => /FROM sessions s JOIN users u/.test(q.sql))).toBe(true);
    const write = await post("/api/lists", { name: `Riding ${Date.now()}` });
    expect(write.status).toBe(201);
    expect(write.count.statements[0]).toMatch(/FROM sessions s JOIN users u/);
  });

  it("a read POST with a wrong CSRF token or another origin is refused, guess or not", async () => {
    const s = await login("admin@demo.test");
    expect((await as(s, "POST", "/api/people/search", search)).status).toBe(200);
    expect(await errorOf(await as({ ...s, csrf: "wrong" }, "POST", "/api/people/search", search))).toMatchObject({
      status: 403,
      code: "csrf_failed",
    });
    expect(await errorOf(await as(s, "POST", "/api/people/search", search, { origin: "https://evil.example" }))).toMatchObject({
      status: 403,
      code: "csrf_failed",
    });
  });

  it("a people search by an admin made member meanwhile is answered again, body and all, as the member", async () => {
    const s = await login("admin@demo.test");
    const first = await as(s, "POST", "/api/people/search", search);
    const expected = ((await first.json()) as { people: { id: string }[] }).people.map((p) => p.id);
    await setRole(DEMO.admin, "member");
    try {
      // The guess (admin) rode with the search and was refused; the search ran again from its body.
      const res = await as(s, "POST", "/api/people/search", search);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect((JSON.parse(text) as { people: { id: string }[] }).people.map((p) => p.id)).toEqual(expected);
      const me = (await (await as(s, "GET", "/api/me")).json()) as { user: { role: string } };
      expect(me.user.role).toBe("member");
    } finally {
      await setRole(DEMO.admin, "admin");
    }
  });

  it("a preview by a member made admin meanwhile is answered again, body and all, as an admin", async () => {
    const seqId = await hiddenSequence();
    const contact = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND deleted_at IS NULL LIMIT 1")
      .bind(DEMO.team)
      .first<{ id: string }>();
    const body = { source: { contact_ids: [contact!.id] } };
    const preview = `/api/sequences/${seqId}/add-contacts/preview`;
    const rep = await login("rep1@demo.test");
    expect((await as(rep, "POST", preview, body)).status).toBe(404);
    await setRole(DEMO.rep1, "admin");
    try {
      const res = await as(rep, "POST", preview, body);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect((JSON.parse(text) as { totals: { candidates: number } }).totals.candidates).toBe(1);
    } finally {
      await setRole(DEMO.rep1, "member");
    }
    expect((await as(rep, "POST", preview, body)).status).toBe(404);
  });

  it("a read POST of a session signed out elsewhere gets a 401", async () => {
    const s = await login("admin@demo.test");
    expect((await as(s, "POST", "/api/people/search", search)).status).toBe(200);
    await env.DB.prepare("DELETE FROM sessions WHERE csrf_token = ?").bind(s.csrf).run();
    const res = await as(s, "POST", "/api/people/search", search);
    const text = await res.text();
    expect(res.status, text).toBe(401);
    expect(text).not.toMatch(/"people"/);
  });
});

describe("which requests may run on a guess", () => {
  it("reads only: GETs but the OAuth callback (it spends the provider's one-time code), and the two POSTs that only read", () => {
    expect(mayRunOnGuess("GET", "/api/contacts")).toBe(true);
    expect(mayRunOnGuess("GET", "/apollo/api/v1/contacts/abc")).toBe(true);
    expect(mayRunOnGuess("GET", "/api/oauth/google/callback")).toBe(false);
    expect(mayRunOnGuess("GET", "/api/oauth/microsoft/callback")).toBe(false);
    expect(mayRunOnGuess("POST", "/api/people/search")).toBe(true);
    expect(mayRunOnGuess("POST", "/api/sequences/abc/add-contacts/preview")).toBe(true);
    expect(mayRunOnGuess("POST", "/api/sequences/abc/add-contacts")).toBe(false);
    expect(mayRunOnGuess("POST", "/api/lists")).toBe(false);
    expect(mayRunOnGuess("PATCH", "/api/contacts/abc")).toBe(false);
    expect(mayRunOnGuess("DELETE", "/api/contacts/abc")).toBe(false);
  });
});

describe("riding(): what a failed check lets through", () => {
  const failing: RidingCheck = {
    sql: "SELECT 1 AS ok WHERE 0",
    params: [],
    holds: (rows) => rows.length > 0,
    failure: "check failed",
  };
  const holding: RidingCheck = { ...failing, sql: "SELECT 1 AS ok" };

  it("a write waits for the check on its own round trip, and never runs when it fails", async () => {
    const counted = countingD1(env.DB);
    const d = db(riding(counted.db));
    const id = `${DEMO.team}-riding-probe`;
    let error: unknown = null;
    const held = await runChecked(counted.db, failing, async () => {
      try {
        await d.insert(contactStages).values({ id, teamId: DEMO.team, name: "Probe", category: "open", position: 99 });
      } catch (e) {
        error = e;
      }
    });
    expect(held).toBe(false);
    // Its own class, not an ApiError a handler might catch and carry on past.
    expect((error as Error).cause ?? error).toBeInstanceOf(CheckFailed);
    expect(String((error as Error).cause ?? error)).toMatch(/check failed/);
    expect(counted.count.statements).toEqual(["SELECT 1 AS ok WHERE 0"]);
    expect(await env.DB.prepare("SELECT count(*) n FROM contact_stages WHERE id = ?").bind(id).first("n")).toBe(0);
  });

  it("reads in parallel share one check: the first rides, the others wait for its answer", async () => {
    const counted = countingD1(env.DB);
    const real = riding(counted.db);
    const held = await runChecked(counted.db, holding, async () => {
      const q = () => real.prepare("SELECT count(*) AS n FROM teams").all();
      const answers = await Promise.all([q(), q(), q()]);
      for (const a of answers) expect(a.results[0]).toHaveProperty("n");
    });
    expect(held).toBe(true);
    // One batch with the check in front, then the other two alone: the check ran once.
    expect(counted.count.statements).toEqual(["batch of 2", expect.stringMatching(/teams/), expect.stringMatching(/teams/)]);
    expect(counted.count.queries.filter((q) => q.sql === holding.sql)).toHaveLength(1);
  });

  it("a request that reads nothing is checked at its end", async () => {
    const counted = countingD1(env.DB);
    expect(await runChecked(counted.db, failing, async () => {})).toBe(false);
    expect(counted.count.statements).toEqual(["SELECT 1 AS ok WHERE 0"]);
  });

  it("what the request threw is dropped under a failed check, and thrown under one that held", async () => {
    const boom = async () => {
      throw "not an Error";
    };
    expect(await runChecked(env.DB, failing, boom)).toBe(false);
    await expect(runChecked(env.DB, holding, boom)).rejects.toBe("not an Error");
  });

  it("a check D1 could not answer does not count as held", async () => {
    const broken: RidingCheck = { ...holding, sql: "SELECT ok FROM no_such_table" };
    expect(await runChecked(env.DB, broken, async () => {})).toBe(false);
  });

  it("a failed read in the riding batch throws its own error, and the check still runs", async () => {
    const counted = countingD1(env.DB);
    const real = riding(counted.db);
    let error: unknown = null;
    const held = await runChecked(counted.db, holding, async () => {
      try {
        await real.prepare("SELECT nope FROM teams").all();
      } catch (e) {
        error = e;
      }
    });
    expect(held).toBe(true);
    expect(String(error)).toMatch(/no such column/);
  });

  it("an app request with no ExecutionContext is answered again after a failed guess", async () => {
    const s = await login("admin@demo.test");
    expect((await app.request(`${BASE}${contactsPage}`, { headers: { cookie: s.cookie } }, env)).status).toBe(200);
    await env.DB.prepare("DELETE FROM sessions WHERE csrf_token = ?").bind(s.csrf).run();
    const ctx = createExecutionContext();
    const res = await app.request(`${BASE}${contactsPage}`, { headers: { cookie: s.cookie } }, env);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(401);
  });
});
