import { describe, expect, it } from "vitest";
import { DEMO, seedDemo } from "../../worker/seed/demo";
import { peopleChunks, type PersonRow } from "../../worker/seed/people";
import { client, env, ok } from "../helpers";
import { sessionFor } from "../fixtures";
import { TEST_SEED } from "../setup";

const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

describe("demo workspace seed", () => {
  it("is idempotent: a second run neither duplicates nor wipes data", async () => {
    const tables = [
      "teams",
      "users",
      "api_keys",
      "people",
      "contacts",
      "lists",
      "list_members",
      "sequences",
      "steps",
      "mailboxes",
      "enrollments",
      "credit_ledger",
      "suppressions",
    ];
    const before = await Promise.all(tables.map((t) => count(`select count(*) n from ${t}`)));
    // a user's change survives the re-run
    await env.DB.prepare("update contacts set title = 'Changed by user' where id = (select min(id) from contacts)").run();
    expect((await seedDemo(env.DB, TEST_SEED)).seeded).toBe(false);
    const after = await Promise.all(tables.map((t) => count(`select count(*) n from ${t}`)));
    expect(after).toEqual(before);
    expect(await count("select count(*) n from contacts where title = 'Changed by user'")).toBe(1);
  });

  it("has the demo teams, users, keys, mailboxes and a credit balance", async () => {
    expect(await count("select count(*) n from users where team_id = ?", DEMO.team)).toBe(3);
    expect(await count("select count(*) n from mailboxes where team_id = ?", DEMO.team)).toBe(4);
    expect(await count("select count(distinct daily_limit) n from mailboxes where team_id = ?", DEMO.team)).toBe(4);
    expect(await count("select credit_balance n from teams where id = ?", DEMO.team)).toBeGreaterThan(0);
    expect(await count("select count(*) n from sequences where team_id = ?", DEMO.team)).toBe(3);
    expect(await count("select count(*) n from people")).toBe(TEST_SEED.people);
    expect(await count("select count(*) n from contacts where team_id = ?", DEMO.team)).toBe(TEST_SEED.contacts);
  });

  it("has the realistic mix of contact states validation needs", async () => {
    const t = DEMO.team;
    expect(await count("select count(*) n from contacts where team_id = ? and unsubscribed_at is not null", t)).toBeGreaterThan(0);
    expect(await count("select count(*) n from contacts where team_id = ? and bounced_at is not null", t)).toBeGreaterThan(0);
    expect(
      await count(
        "select count(*) n from contacts c join contact_stages s on s.id = c.stage_id where c.team_id = ? and s.category = 'dnc'",
        t,
      ),
    ).toBeGreaterThan(0);
    expect(await count("select count(*) n from contacts where team_id = ? and email is null", t)).toBeGreaterThan(0);
    expect(await count("select count(*) n from contacts where team_id = ? and email_status = 'unverified'", t)).toBeGreaterThan(0);
    expect(await count("select count(*) n from contacts where team_id = ? and job_changed_at is not null", t)).toBeGreaterThan(0);
    expect(await count("select count(distinct owner_id) n from contacts where team_id = ?", t)).toBe(3);
    expect(await count("select count(*) n from enrollments where team_id = ? and status = 'active'", t)).toBeGreaterThan(0);
    expect(await count("select count(*) n from enrollments where team_id = ? and status = 'finished'", t)).toBeGreaterThan(0);
    // every unsubscribed or bounced address is suppressed, so the suppression outlives the contact
    expect(
      await count(
        "select count(*) n from contacts c where team_id = ? and email is not null and (unsubscribed_at is not null or bounced_at is not null) and not exists (select 1 from suppressions s where s.team_id = c.team_id and s.email = c.email)",
        t,
      ),
    ).toBe(0);
  });

  it("has meetings booked after positive replies, which the team report counts", async () => {
    const n = await count(
      "select count(*) n from meetings m join contacts c on c.id = m.contact_id and c.team_id = m.team_id where m.team_id = ?",
      DEMO.team,
    );
    expect(n).toBeGreaterThan(0);
    const api = client(await sessionFor(DEMO.team, DEMO.admin)).api;
    // The history reaches 60 days back; the report's default is the last 30.
    const from = new Date(Date.now() - 90 * 86_400_000).toISOString().slice(0, 10);
    const { report } = await ok(api.reports.team.$get({ query: { from } }));
    expect(report.users.reduce((n, u) => n + u.meetings, 0)).toBeGreaterThan(0);
  });

  it("has a past only: nothing in the seeded history happened after the seed ran", async () => {
    // The history is laid out from today's midnight: an enrollment "finished three days after its last
    // email" or a task "done a few hours after it fell due" landed up to a day and a half ahead, and the
    // screens showed them finished or done before it happened. (Due dates, a pause's return and a
    // session's expiry are rightly ahead.)
    const t = Date.now();
    const past: [string, string][] = [
      ["enrollments", "finished_at"],
      ["enrollments", "updated_at"],
      ["enrollments", "created_at"],
      ["messages", "sent_at"],
      ["messages", "replied_at"],
      ["messages", "created_at"],
      ["tasks", "completed_at"],
      ["tasks", "created_at"],
      ["contacts", "unsubscribed_at"],
      ["contacts", "bounced_at"],
      ["contacts", "updated_at"],
      ["suppressions", "created_at"],
      ["meetings", "booked_at"],
    ];
    for (const [table, col] of past)
      expect(await count(`select count(*) n from ${table} where team_id = ? and ${col} > ?`, DEMO.team, t), `${table}.${col}`).toBe(0);
    // A task done was due before it was done.
    expect(await count("select count(*) n from tasks where team_id = ? and completed_at < due_at", DEMO.team)).toBe(0);
  });

  it("generates the same people on every run", () => {
    const a = peopleChunks(500, 500, 0).next().value as PersonRow[];
    const b = peopleChunks(500, 500, 0).next().value as PersonRow[];
    expect(a).toEqual(b);
    const statuses = new Set(a.map((p) => p[14]));
    expect([...statuses].sort()).toEqual(["guessed", "unavailable", "unverified", "verified"]);
    expect(a.every((p) => p[15] >= 0 && p[15] <= 100)).toBe(true);
  });
});
