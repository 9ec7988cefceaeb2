// A reply's "same company domain" rule looked colleagues up by lower(substr(email, …)) with no index
// for it: on a database without planner statistics (a new one, the benches') it read every enrollment
// of the sequence or every contact of the team to find the three at the replier's domain. The domain
// has its own expression index now (migration 0021), and the lookup goes from the domain's contacts
// to their enrollments in this sequence.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import type { Env } from "../../worker/env";
import { countingD1 } from "../../worker/middleware/d1-count";
import { env } from "../helpers";
import { enroll, makeContacts, startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

describe("a colleague's reply on a team of 5,000 contacts", () => {
  beforeEach(async () => {
    startSimulation();
    // The planner as on a database nobody has analyzed yet.
    await env.DB.prepare("DELETE FROM sqlite_stat1").run();
    await env.DB.prepare("ANALYZE sqlite_schema").run();
  });

  it("finds the colleagues at the replier's domain through the index, reading rows for them alone", async () => {
    const emails = ["ana@acme.test", "bo@acme.test", "cy@ACME.test", "dee@other.test"];
    const s = await sentFirst({ n: 4, emails: (i) => emails[i]!, settings: { colleague_reply: "pause" } });
    // 5,000 more contacts of the team, all in the same sequence, none at acme.test.
    const others = await makeContacts(s.teamId, 5_000);
    await enroll(s.teamId, s.sequenceId, others, [s.mailboxId]);
    const by = (email: string) => s.sent.find((m) => m.to_email.toLowerCase() === email)!;

    const counted = countingD1(env.DB, { rowsOfRaw: true });
    await handleInbound({ ...(env as unknown as Env), DB: counted.db }, replyTo(by("ana@acme.test")));
    // The rule did its work: the colleagues at acme.test paused, everyone else untouched.
    for (const e of ["bo@acme.test", "cy@acme.test"])
      expect(await enrollmentRow(by(e).enrollment_id)).toMatchObject({ status: "paused", reason: "colleague_replied" });
    expect(await enrollmentRow(by("dee@other.test").enrollment_id)).toMatchObject({ status: "active" });
    const active = await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND status = 'active'")
      .bind(s.sequenceId)
      .first<{ n: number }>();
    expect(active!.n).toBe(5_001);

    // The lookup itself: its plan goes through the domain index, and it reads a few rows, not 5,000.
    const lookup = counted.count.queries.filter((q) => /instr\(/i.test(q.sql) && /enrollments/i.test(q.sql));
    expect(lookup, counted.count.statements.join("\n")).toHaveLength(1);
    const { sql, params } = lookup[0]!;
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join("; ");
    expect(plan, plan).toMatch(/contacts_team_domain_idx/);
    const rerun = await env.DB.prepare(sql)
      .bind(...params)
      .all();
    expect(rerun.results, "both colleagues are paused now").toEqual([]);
    expect(rerun.meta.rows_read, plan).toBeLessThan(50);
  }, 120_000);
});
