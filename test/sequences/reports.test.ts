import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { seedId } from "../../worker/seed/random";
import { abVerdict, normalCdf, sampleSizePerVariant, twoProportionTest, wilson } from "../../worker/services/reports/stats";
import { applyAutoWinners } from "../../worker/services/reports/ab";
import { handleInbound } from "../../worker/inbound";
import { loadSendContext, pickVariant } from "../../durable-objects/compose";
import { db } from "../../worker/db/client";
import { DEMO, makeContacts, makeMailbox, makeSequence, makeTeam, sessionFor } from "../fixtures";
import { as, client, env, errorOf, fieldsOf, login, ok, type Session } from "../helpers";

const SEQ1 = seedId(0x0a, 1); // Enterprise outbound: admin's, rep1 edits, rep2 views
const SEQ2 = seedId(0x0a, 2); // Webinar follow-up: rep1's, admin edits, rep2 can't see it
type ReportQuery = NonNullable<Parameters<ReturnType<typeof client>["api"]["sequences"][":id"]["report"]["$get"]>[0]>["query"];
/** A sequence's report as `s` sees it (the answer must be 200). */
const reportOf = async (s: Session, id: string, query: ReportQuery = {}) =>
  (await ok(client(s).api.sequences[":id"].report.$get({ param: { id }, query }))).report;
const one = async <T = number>(sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: T }>())!.n;
const DAY = 86_400_000;

describe("A/B statistics", () => {
  it("matches the textbook two-proportion z-test (140/200 against 255/340: z = -1.266, two-sided p = 0.206)", () => {
    const r = twoProportionTest(140, 200, 255, 340)!;
    expect(r.z).toBeCloseTo(-1.266, 3);
    expect(r.p).toBeCloseTo(0.2055, 3);
    // and the normal table: Φ(1.96) = 0.975
    expect(normalCdf(1.96)).toBeCloseTo(0.975, 4);
  });

  it("matches Newcombe's Wilson interval for 81/263 (0.2553 to 0.3662)", () => {
    const ci = wilson(81, 263);
    expect(ci.low).toBeCloseTo(0.2553, 4);
    expect(ci.high).toBeCloseTo(0.3662, 4);
    expect(wilson(0, 10).low).toBe(0);
  });

  it("matches Fleiss' sample size for 10% against 15% at α = 0.05, power 0.8 (686 per group)", () => {
    expect(sampleSizePerVariant(0.1, 0.15)).toBe(686);
  });

  it("says 'significant' or how many more contacts per variant are needed", () => {
    const win = abVerdict([
      { id: "a", label: "A", enabled: true, sent: 600, replies: 30 },
      { id: "b", label: "B", enabled: true, sent: 600, replies: 84 },
    ]);
    expect(win.significant).toBe(true);
    expect(win.leader_id).toBe("b");
    expect(win.p_value!).toBeLessThan(0.001);
    const open = abVerdict([
      { id: "a", label: "A", enabled: true, sent: 100, replies: 10 },
      { id: "b", label: "B", enabled: true, sent: 100, replies: 15 },
    ]);
    expect(open.significant).toBe(false);
    // 10% vs 15% needs 686 per variant: 586 more than the 100 each already sent
    expect(open.needs_more_per_variant).toBe(586);
    expect(open.verdict).toContain("586 more contacts per variant");
  });
});

