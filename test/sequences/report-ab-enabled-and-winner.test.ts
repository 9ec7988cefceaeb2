import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { enroll, HOUR, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";
import { as, client, env, ok } from "../helpers";

/** Emails of one variant as the MailboxDO writes them: `sent` sent, the first `replies` of them replied to. */
async function variantEmails(
  teamId: string,
  sequenceId: string,
  stepId: string,
  variantId: string,
  mailboxId: string,
  sent: number,
  replies: number,
) {
  const stmts = Array.from({ length: sent }, (_, i) =>
    env.DB.prepare(
      "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, variant_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, reply_kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'x@t', 's', 'b', ?, 'sent', 1, ?, 1)",
    ).bind(newId(), teamId, newId(), sequenceId, stepId, variantId, mailboxId, newId(), `<${newId()}@t>`, i < replies ? "reply" : null),
  );
  for (let i = 0; i < stmts.length; i += 100) await env.DB.batch(stmts.slice(i, i + 100));
}

/** A one-step sequence with variants A, B and C on step 1, and a session of its owner. */
async function abSequence(name: string) {
  const { teamId, userId } = await makeTeam(name);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [{ variants: ["A", "B", "C"].map((l) => ({ subject: `Subject ${l}`, body: `Body ${l}` })) }],
    null,
  );
  const variants = (
    await env.DB.prepare("SELECT id, label FROM step_variants WHERE step_id = ? ORDER BY label")
      .bind(stepIds[0])
      .all<{ id: string; label: string }>()
  ).results;
  const [a, b, c] = variants.map((v) => v.id) as [string, string, string];
  const mb = await makeMailbox(teamId, userId);
  return { teamId, userId, sequenceId, stepId: stepIds[0]!, a, b, c, mb, s: await sessionFor(teamId, userId) };
}

const enabledVariants = async (stepId: string) =>
  (
    await env.DB.prepare("SELECT id FROM step_variants WHERE step_id = ? AND enabled = 1 ORDER BY id").bind(stepId).all<{ id: string }>()
  ).results.map((r) => r.id);

