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

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error about 1e-15). */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

const lnChoose = (n: number, k: number) => lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1);

/**
 * Fisher's exact test on x1/n1 against x2/n2, two-sided (the tables at most as likely as the one seen,
 * under fixed margins); exact where the z-test's normal approximation is not (few replies). Null when
 * there is nothing to compare.
 */
export function fisherExact(x1: number, n1: number, x2: number, n2: number): number | null {
  if (n1 <= 0 || n2 <= 0) return null;
  const r = x1 + x2;
  const total = n1 + n2;
  const lnP = (k: number) => lnChoose(n1, k) + lnChoose(n2, r - k) - lnChoose(total, r);
  const seen = lnP(x1);
  let p = 0;
  for (let k = Math.max(0, r - n2); k <= Math.min(n1, r); k++) {
    const l = lnP(k);
    // A relative tolerance, so tables exactly as likely as the one seen count whatever the rounding.
    if (l <= seen + 1e-7) p += Math.exp(l);
  }
  return Math.min(1, p);
}

/**
 * The p-value a verdict uses: Fisher's exact test when an expected cell of the 2×2 table is under 5
 * (the usual rule for when the z-test's approximation fails), the pooled z-test otherwise.
 */
export function proportionsP(x1: number, n1: number, x2: number, n2: number): number | null {
  if (n1 <= 0 || n2 <= 0) return null;
  const r = x1 + x2;
  const total = n1 + n2;
  const expected = (Math.min(n1, n2) * Math.min(r, total - r)) / total;
  if (expected < 5) return fisherExact(x1, n1, x2, n2);
  return twoProportionTest(x1, n1, x2, n2)?.p ?? null;
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
/**
 * The automatic winner looks at a running test every minute, so it must not stop at the first look
 * that dips under 5% (repeated looks at noise find "winners" far more often than 5% of the time).
 * It switches only at p < 0.001, the Haybittle–Peto boundary for looks before the end: looking often
 * at that line keeps the overall false-winner rate close to the nominal one.
 */
export const AUTO_SIGNIFICANCE = 0.001;
/** A verdict needs at least this many replies on the leading variant: a handful of replies is noise whatever the test says. */
export const MIN_LEADER_REPLIES = 10;

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
  /** Significant at the automatic winner's stricter line (AUTO_SIGNIFICANCE): what it would switch to now. */
  auto_pick: boolean;
  /** More contacts per variant needed to tell the leader from the runner-up; null when significant or unknowable. */
  needs_more_per_variant: number | null;
  verdict: string;
}

/**
 * The verdict on one step's variants: the leader against the runner-up. `noEmails` is what to say when no
 * variant has an email: the report's filters can leave none of a test that has sent plenty. With `winnerId`
 * (a winner already chosen, by hand or automatically) the test is over: the verdict names the winner (then the
 * result, when there was one) and asks for no more contacts.
 */
export function abVerdict(variants: VariantFigures[], noEmails = "No emails sent yet.", winnerId: string | null = null): AbVerdict {
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
      auto_pick: false,
      needs_more_per_variant: null,
      verdict: "Add a second variant to run an A/B test.",
    };
  const p = proportionsP(a.replies, a.sent, b.replies, b.sent);
  const enough = Math.min(a.sent, b.sent) >= MIN_SENT_PER_VARIANT && a.replies >= MIN_LEADER_REPLIES;
  const significant = p !== null && enough && p < SIGNIFICANCE && a.reply_rate > b.reply_rate;
  const autoPick = significant && p! < AUTO_SIGNIFICANCE;
  let needs: number | null = null;
  let verdict: string;
  if (significant) {
    verdict = `${a.label} wins: ${(a.reply_rate * 100).toFixed(1)}% against ${(b.reply_rate * 100).toFixed(1)}% (${formatP(p!)}).`;
  } else if (a.reply_rate === b.reply_rate) {
    verdict = a.sent + b.sent === 0 ? noEmails : "No difference between the variants yet.";
  } else {
    const n = sampleSizePerVariant(a.reply_rate, b.reply_rate);
    needs = Math.max(MIN_SENT_PER_VARIANT - Math.min(a.sent, b.sent), n - Math.min(a.sent, b.sent), 1);
    verdict =
      p !== null && p < SIGNIFICANCE && a.replies < MIN_LEADER_REPLIES
        ? `Too few replies to tell yet: a verdict needs at least ${MIN_LEADER_REPLIES} on the leading variant (about ${needs} more contacts per variant).`
        : `Not significant yet: needs about ${needs} more contacts per variant to tell.`;
  }
  const winner = winnerId ? rows.find((v) => v.id === winnerId) : undefined;
  if (winner) {
    // The figures' result stays when it is the winner's (a variant switched off earlier may lead the figures);
    // "needs more contacts" no longer applies.
    needs = null;
    verdict = significant && a.id === winner.id ? `Winner chosen: ${winner.label}. ${verdict}` : `Winner chosen: ${winner.label}.`;
  }
  return {
    variants: rows,
    leader_id: a.sent ? a.id : null,
    p_value: p,
    significant,
    auto_pick: autoPick,
    needs_more_per_variant: needs,
    verdict,
  };
}