/** A team with one two-step sequence (step 1 has variants A and B), two mailboxes and known outcomes. */
async function world() {
  const { teamId, userId } = await makeTeam("Reports");
  const s = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [
      {
        variants: [
          { subject: "A", body: "a" },
          { subject: "B", body: "b" },
        ],
      },
      { type: "call" },
    ],
    null,
    false,
  );
  const variants = (
    await env.DB.prepare("SELECT id, label FROM step_variants WHERE step_id = ? ORDER BY label").bind(stepIds[0]).all<{ id: string }>()
  ).results.map((r) => r.id);
  const mb = [await makeMailbox(teamId, userId), await makeMailbox(teamId, userId)];
  const contacts = await makeContacts(teamId, 40);
  const base = Date.UTC(2026, 5, 1, 12);
  const stmts: D1PreparedStatement[] = [];
  // Contact i: enrolled on day i % 4; email on step 1 from mailbox i % 2 with variant i % 2;
  // i % 10 == 0 bounced, i % 5 == 1 replied, i % 7 == 3 out-of-office, 4 unsubscribed from it; i % 3 == 0 finished, else active at step 2.
  contacts.forEach((c, i) => {
    const e = newId();
    const at = base + (i % 4) * DAY;
    const status = i % 3 === 0 ? "finished" : "active";
    const reason = i % 10 === 0 ? "bounced" : i % 5 === 1 ? "replied" : i === 4 ? "unsubscribed" : null;
    stmts.push(
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, mailbox_id, status, current_step, reason, added_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).bind(e, teamId, sequenceId, c, mb[i % 2], status, i % 2 ? 2 : 1, reason, i < 20 ? userId : null, at, at),
    );
    stmts.push(
      env.DB.prepare(
        "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, variant_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, replied_at, reply_kind, unsubscribed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'x@example.test', 's', 'b', ?, ?, ?, ?, ?, ?, ?)",
      ).bind(
        newId(),
        teamId,
        e,
        sequenceId,
        stepIds[0],
        variants[i % 2],
        mb[i % 2],
        c,
        `<sf.${e}.${stepIds[0]}@sender.test>`,
        i % 10 === 0 ? "bounced" : "sent",
        at,
        i % 5 === 1 ? at + 3600_000 : i % 7 === 3 ? at + 60_000 : null,
        i % 5 === 1 ? "reply" : i % 7 === 3 ? "out_of_office" : null,
        i === 4 ? at + 60_000 : null,
        at,
      ),
    );
    if (i % 4 === 1)
      stmts.push(
        env.DB.prepare(
          "INSERT INTO tasks (id, team_id, enrollment_id, sequence_id, step_id, contact_id, assignee_id, type, due_at, status, completed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'call', ?, 'completed', ?, ?)",
        ).bind(newId(), teamId, e, sequenceId, stepIds[1], c, userId, at, at, at),
      );
  });
  await env.DB.batch(stmts);
  return { teamId, userId, s, sequenceId, stepIds, variants, mb, contacts, base };
}