describe("the A/B verdict the winners are picked by", () => {
  it("the automatic winner calls the test between the variants still on, though a switched-off one leads", async () => {
    const t = await abSequence("AB off leader");
    // A, switched off by hand, had the best rate (50%); of those on, C (20%) is far ahead of B (2.5%).
    await env.DB.prepare("UPDATE step_variants SET enabled = 0 WHERE id = ?").bind(t.a).run();
    await variantEmails(t.teamId, t.sequenceId, t.stepId, t.a, t.mb, 100, 50);
    await variantEmails(t.teamId, t.sequenceId, t.stepId, t.b, t.mb, 200, 5);
    await variantEmails(t.teamId, t.sequenceId, t.stepId, t.c, t.mb, 200, 40);
    const api = client(t.s).api;
    const on = await ok(api.sequences[":id"]["ab-tests"]["auto-winner"].$put({ param: { id: t.sequenceId }, json: { enabled: true } }));
    expect(on.switched_steps).toEqual([t.stepId]);
    // C is the one variant left on, and the switch names it.
    expect(await enabledVariants(t.stepId)).toEqual([t.c]);
    const audit = await env.DB.prepare("SELECT details FROM audit_log WHERE team_id = ? AND action = 'ab_test.winner_automatic'")
      .bind(t.teamId)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ variant_id: t.c });
    // The report still shows every variant, A included, with the figures the rows give.
    const { report } = await ok(api.sequences[":id"].report.$get({ param: { id: t.sequenceId }, query: {} }));
    const test = report.ab_tests[0]!;
    expect(test.winner_id).toBe(t.c);
    // The verdict names the winner, not A's lead over the others (A was switched off before).
    expect(test.verdict).toBe("Winner chosen: C.");
    expect(test.needs_more_per_variant).toBeNull();
    expect(test.variants.map((v) => [v.label, v.enabled, v.sent, v.replies])).toEqual([
      ["A", false, 100, 50],
      ["B", false, 200, 5],
      ["C", true, 200, 40],
    ]);
  });

  it("a switched-off runner-up doesn't hold back the winner among the variants on", async () => {
    const t = await abSequence("AB off runner-up");
    // B (on) leads at 20%; A, off, is close behind (19%: no verdict against it); C, on, is far behind at 2%.
    await env.DB.prepare("UPDATE step_variants SET enabled = 0 WHERE id = ?").bind(t.a).run();
    await variantEmails(t.teamId, t.sequenceId, t.stepId, t.a, t.mb, 300, 57);
    await variantEmails(t.teamId, t.sequenceId, t.stepId, t.b, t.mb, 300, 60);
    await variantEmails(t.teamId, t.sequenceId, t.stepId, t.c, t.mb, 300, 6);
    const api = client(t.s).api;
    const on = await ok(api.sequences[":id"]["ab-tests"]["auto-winner"].$put({ param: { id: t.sequenceId }, json: { enabled: true } }));
    expect(on.switched_steps).toEqual([t.stepId]);
    expect(await enabledVariants(t.stepId)).toEqual([t.b]);
  });

  it("with a winner chosen the verdict names it and asks for no more contacts", async () => {
    const t = await abSequence("AB chosen");
    // B ahead but not significant: the report asked for more contacts per variant, even after a winner was chosen.
    await variantEmails(t.teamId, t.sequenceId, t.stepId, t.a, t.mb, 40, 4);
    await variantEmails(t.teamId, t.sequenceId, t.stepId, t.b, t.mb, 40, 6);
    await variantEmails(t.teamId, t.sequenceId, t.stepId, t.c, t.mb, 40, 5);
    const api = client(t.s).api;
    const before = (await ok(api.sequences[":id"].report.$get({ param: { id: t.sequenceId }, query: {} }))).report.ab_tests[0]!;
    expect(before.needs_more_per_variant).toBeGreaterThan(0);
    const chosen = await ok(
      api.sequences[":id"]["ab-tests"][":step_id"].winner.$post({
        param: { id: t.sequenceId, step_id: t.stepId },
        json: { variant_id: t.b },
      }),
    );
    expect(chosen.ab_test).toMatchObject({ winner_id: t.b, needs_more_per_variant: null, verdict: "Winner chosen: B." });
    const after = (await ok(api.sequences[":id"].report.$get({ param: { id: t.sequenceId }, query: {} }))).report.ab_tests[0]!;
    expect(after).toMatchObject({ winner_id: t.b, needs_more_per_variant: null, verdict: "Winner chosen: B." });
    // The figures are still the rows'.
    expect(after.variants.map((v) => [v.label, v.sent, v.replies])).toEqual([
      ["A", 40, 4],
      ["B", 40, 6],
      ["C", 40, 5],
    ]);
  });
});

describe("the report's statuses of a sequence that is off", () => {
  beforeEach(() => startSimulation());

  it("counts its active runs as waiting (sequence off), as the Contacts tab shows them, not active", async () => {
    const { teamId, userId } = await makeTeam("Report off");
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 3 }], null);
    const mb = await makeMailbox(teamId, userId);
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mb]);
    await runUntil(now() + HOUR);
    const statuses = async () =>
      Object.fromEntries(
        (await ok(api.sequences[":id"].report.$get({ param: { id: sequenceId }, query: {} }))).report.statuses.map((x) => [
          x.status,
          x.contacts,
        ]),
      );
    expect(await statuses()).toMatchObject({ active: 3, held: 0 });

    expect((await as(s, "PATCH", `/api/sequences/${sequenceId}`, { active: false })).status).toBe(200);
    // Still 'active' in D1 (their timers have not fired), and the Contacts tab says they are not sent: the sequence is off.
    const d1 = await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND status = 'active'")
      .bind(sequenceId)
      .first<{ n: number }>();
    expect(d1!.n).toBe(3);
    const tab = await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: {} }));
    expect(tab.counts).toMatchObject({ active: 0, not_sent: 3, waiting_sequence_off: 3 });
    expect(tab.enrollments.map((e) => e.reason)).toEqual(["sequence_inactive", "sequence_inactive", "sequence_inactive"]);
    // The report counts them as waiting because the sequence is off, the word the Contacts tab and the Sequences list use.
    expect(await statuses()).toMatchObject({ active: 0, held: 0, waiting_sequence_off: 3 });

    expect((await as(s, "PATCH", `/api/sequences/${sequenceId}`, { active: true })).status).toBe(200);
    expect(await statuses()).toMatchObject({ active: 3, held: 0, waiting_sequence_off: 0 });
  });
});
