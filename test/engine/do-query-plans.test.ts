import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { engine, mailboxStub, sequenceStub } from "../../durable-objects/engine";
import { MIGRATIONS } from "../../durable-objects/sequence-do";
import { newId } from "../../worker/lib/ids";
import { setTransportOverride } from "../../worker/transports";
import { env } from "../helpers";
import { DAY, makeContacts, makeMailbox, makeSchedule, makeSequence, makeTeam, runUntil, SIM_START, startSimulation } from "../fixtures";
import { watchStatements } from "./statements";

// The objects' own SQLite picks its index by heuristics, and a wrong pick is invisible in a small test:
// walking every open enrollment by status, or every timer sharing one run_at, costs nothing at 20 rows
// and dominated a 100,000-contact add. So every statement the objects run while enrolling and sending
// is explained, and each must go by the most selective key it names.
it("every statement the objects run searches by the key it is given", async () => {
  const seen = new Map<string, unknown[]>();
  // A storage migration's statement ran once, against its own version of the schema, not today's.
  const migrations = MIGRATIONS.map(String).join("\n");
  const restore = await watchStatements((q, b) => {
    if (!seen.has(q) && !/^\s*(CREATE|ALTER|DROP|EXPLAIN|PRAGMA)\b/i.test(q) && !migrations.includes(q)) seen.set(q, b);
  });
  let sequenceId: string;
  let mailboxId: string;
  try {
    startSimulation();
    const { teamId, userId } = await makeTeam("Plans");
    const scheduleId = await makeSchedule(teamId, { timeZone: "America/New_York" });
    ({ sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }, { wait: 3, threadReply: true }], scheduleId));
    const mailboxes = [
      await makeMailbox(teamId, userId, { daily: 40, hourly: 10, gapSeconds: 0 }),
      await makeMailbox(teamId, userId, { daily: 40, hourly: 10, gapSeconds: 0 }),
    ];
    mailboxId = mailboxes[0]!;
    for (const m of mailboxes) setTransportOverride(m, { local: true, send: async () => ({ ok: true, response: "ok" }) });
    const contacts = await makeContacts(teamId, 200);
    await engine
      .sequence(env, sequenceId, teamId)
      .enroll(
        contacts.map((c, i) => ({ enrollmentId: newId(), contactId: c, mailboxId: mailboxes[i % 2]!, score: i % 100, timeZone: null })),
      );
    await runUntil(SIM_START + 8 * DAY);
    for (const m of mailboxes) setTransportOverride(m, null);
  } finally {
    restore();
  }
  expect(seen.size).toBeGreaterThan(20);

  const problems: string[] = [];
  for (const [q, binds] of seen) {
    const text = q.replace(/\s+/g, " ");
    const inMailbox = /\b(queue|wgroups)\b/.test(text) && !/\b(enrollments|timers|results|email_choices)\b/.test(text);
    const stub = inMailbox ? mailboxStub(env, mailboxId!) : sequenceStub(env, sequenceId!);
    const plan = await runInDurableObject(stub, (_o, state) =>
      [...state.storage.sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${q}`, ...binds)].map((r) => r.detail).join("; "),
    ).catch(() => null);
    if (plan === null) continue; // a statement of the other object's tables (meta) answered there
    const say = (why: string) => problems.push(`${why}\n  plan: ${plan}\n  sql: ${text.slice(0, 200)}`);
    // A list of keys (json_each) is looked up by that key, never by walking a broader index.
    for (const key of ["enrollment_id", "contact_id", "id"])
      if (new RegExp(`(^|[^\\w.])${key} IN \\(SELECT value FROM json_each`).test(text) && !plan.includes(`(${key}=?`))
        say(`looks up ${key}s from a list but searches by something else`);
    // What counts against the caps: through the last day's reservations.
    if (/\breserved_at > \?/.test(text) && !plan.includes("queue_reserved")) say("reads recent reservations without queue_reserved");
    // No bare scan of a table that grows with the sequence or the mailbox.
    const scan = /(?:^|; )SCAN (enrollments|timers|results|queue|email_choices|e|t|q)(?:;|$)/.exec(plan);
    if (scan) say(`scans ${scan[1]}`);
  }
  expect(problems, problems.join("\n\n")).toEqual([]);
});