describe("GET /api/sequences/{id}/report", () => {
  it("counts contacts by status, the funnel per step, per mailbox, per day and per variant as the rows say", async () => {
    const w = await world();
    const r = await reportOf(w.s, w.sequenceId);
    const N = 40;
    const idx = [...Array(N).keys()];
    const count = (f: (i: number) => boolean) => idx.filter(f).length;
    const bounced = (i: number) => i % 10 === 0;
    const replied = (i: number) => i % 5 === 1;
    expect(r.totals.contacts).toBe(N);
    expect(r.statuses.find((s) => s.status === "finished")!.contacts).toBe(count((i) => i % 3 === 0));
    // The sequence is off: its runs still 'active' in D1 wait for it, as the Contacts tab shows them (enrollments.ts shownStatus).
    expect(r.statuses.find((s) => s.status === "active")!.contacts).toBe(0);
    expect(r.statuses.find((s) => s.status === "held")!.contacts).toBe(0);
    expect(r.statuses.find((s) => s.status === "waiting_sequence_off")!.contacts).toBe(count((i) => i % 3 !== 0));
    expect(r.totals).toMatchObject({
      sent: N,
      bounced: count(bounced),
      replied: count(replied),
      out_of_office: count((i) => i % 7 === 3 && !replied(i)),
      unsubscribed: 1,
      tasks_done: count((i) => i % 4 === 1),
    });
    expect(r.totals.reply_rate).toBeCloseTo(count(replied) / (N - count(bounced)), 10);
    expect(r.totals.bounce_rate).toBeCloseTo(count(bounced) / N, 10);
    const [s1, s2] = r.steps;
    expect(s1).toMatchObject({ position: 1, reached: N, sent: N, bounced: count(bounced), replied: count(replied) });
    // Reached by step id: the contacts with its task, and the open runs on it now (report-reached-by-step.test.ts).
    expect(s2).toMatchObject({
      position: 2,
      reached: count((i) => i % 4 === 1 || (i % 2 === 1 && i % 3 !== 0)),
      sent: 0,
      tasks_done: count((i) => i % 4 === 1),
    });
    for (const [k, m] of w.mb.entries()) {
      expect(r.mailboxes.find((x) => x.mailbox_id === m)).toMatchObject({
        sent: count((i) => i % 2 === k),
        bounced: count((i) => i % 2 === k && bounced(i)),
        replied: count((i) => i % 2 === k && replied(i)),
      });
    }
    // Every day from the first email's to today, zeros on the days without emails (report-daily-every-day.test.ts).
    expect(r.daily.slice(0, 4).map((d) => d.day)).toEqual(["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04"]);
    expect(r.daily.slice(0, 4).map((d) => d.sent)).toEqual([0, 1, 2, 3].map((d) => count((i) => i % 4 === d)));
    expect(r.daily.slice(4).every((d) => d.sent === 0)).toBe(true);
    const ab = r.ab_tests[0]!;
    expect(ab.step_id).toBe(w.stepIds[0]);
    for (const [k, v] of w.variants.entries()) {
      const row = ab.variants.find((x) => x.id === v)!;
      // sent = delivered (bounces excluded), as every reply rate in the report
      expect(row).toMatchObject({ sent: count((i) => i % 2 === k && !bounced(i)), replies: count((i) => i % 2 === k && replied(i)) });
      expect(row.ci_low).toBeLessThanOrEqual(row.reply_rate);
      expect(row.ci_high).toBeGreaterThanOrEqual(row.reply_rate);
    }
    expect(r.thresholds).toMatchObject({ bounce_rate_max: 0.02, spam_rate_max: 0.003, spam_rate_target: 0.001 });
    expect(r.tracking).toMatchObject({ opens: false, clicks: false });
  });

  it("counts an open run whose contact the engine won't email under wont_send, as the Contacts tab's chips do", async () => {
    const { teamId, userId } = await makeTeam("Report won't send");
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const mb = await makeMailbox(teamId, userId);
    const [plain, suppressed, unsubscribed, noEmail, done] = (await makeContacts(teamId, 5)) as [string, string, string, string, string];
    const t = Date.UTC(2026, 5, 1);
    // Runs of one step (an email): the suppressed contact was restarted (an earlier run, removed: it counts once).
    const runs: [string, string, number][] = [
      [plain, "active", t],
      [suppressed, "removed", t],
      [suppressed, "active", t + 1],
      [unsubscribed, "paused", t],
      [noEmail, "active", t],
      [done, "finished", t],
    ];
    await env.DB.batch(
      runs.map(([c, status, at]) =>
        env.DB.prepare(
          "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, mailbox_id, status, current_step, added_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        ).bind(newId(), teamId, sequenceId, c, mb, status, userId, at, at),
      ),
    );
    const email = await one<string>("SELECT email AS n FROM contacts WHERE id = ?", suppressed);
    await ok(api.suppressions.$post({ json: { emails: [email] } }));
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE id IN (?, ?)").bind(t, unsubscribed, done),
      env.DB.prepare("UPDATE contacts SET email = NULL WHERE id = ?").bind(noEmail),
    ]);

    const OPEN = ["active", "scheduled", "paused", "held", "waiting_sequence_off", "wont_send"] as const;
    const both = async () => {
      const r = await reportOf(s, sequenceId);
      const tab = await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: { status: "all" } }));
      const reported = Object.fromEntries(OPEN.map((k) => [k, r.statuses.find((x) => x.status === k)?.contacts]));
      return { reported, chips: Object.fromEntries(OPEN.map((k) => [k, tab.counts[k]])), r };
    };
    let { reported, chips, r } = await both();
    // The suppressed, the unsubscribed (paused: also under its own status, as its chip) and the one without an address.
    expect(reported).toEqual({ active: 1, scheduled: 0, paused: 1, held: 0, waiting_sequence_off: 0, wont_send: 3 });
    expect(chips).toEqual(reported);
    expect(r.totals.contacts).toBe(5);
    expect(r.statuses.find((x) => x.status === "removed")!.contacts).toBe(0);
    expect(r.statuses.find((x) => x.status === "finished")!.contacts).toBe(1);

    // The sequence off: the plain run waits for it, the blocked ones still won't be sent.
    expect((await as(s, "PATCH", `/api/sequences/${sequenceId}`, { active: false })).status).toBe(200);
    ({ reported, chips } = await both());
    expect(reported).toEqual({ active: 0, scheduled: 0, paused: 1, held: 0, waiting_sequence_off: 1, wont_send: 3 });
    expect(chips).toEqual(reported);
  });

  it("filters by day range, the user who added the contacts and the mailbox", async () => {
    const w = await world();
    const idx = [...Array(40).keys()];
    const q = (query: ReportQuery) => reportOf(w.s, w.sequenceId, query);
    const byDay = await q({ from: "2026-06-02", to: "2026-06-03" });
    expect(byDay.totals.sent).toBe(idx.filter((i) => i % 4 === 1 || i % 4 === 2).length);
    expect(byDay.totals.contacts).toBe(idx.filter((i) => i % 4 === 1 || i % 4 === 2).length);
    const byUser = await q({ added_by: w.userId });
    expect(byUser.totals).toMatchObject({ contacts: 20, sent: 20, replied: idx.filter((i) => i < 20 && i % 5 === 1).length });
    const byMailbox = await q({ mailbox_id: w.mb[1] });
    expect(byMailbox.totals).toMatchObject({ contacts: 20, sent: 20, bounced: 0 });
  });

  it("counts a reply that comes in through the inbound handler", async () => {
    const w = await world();
    const m = await env.DB.prepare(
      "SELECT message_id_header AS h FROM messages WHERE sequence_id = ? AND reply_kind IS NULL AND status = 'sent' LIMIT 1",
    )
      .bind(w.sequenceId)
      .first<{ h: string }>();
    const before = (await reportOf(w.s, w.sequenceId)).totals.replied;
    await handleInbound(
      env,
      `From: x@example.test\r\nTo: s@sender.test\r\nSubject: Re: s\r\nIn-Reply-To: ${m!.h}\r\nMessage-ID: <r-${newId()}@example.test>\r\n\r\nSounds good, let's talk.\r\n`,
    );
    expect((await reportOf(w.s, w.sequenceId)).totals.replied).toBe(before + 1);
  });

  it("keeps the rollup equal to the emails themselves through inserts, replies, bounces and deletes (triggers)", async () => {
    const w = await world();
    const grouped = async () =>
      (
        await env.DB.prepare(
          "SELECT step_id, coalesce(variant_id, '') v, mailbox_id, sent_at / 86400000 AS day, count(*) sent, sum(status = 'bounced') b, sum(reply_kind IS 'reply') r, sum(reply_kind IS 'out_of_office') o FROM messages WHERE sequence_id = ? AND status IN ('sent', 'bounced') AND sent_at IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        )
          .bind(w.sequenceId)
          .all()
      ).results;
    const rolled = async () =>
      (
        await env.DB.prepare(
          "SELECT step_id, variant_id v, mailbox_id, day, sent, bounced b, replied r, out_of_office o FROM report_rollup WHERE sequence_id = ? AND sent > 0 ORDER BY 1, 2, 3, 4",
        )
          .bind(w.sequenceId)
          .all()
      ).results;
    expect(await rolled()).toEqual(await grouped());
    const some = (
      await env.DB.prepare("SELECT id FROM messages WHERE sequence_id = ? ORDER BY id LIMIT 6").bind(w.sequenceId).all<{ id: string }>()
    ).results.map((r) => r.id);
    await env.DB.batch([
      env.DB.prepare("UPDATE messages SET status = 'bounced' WHERE id = ?").bind(some[0]),
      env.DB.prepare("UPDATE messages SET reply_kind = 'reply', replied_at = 1 WHERE id = ?").bind(some[1]),
      env.DB.prepare("UPDATE messages SET sent_at = sent_at + 86400000 WHERE id = ?").bind(some[2]),
      env.DB.prepare("UPDATE messages SET status = 'cancelled' WHERE id = ?").bind(some[3]),
      env.DB.prepare("DELETE FROM messages WHERE id = ?").bind(some[4]),
    ]);
    expect(await rolled()).toEqual(await grouped());
  });

  it("refuses bad input in words and answers 404 for another team's or an unseen sequence", async () => {
    const w = await world();
    const report = (s: Session, id: string, query: ReportQuery = {}) =>
      client(s).api.sequences[":id"].report.$get({ param: { id }, query });
    const bad = await errorOf(await report(w.s, w.sequenceId, { from: "2026-02-30" }));
    expect(bad).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(bad)[0]!.field).toBe("from");
    expect((await errorOf(await report(w.s, w.sequenceId, { from: "2026-06-05", to: "2026-06-01" }))).status).toBe(422);
    expect((await report(w.s, SEQ1)).status).toBe(404);
    const rep2 = await login("rep2@demo.test");
    expect((await report(rep2, SEQ2)).status).toBe(404);
    expect((await report(rep2, SEQ1)).status).toBe(200);
  });

  it("on the seeded workspace, matches counts taken straight from D1", async () => {
    const admin = await login("admin@demo.test");
    const r = await reportOf(admin, SEQ1);
    expect(r.totals.sent).toBeGreaterThan(0);
    expect(r.totals.sent).toBe(
      await one("SELECT count(*) AS n FROM messages WHERE sequence_id = ? AND status IN ('sent', 'bounced')", SEQ1),
    );
    expect(r.totals.replied).toBe(await one("SELECT count(*) AS n FROM messages WHERE sequence_id = ? AND reply_kind = 'reply'", SEQ1));
    expect(r.totals.bounced).toBe(await one("SELECT count(*) AS n FROM messages WHERE sequence_id = ? AND status = 'bounced'", SEQ1));
    expect(r.totals.contacts).toBe(await one("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ?", SEQ1));
  });
});

