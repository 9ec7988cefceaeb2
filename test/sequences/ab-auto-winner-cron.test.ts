import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { applyAutoWinners } from "../../worker/services/reports/ab";
import { db } from "../../worker/db/client";
import { makeMailbox, makeTeam } from "../fixtures";
import { env } from "../helpers";

/** `n` sequences with the automatic winner on and a running A/B test on step 1 (variants A and B on). */
async function autoWinnerSequences(teamId: string, userId: string, n: number) {
  const out: { id: string; stepId: string; a: string; b: string }[] = [];
  const stmts: D1PreparedStatement[] = [];
  for (let i = 0; i < n; i++) {
    const s = { id: newId(), stepId: newId(), a: newId(), b: newId() };
    out.push(s);
    stmts.push(
      env.DB.prepare(
        "INSERT INTO sequences (id, team_id, owner_id, name, active, settings, created_at, updated_at) VALUES (?, ?, ?, ?, 0, '{\"ab_auto_winner\":true}', 1, ?)",
      ).bind(s.id, teamId, userId, `Seq ${i}`, i),
      env.DB.prepare(
        "INSERT INTO steps (id, team_id, sequence_id, position, type, wait_amount, wait_unit, business_days, enabled, thread_reply, note, created_at) VALUES (?, ?, ?, 1, 'auto_email', 0, 'days', 0, 1, 0, '', 1)",
      ).bind(s.stepId, teamId, s.id),
      ...[s.a, s.b].map((v, k) =>
        env.DB.prepare(
          "INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at) VALUES (?, ?, ?, ?, 's', 'b', 1, 1)",
        ).bind(v, teamId, s.stepId, k ? "B" : "A"),
      ),
    );
  }
  for (let i = 0; i < stmts.length; i += 400) await env.DB.batch(stmts.slice(i, i + 400));
  return out;
}

describe("the automatic A/B winner's cron", () => {
  it("checks every sequence with a running test in turn: the 201st, last updated, is decided within two ticks", async () => {
    const { teamId, userId } = await makeTeam("Auto winners");
    const seqs = await autoWinnerSequences(teamId, userId, 201);
    // The one updated last (the old cron took the 200 least recently updated, every minute) has a clear winner: B.
    const target = seqs[200]!;
    const mb = await makeMailbox(teamId, userId);
    const stmts = Array.from({ length: 400 }, (_, i) =>
      env.DB.prepare(
        "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, variant_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, reply_kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'x@t', 's', 'b', ?, 'sent', 1, ?, 1)",
      ).bind(
        newId(),
        teamId,
        newId(),
        target.id,
        target.stepId,
        i % 2 ? target.b : target.a,
        mb,
        newId(),
        `<${newId()}@t>`,
        (i % 2 ? i % 10 === 1 : i % 100 === 0) ? "reply" : null,
      ),
    );
    for (let i = 0; i < stmts.length; i += 100) await env.DB.batch(stmts.slice(i, i + 100));
    const minute = 60_000 * 1_000_000;
    let switched = 0;
    for (const at of [minute, minute + 60_000]) switched += await applyAutoWinners(db(env.DB), 200, at);
    expect(switched).toBe(1);
    const on = (
      await env.DB.prepare("SELECT id FROM step_variants WHERE step_id = ? AND enabled = 1").bind(target.stepId).all<{ id: string }>()
    ).results.map((r) => r.id);
    expect(on).toEqual([target.b]);
  });
});
