import { and, asc, eq, sql } from "drizzle-orm";
import { stepOrderBy } from "../../../durable-objects/sequence-config";
import type { Db } from "../../db/client";
import { auditLog, sequences, stepVariants } from "../../db/schema";
import type { Caller } from "../../env";
import { now } from "../../lib/clock";
import { notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { sequenceFor } from "../access";
import { auditEntry } from "../audit";
import { abVerdict, type AbVerdict } from "./stats";

/**
 * A/B winners. Choosing a winner turns the other variants of the step off in D1: the engine's
 * variant choice (pickVariant in durable-objects/compose.ts) only spreads contacts over enabled variants,
 * so every email composed from then on uses the winner. The switch is recorded in the audit log and
 * in the sequence's settings (`ab_winners`: step id → variant id).
 */

export interface AbStep {
  step_id: string;
  position: number;
  winner_id: string | null;
  verdict: AbVerdict;
}

/** A variant's emails as report_rollup counts them: sent (bounced included), bounced, replies. */
export interface VariantCounts {
  sent: number;
  bounced: number;
  replied: number;
}

/**
 * The A/B tests among a sequence's steps (in their order): each email step with two or more variants, its
 * verdict on replies over delivered emails (sent less bounced, like every reply rate of the report). The one
 * rule the report, the winner picked by hand and the automatic winner all read, whatever rows they counted.
 */
export function abStepTests(
  steps: { id: string; position: number; type: string }[],
  variants: { id: string; step_id: string; label: string; enabled: number | boolean }[],
  counts: Map<string, VariantCounts>,
  winners: Record<string, string>,
  noEmails?: string,
): AbStep[] {
  return steps
    .filter((s) => s.type === "auto_email" || s.type === "manual_email")
    .map((s) => ({ s, vs: variants.filter((v) => v.step_id === s.id) }))
    .filter(({ vs }) => vs.length >= 2)
    .map(({ s, vs }) => {
      const winnerId = winners[s.id] ?? null;
      return {
        step_id: s.id,
        position: s.position,
        winner_id: winnerId,
        verdict: abVerdict(
          vs.map((v) => {
            const c = counts.get(v.id);
            return { id: v.id, label: v.label, enabled: !!v.enabled, sent: (c?.sent ?? 0) - (c?.bounced ?? 0), replies: c?.replied ?? 0 };
          }),
          noEmails,
          winnerId,
        ),
      };
    });
}

/**
 * The A/B tests of a sequence, from report_rollup as the sequence report counts them (a few rows per day and
 * variant, along its primary key), not from every email again.
 */
export async function abTests(d: Db, seq: { id: string; teamId: string; settings: Record<string, unknown> }): Promise<AbStep[]> {
  const [steps, variants, counts] = await Promise.all([
    d.all<{ id: string; position: number; type: string }>(
      sql`SELECT id, position, type FROM steps s WHERE sequence_id = ${seq.id} AND team_id = ${seq.teamId} ORDER BY ${sql.raw(stepOrderBy("s"))}`,
    ),
    d.all<{ id: string; step_id: string; label: string; enabled: number }>(
      sql`SELECT v.id, v.step_id, v.label, v.enabled FROM step_variants v JOIN steps s ON s.id = v.step_id
        WHERE s.sequence_id = ${seq.id} AND v.team_id = ${seq.teamId} ORDER BY v.label, v.id`,
    ),
    d.all<VariantCounts & { variant_id: string }>(
      sql`SELECT variant_id, sum(sent) AS sent, sum(bounced) AS bounced, sum(replied) AS replied FROM report_rollup
        WHERE sequence_id = ${seq.id} AND variant_id <> '' GROUP BY 1`,
    ),
  ]);
  const winners = (seq.settings.ab_winners ?? {}) as Record<string, string>;
  return abStepTests(steps, variants, new Map(counts.map((c) => [c.variant_id, c])), winners);
}

export interface WinnerChoice {
  teamId: string;
  sequenceId: string;
  stepId: string;
  winnerId: string;
  userId: string | null;
  apiKeyId: string | null;
  automatic: boolean;
  details: Record<string, unknown>;
  /** The audit entry's id and time (the demo seed writes a past choice with fixed ones). */
  auditId?: string;
  at?: number;
}

/**
 * The statements (for one batch) that make `winnerId` the only enabled variant of its step, remember
 * it in the sequence's settings and write the audit entry.
 */
export function winnerStatements(d: Db, o: WinnerChoice) {
  const t = o.at ?? now();
  return [
    d
      .update(stepVariants)
      .set({ enabled: sql`(${stepVariants.id} = ${o.winnerId})` })
      .where(and(eq(stepVariants.stepId, o.stepId), eq(stepVariants.teamId, o.teamId))),
    d
      .update(sequences)
      .set({
        settings: sql`json_set(${sequences.settings}, '$.ab_winners', json(json_patch(coalesce(json_extract(${sequences.settings}, '$.ab_winners'), '{}'), json_object(${o.stepId}, ${o.winnerId}))))`,
        updatedAt: t,
      })
      .where(and(eq(sequences.id, o.sequenceId), eq(sequences.teamId, o.teamId))),
    d
      .insert(auditLog)
      .values({
        id: o.auditId ?? newId(),
        teamId: o.teamId,
        userId: o.userId,
        apiKeyId: o.apiKeyId,
        action: o.automatic ? "ab_test.winner_automatic" : "ab_test.winner_chosen",
        targetType: "step",
        targetId: o.stepId,
        details: { sequence_id: o.sequenceId, variant_id: o.winnerId, ...o.details },
        createdAt: t,
      })
      .onConflictDoNothing(),
  ] as const;
}

/** Make `winnerId` the only enabled variant of its step, remember it, and write the audit entry: one batch. */
export async function chooseWinner(d: Db, o: WinnerChoice) {
  await d.batch(winnerStatements(d, o));
}

/** The statement that turns a sequence's automatic winner on or off. */
export const autoWinnerStatement = (d: Db, seq: { id: string; teamId: string }, enabled: boolean, at = now()) =>
  d
    .update(sequences)
    .set({ settings: sql`json_set(${sequences.settings}, '$.ab_auto_winner', json(${enabled ? "true" : "false"}))`, updatedAt: at })
    .where(and(eq(sequences.id, seq.id), eq(sequences.teamId, seq.teamId)));

/** A caller picks a step's winner by hand (404 when the step has no A/B test or the variant isn't one of it). */
export async function chooseWinnerBy(d: Db, caller: Caller, sequenceId: string, stepId: string, variantId: string) {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.edit");
  const test = (await abTests(d, seq)).find((t) => t.step_id === stepId);
  if (!test) throw notFound("A/B test");
  if (!test.verdict.variants.some((v) => v.id === variantId)) throw notFound("Variant");
  await chooseWinner(d, {
    teamId: seq.teamId,
    sequenceId: seq.id,
    stepId,
    winnerId: variantId,
    userId: caller.userId,
    apiKeyId: caller.apiKeyId ?? null,
    automatic: false,
    details: { p_value: test.verdict.p_value, significant: test.verdict.significant },
  });
  // Choosing the winner turned the other variants off and named it: the same figures, under those.
  const verdict = abVerdict(
    test.verdict.variants.map(({ id, label, sent, replies }) => ({ id, label, enabled: id === variantId, sent, replies })),
    undefined,
    variantId,
  );
  return { step_id: stepId, position: test.position, winner_id: variantId, ...verdict };
}

/** Turn the automatic winner on or off (audited); turning it on applies a test that is already significant now. */
export async function setAutoWinner(d: Db, caller: Caller, sequenceId: string, enabled: boolean): Promise<string[]> {
  const { seq } = await sequenceFor(d, caller, sequenceId, "sequence.edit");
  await d.batch([
    autoWinnerStatement(d, seq, enabled),
    d.insert(auditLog).values(auditEntry(caller, "ab_test.auto_winner", "sequence", seq.id, { enabled })),
  ]);
  // A test that is already significant switches now, not on the next cron tick.
  return enabled ? applyAutoWinnersFor(d, seq) : [];
}

/**
 * A test still running on a sequence whose automatic winner is on, significant at the automatic line
 * (stats.ts AUTO_SIGNIFICANCE, stricter than the report's 5% because it looks every minute): apply it.
 * The verdict is called on the variants still on: one switched off can't win (the engine no longer sends
 * it), and leading or second, it hid the test between those that can. Returns the steps switched.
 */
export async function applyAutoWinnersFor(
  d: Db,
  seq: { id: string; teamId: string; settings: Record<string, unknown> },
): Promise<string[]> {
  const switched: string[] = [];
  for (const { step_id, verdict: all } of await abTests(d, seq)) {
    const on = all.variants.filter((v) => v.enabled);
    if (on.length < 2) continue;
    const verdict = abVerdict(on);
    if (!verdict.auto_pick || !verdict.leader_id) continue;
    await chooseWinner(d, {
      teamId: seq.teamId,
      sequenceId: seq.id,
      stepId: step_id,
      winnerId: verdict.leader_id,
      userId: null,
      apiKeyId: null,
      automatic: true,
      details: {
        p_value: verdict.p_value,
        variants: all.variants.map((v) => ({ id: v.id, label: v.label, enabled: v.enabled, sent: v.sent, replies: v.replies })),
      },
    });
    switched.push(step_id);
  }
  return switched;
}

/**
 * Cron: the sequences with the automatic winner on and a test still undecided (a step with two or
 * more variants on), `limit` per tick, in id order from a page that moves on each minute: a team
 * with more than `limit` of them has each one checked every ceil(n / limit) minutes, not only the
 * first `limit` forever. The scan is over sequences only.
 */
export async function applyAutoWinners(d: Db, limit = 200, at = now()): Promise<number> {
  const due = and(
    sql`${sequences.archivedAt} IS NULL`,
    sql`json_extract(${sequences.settings}, '$.ab_auto_winner') = 1`,
    sql`EXISTS (SELECT 1 FROM steps st JOIN step_variants v ON v.step_id = st.id AND v.team_id = st.team_id
          WHERE st.sequence_id = ${sequences.id} AND st.team_id = ${sequences.teamId} AND st.type IN ('auto_email', 'manual_email') AND v.enabled = 1
          GROUP BY st.id HAVING count(*) >= 2)`,
  );
  const [{ n } = { n: 0 }] = await d
    .select({ n: sql<number>`count(*)` })
    .from(sequences)
    .where(due);
  if (!n) return 0;
  const page = Math.floor(at / 60_000) % Math.ceil(n / limit);
  const batch = await d
    .select({ id: sequences.id, teamId: sequences.teamId, settings: sequences.settings })
    .from(sequences)
    .where(due)
    .orderBy(asc(sequences.id))
    .limit(limit)
    .offset(page * limit);
  let switched = 0;
  for (const s of batch) switched += (await applyAutoWinnersFor(d, s)).length;
  return switched;
}