describe("A/B winners", () => {
  it("the automatic winner turns the losing variant off once significant and records the switch", async () => {
    const { teamId, userId } = await makeTeam("AB");
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [
        {
          variants: [
            { subject: "A", body: "a" },
            { subject: "B", body: "b" },
          ],
        },
      ],
      null,
      false,
    );
    const [a, b] = (
      await env.DB.prepare("SELECT id FROM step_variants WHERE step_id = ? ORDER BY label").bind(stepIds[0]).all<{ id: string }>()
    ).results.map((r) => r.id);
    const mb = await makeMailbox(teamId, userId);
    const contacts = await makeContacts(teamId, 400);
    const stmts = contacts.map((c, i) =>
      env.DB.prepare(
        "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, variant_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, reply_kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'x@t', 's', 'b', ?, 'sent', 1, ?, 1)",
      )
        // A: 4 replies in 200; B: 40 in 200
        .bind(
          newId(),
          teamId,
          newId(),
          sequenceId,
          stepIds[0],
          i % 2 ? b : a,
          mb,
          c,
          `<${newId()}@t>`,
          (i % 2 ? i % 10 === 1 : i % 100 === 0) ? "reply" : null,
        ),
    );
    await env.DB.batch(stmts);
    // off: nothing changes on the cron
    await applyAutoWinners(db(env.DB));
    expect(await one("SELECT count(*) AS n FROM step_variants WHERE step_id = ? AND enabled = 1", stepIds[0])).toBe(2);
    const on = await ok(
      client(s).api.sequences[":id"]["ab-tests"]["auto-winner"].$put({ param: { id: sequenceId }, json: { enabled: true } }),
    );
    expect(on).toEqual({ auto_winner: true, switched_steps: [stepIds[0]] });
    const rows = (
      await env.DB.prepare("SELECT id, enabled FROM step_variants WHERE step_id = ? ORDER BY label")
        .bind(stepIds[0])
        .all<{ id: string; enabled: number }>()
    ).results;
    expect(rows).toEqual([
      { id: a, enabled: 0 },
      { id: b, enabled: 1 },
    ]);
    const audit = await env.DB.prepare("SELECT action, details FROM audit_log WHERE team_id = ? AND target_id = ?")
      .bind(teamId, stepIds[0])
      .first<{ action: string; details: string }>();
    expect(audit!.action).toBe("ab_test.winner_automatic");
    expect(JSON.parse(audit!.details)).toMatchObject({ variant_id: b, sequence_id: sequenceId });
    // New contacts get the winner: the engine's send context offers only B, whatever the enrollment.
    const sc = await loadSendContext(db(env.DB), teamId, [{ contactId: contacts[0]!, stepId: stepIds[0]!, sequenceId }]);
    for (const e of Array.from({ length: 20 }, () => newId())) expect(pickVariant(sc.variants.get(stepIds[0]!)!, e)!.id).toBe(b);
    const report = await reportOf(s, sequenceId);
    expect(report.ab_tests[0]).toMatchObject({ winner_id: b, significant: true, leader_id: b });
    expect(report.auto_winner).toBe(true);
  });

  it("a viewer can't turn the automatic winner on; an unknown variant is 404", async () => {
    const rep2 = client(await login("rep2@demo.test")).api;
    const param = { id: SEQ1 };
    expect((await rep2.sequences[":id"]["ab-tests"]["auto-winner"].$put({ param, json: { enabled: true } })).status).toBe(403);
    const admin = await login("admin@demo.test");
    const winner = client(admin).api.sequences[":id"]["ab-tests"][":step_id"].winner;
    expect((await winner.$post({ param: { ...param, step_id: seedId(0x0b, 1) }, json: { variant_id: "nope" } })).status).toBe(404);
    // A raw request on purpose: the body is malformed (a string where the schema wants a boolean).
    expect((await as(admin, "PUT", `/api/sequences/${SEQ1}/ab-tests/auto-winner`, { enabled: "yes" })).status).toBe(422);
  });
});

