/**
 * The statistics behind the A/B test results: pure functions, checked against textbook examples in
 * test/sequences/reports.test.ts.
 */

/** Standard normal cumulative distribution (Abramowitz & Stegun 7.1.26 through erf; |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** Wilson score interval for a proportion x/n (95% by default): sane at 0 and at small n, unlike the Wald interval. */
export function wilson(x: number, n: number, z = 1.959963984540054): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const p = x / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Two-proportion z-test (pooled), two-sided: z and its p-value; null when there is nothing to compare. */
export function twoProportionTest(x1: number, n1: number, x2: number, n2: number): { z: number; p: number } | null {
  if (n1 <= 0 || n2 <= 0) return null;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return null;
  const z = (x1 / n1 - x2 / n2) / se;
  return { z, p: 2 * (1 - normalCdf(Math.abs(z))) };
}

/**
 * Contacts needed per variant to tell rates p1 and p2 apart (two-sided α = 0.05, power 0.8), by the
 * usual normal-approximation formula (Fleiss). Infinity when the rates are equal.
 */
export function sampleSizePerVariant(p1: number, p2: number, zAlpha = 1.959963984540054, zBeta = 0.8416212335729143): number {
  const d = Math.abs(p1 - p2);
  if (d === 0) return Infinity;
  const pBar = (p1 + p2) / 2;
  const n = (zAlpha * Math.sqrt(2 * pBar * (1 - pBar)) + zBeta * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (d * d);
  return Math.ceil(n);
}

export const SIGNIFICANCE = 0.05;

/** "p < 0.001" rather than "p = 0.000". */
export const formatP = (p: number) => (p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`);
/** Below this many sends per variant no verdict is given, however small the p-value. */
export const MIN_SENT_PER_VARIANT = 30;

export interface VariantFigures {
  id: string;
  label: string;
  enabled: boolean;
  sent: number;
  replies: number;
}

export interface AbVerdict {
  variants: (VariantFigures & { reply_rate: number; ci_low: number; ci_high: number })[];
  leader_id: string | null;
  p_value: number | null;
  significant: boolean;
  /** More contacts per variant needed to tell the leader from the runner-up; null when significant or unknowable. */
  needs_more_per_variant: number | null;
  verdict: string;
}

/** The verdict on one step's variants: the leader against the runner-up. */
export function abVerdict(variants: VariantFigures[]): AbVerdict {
  const rows = variants.map((v) => {
    const ci = wilson(v.replies, v.sent);
    return { ...v, reply_rate: v.sent ? v.replies / v.sent : 0, ci_low: ci.low, ci_high: ci.high };
  });
  const ranked = [...rows].sort((a, b) => b.reply_rate - a.reply_rate || b.sent - a.sent);
  const [a, b] = ranked;
  if (!a || !b)
    return {
      variants: rows,
      leader_id: a?.id ?? null,
      p_value: null,
      significant: false,
      needs_more_per_variant: null,
      verdict: "Add a second variant to run an A/B test.",
    };
  const test = twoProportionTest(a.replies, a.sent, b.replies, b.sent);
  const enough = Math.min(a.sent, b.sent) >= MIN_SENT_PER_VARIANT;
  const significant = !!test && enough && test.p < SIGNIFICANCE && a.reply_rate > b.reply_rate;
  let needs: number | null = null;
  let verdict: string;
  if (significant) {
    verdict = `${a.label} wins: ${(a.reply_rate * 100).toFixed(1)}% against ${(b.reply_rate * 100).toFixed(1)}% (${formatP(test!.p)}).`;
  } else if (a.reply_rate === b.reply_rate) {
    verdict = a.sent + b.sent === 0 ? "No emails sent yet." : "No difference between the variants yet.";
  } else {
    const n = sampleSizePerVariant(a.reply_rate, b.reply_rate);
    needs = Math.max(MIN_SENT_PER_VARIANT - Math.min(a.sent, b.sent), n - Math.min(a.sent, b.sent), 1);
    verdict = `Not significant yet: needs about ${needs} more contacts per variant to tell.`;
  }
  return { variants: rows, leader_id: a.sent ? a.id : null, p_value: test?.p ?? null, significant, needs_more_per_variant: needs, verdict };
}
