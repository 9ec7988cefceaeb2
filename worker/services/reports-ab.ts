import type { Env } from "../env";
import { now } from "../lib/clock";
import { newId } from "../lib/ids";
import { abVerdict, type AbVerdict } from "./reports-stats";

/**
 * A/B winners. Choosing a winner turns the other variants of the step off in D1: the engine's
 * variant choice (pickVariant in durable-objects/compose.ts) only spreads contacts over enabled variants,
 * so every email composed from then on uses the winner. The switch is recorded in the audit log and
 * in the sequence's settings (`ab_winners`: step id → variant id).
 */

export interface AbStep {
  step_id: string;
  position: number;
  verdict: AbVerdict;
}

/** The A/B verdict of every email step of a sequence with two or more variants (one grouped query). */
export async function abTests(d1: D1Database, sequenceId: string, teamId: string): Promise<AbStep[]> {
  const [variants, counts] = await Promise.all([
    d1
      .prepare(
        `SELECT v.id, v.step_id, s.position, v.label, v.enabled FROM step_variants v JOIN steps s ON s.id = v.step_id
        WHERE s.sequence_id = ? AND v.team_id = ? AND s.type IN ('auto_email', 'manual_email') ORDER BY s.position, v.label, v.id`,
      )
      .bind(sequenceId, teamId)
      .all<{ id: string; step_id: string; position: number; label: string; enabled: number }>(),
    d1
      .prepare(
        `SELECT m.variant_id, count(*) - sum(m.status = 'bounced') AS delivered, sum(m.reply_kind = 'reply') AS replies
         FROM messages m WHERE m.sequence_id = ? AND m.status IN ('sent', 'bounced') AND m.sent_at IS NOT NULL AND m.variant_id IS NOT NULL GROUP BY 1`,
      )
      .bind(sequenceId)
      .all<{ variant_id: string; delivered: number; replies: number }>(),
  ]);
  const byVariant = new Map(counts.results.map((r) => [r.variant_id, r]));
  const bySteps = new Map<string, typeof variants.results>();
  for (const v of variants.results) bySteps.set(v.step_id, [...(bySteps.get(v.step_id) ?? []), v]);
  return [...bySteps.entries()]
    .filter(([, vs]) => vs.length >= 2)
    .map(([stepId, vs]) => ({
      step_id: stepId,
      position: vs[0]!.position,
      verdict: abVerdict(
        vs.map((v) => ({
          id: v.id,
          label: v.label,
          enabled: !!v.enabled,
          sent: byVariant.get(v.id)?.delivered ?? 0,
          replies: byVariant.get(v.id)?.replies ?? 0,
        })),
      ),
    }));
}

/** Make `winnerId` the only enabled variant of its step, remember it, and write the audit entry: one batch. */
export async function chooseWinner(
  d1: D1Database,
  o: {
    teamId: string;
    sequenceId: string;
    stepId: string;
    winnerId: string;
    userId: string | null;
    apiKeyId: string | null;
    automatic: boolean;
    details: Record<string, unknown>;
  },
) {
  const t = now();
  await d1.batch([
    d1.prepare("UPDATE step_variants SET enabled = (id = ?) WHERE step_id = ? AND team_id = ?").bind(o.winnerId, o.stepId, o.teamId),
    d1
      .prepare(
        "UPDATE sequences SET settings = json_set(settings, '$.ab_winners', json(json_patch(coalesce(json_extract(settings, '$.ab_winners'), '{}'), json_object(?, ?)))), updated_at = ? WHERE id = ? AND team_id = ?",
      )
      .bind(o.stepId, o.winnerId, t, o.sequenceId, o.teamId),
    d1
      .prepare(
        "INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at) VALUES (?, ?, ?, ?, ?, 'step', ?, ?, ?)",
      )
      .bind(
        newId(),
        o.teamId,
        o.userId,
        o.apiKeyId,
        o.automatic ? "ab_test.winner_automatic" : "ab_test.winner_chosen",
        o.stepId,
        JSON.stringify({ sequence_id: o.sequenceId, variant_id: o.winnerId, ...o.details }),
        t,
      ),
  ]);
}

/** A significant test still running on a sequence whose automatic winner is on: apply it. Returns the steps switched. */
export async function applyAutoWinnersFor(d1: D1Database, sequenceId: string, teamId: string): Promise<string[]> {
  const switched: string[] = [];
  for (const { step_id, verdict } of await abTests(d1, sequenceId, teamId)) {
    const enabled = verdict.variants.filter((v) => v.enabled);
    if (!verdict.significant || !verdict.leader_id || enabled.length < 2) continue;
    if (!enabled.some((v) => v.id === verdict.leader_id)) continue;
    await chooseWinner(d1, {
      teamId,
      sequenceId,
      stepId: step_id,
      winnerId: verdict.leader_id,
      userId: null,
      apiKeyId: null,
      automatic: true,
      details: {
        p_value: verdict.p_value,
        variants: verdict.variants.map((v) => ({ id: v.id, label: v.label, sent: v.sent, replies: v.replies })),
      },
    });
    switched.push(step_id);
  }
  return switched;
}

/** Cron: every sequence with the automatic winner on (bounded per tick; the index-free scan is over sequences only). */
export async function applyAutoWinners(env: Pick<Env, "DB">, limit = 200): Promise<number> {
  const { results } = await env.DB.prepare(
    "SELECT id, team_id FROM sequences WHERE archived_at IS NULL AND json_extract(settings, '$.ab_auto_winner') = 1 ORDER BY updated_at LIMIT ?",
  )
    .bind(limit)
    .all<{ id: string; team_id: string }>();
  let n = 0;
  for (const s of results) n += (await applyAutoWinnersFor(env.DB, s.id, s.team_id)).length;
  return n;
}