describe("team report, home dashboard and exports", () => {
  it("the team report adds up per user and per sequence as the rows say, within what the caller may see", async () => {
    const w = await world();
    const { report: r } = await ok(client(w.s).api.reports.team.$get({ query: { from: "2026-06-01", to: "2026-06-30" } }));
    const seq = r.sequences.find((x) => x.sequence_id === w.sequenceId)!;
    expect(seq).toMatchObject({ added: 40, sent: 40, bounced: 4, replies: 8 });
    expect(seq.bounce_rate).toBeCloseTo(0.1, 10);
    const u = r.users.find((x) => x.user_id === w.userId);
    expect(u).toMatchObject({ added: 20, sent: 40, replies: 8 });
    // rep2 can't see Webinar follow-up: it isn't in rep2's team report
    const rep2 = await login("rep2@demo.test");
    const mine = (await ok(client(rep2).api.reports.team.$get({ query: {} }))).report;
    expect(mine.sequences.map((x) => x.sequence_id)).not.toContain(SEQ2);
    expect((await errorOf(await client(w.s).api.reports.team.$get({ query: { from: "2026-06-30", to: "2026-06-01" } }))).status).toBe(422);
  });

  it("the team report counts a positive reply once per user, however many of their sequences the contact replied in", async () => {
    const w = await world();
    await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Interested', 'succeeded', 5)")
      .bind(`${w.teamId}-won`, w.teamId)
      .run();
    // Contact 1 replied in the first sequence (from mailbox 2) and now in a second one of the same user.
    const contact = w.contacts[1]!;
    await env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(`${w.teamId}-won`, contact).run();
    const other = await makeSequence(w.teamId, w.userId, [{ wait: 0 }], null, false);
    const at = w.base + DAY;
    await env.DB.prepare(
      "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, replied_at, reply_kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x@example.test', 's', 'b', ?, 'sent', ?, ?, 'reply', ?)",
    )
      .bind(
        newId(),
        w.teamId,
        newId(),
        other.sequenceId,
        other.stepIds[0],
        w.mb[1],
        contact,
        `<sf.${newId()}@sender.test>`,
        at,
        at + 60_000,
        at,
      )
      .run();
    const { report: r } = await ok(client(w.s).api.reports.team.$get({ query: { from: "2026-06-01", to: "2026-06-30" } }));
    expect(r.users.find((x) => x.user_id === w.userId)!.positive_replies).toBe(1);
    for (const id of [w.sequenceId, other.sequenceId]) expect(r.sequences.find((x) => x.sequence_id === id)!.positive_replies).toBe(1);
  });

  it("the home dashboard shows credits, tasks due, recent replies and sequences bouncing too much", async () => {
    const admin = await login("admin@demo.test");
    const { home } = await ok(client(admin).api.reports.home.$get({ query: {} }));
    expect(home.credits).toBe(await one("SELECT credit_balance AS n FROM teams WHERE id = ?", DEMO.team));
    const t = Date.now();
    const sod = Math.floor(t / DAY) * DAY;
    expect(home.tasks.overdue).toBe(
      await one(
        "SELECT count(*) AS n FROM tasks WHERE team_id = ? AND assignee_id = ? AND status = 'open' AND due_at < ?",
        DEMO.team,
        DEMO.admin,
        sod,
      ),
    );
    expect(home.recent_replies.length).toBeGreaterThan(0);
    expect(home.high_bounce_sequences.map((s) => s.sequence_id)).toContain(seedId(0x0a, 3));
    for (const s of home.high_bounce_sequences) expect(s.bounce_rate).toBeGreaterThan(0.02);
  });

  it("exports are CSV and formula-safe", async () => {
    const w = await world();
    await env.DB.prepare("UPDATE contacts SET first_name = '=HYPERLINK(\"http://evil\")' WHERE id = ?").bind(w.contacts[0]).run();
    const api = client(w.s).api;
    const param = { id: w.sequenceId };
    const res = await api.sequences[":id"].contacts.export.$get({ param });
    expect(res.headers.get("content-type")).toContain("text/csv");
    const text = await res.text();
    const lines = text.trim().split("\r\n");
    expect(lines.length).toBe(41);
    expect(text).toContain(`"'=HYPERLINK(""http://evil"")"`);
    const steps = await (await api.sequences[":id"].report.export.$get({ param, query: { part: "steps" } })).text();
    expect(steps.split("\r\n")[1]).toMatch(/^1,auto_email,40,40,8,4,/);
    const team = await (await api.reports.team.export.$get({ query: { by: "sequences", from: "2026-06-01", to: "2026-06-30" } })).text();
    expect(team).toContain("sequence,added,sent,replies");
    expect((await client({ apiKey: "rival-master-key" }).api.sequences[":id"].contacts.export.$get({ param: { id: SEQ1 } })).status).toBe(
      404,
    );
  });
});

describe("demo history", () => {
  it("has a past: emails per step and mailbox, replies, out-of-office, bounces, unsubscribes, tasks and both A/B tests", async () => {
    const t = DEMO.team;
    expect(await one("SELECT count(DISTINCT step_id) AS n FROM messages WHERE team_id = ?", t)).toBeGreaterThanOrEqual(6);
    expect(await one("SELECT count(DISTINCT mailbox_id) AS n FROM messages WHERE team_id = ?", t)).toBe(4);
    expect(await one("SELECT count(*) AS n FROM messages WHERE team_id = ? AND reply_kind = 'out_of_office'", t)).toBeGreaterThan(0);
    expect(await one("SELECT count(*) AS n FROM enrollments WHERE team_id = ? AND reason = 'unsubscribed'", t)).toBeGreaterThan(0);
    // each opt-out is on the email it came from, as the reports count them
    expect(await one("SELECT count(*) AS n FROM messages WHERE team_id = ? AND unsubscribed_at IS NOT NULL", t)).toBe(
      await one("SELECT count(*) AS n FROM enrollments WHERE team_id = ? AND reason = 'unsubscribed'", t),
    );
    expect(await one("SELECT count(*) AS n FROM enrollments WHERE team_id = ? AND status = 'paused'", t)).toBeGreaterThan(0);
    expect(await one("SELECT count(*) AS n FROM tasks WHERE team_id = ? AND status = 'completed'", t)).toBeGreaterThan(0);
    const span = await env.DB.prepare("SELECT min(sent_at) AS lo, max(sent_at) AS hi FROM messages WHERE team_id = ?")
      .bind(t)
      .first<{ lo: number; hi: number }>();
    expect((span!.hi - span!.lo) / DAY).toBeGreaterThan(45);
    // every bounced email's contact is bounced and suppressed
    expect(
      await one(
        "SELECT count(*) AS n FROM messages m JOIN contacts c ON c.id = m.contact_id WHERE m.team_id = ? AND m.status = 'bounced' AND (c.bounced_at IS NULL OR NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.team_id = c.team_id AND s.email = c.email))",
        t,
      ),
    ).toBe(0);
    const admin = await login("admin@demo.test");
    const r1 = await reportOf(admin, SEQ1);
    expect(r1.ab_tests[0]).toMatchObject({ significant: true, winner_id: seedId(0x0d, 2) });
    const r2 = await reportOf(admin, SEQ2);
    expect(r2.ab_tests[0]!.significant).toBe(false);
    expect(r2.ab_tests[0]!.needs_more_per_variant).toBeGreaterThan(0);
  });
});
