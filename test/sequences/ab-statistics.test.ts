import { describe, expect, it } from "vitest";
import { abVerdict, AUTO_SIGNIFICANCE, fisherExact, lnGamma, proportionsP } from "../../worker/services/reports/stats";

const variants = (a: [number, number], b: [number, number]) => [
  { id: "a", label: "A", enabled: true, sent: a[0], replies: a[1] },
  { id: "b", label: "B", enabled: true, sent: b[0], replies: b[1] },
];

describe("A/B statistics on few replies", () => {
  it("Fisher's exact test matches the textbook: the lady tasting tea (3 of 4 right) is p = 0.486 two-sided", () => {
    expect(fisherExact(3, 4, 1, 4)!).toBeCloseTo(0.4857, 4);
    // 4 replies in 30 against 0 in 30: 2 × C(30,4) / C(60,4) = 0.1124
    expect(fisherExact(4, 30, 0, 30)!).toBeCloseTo(0.1124, 4);
    expect(lnGamma(11)).toBeCloseTo(Math.log(3628800), 9);
  });

  it("uses the exact test while an expected count is under 5, the z-test beyond", () => {
    // Pooled z on 4/30 against 0/30 says p = 0.038; the exact test says 0.11.
    expect(proportionsP(4, 30, 0, 30)!).toBeCloseTo(0.1124, 4);
    // Plenty of replies: the z-test (140/200 against 255/340: p = 0.206).
    expect(proportionsP(140, 200, 255, 340)!).toBeCloseTo(0.2055, 3);
  });

  it("4 replies in 30 against 0 in 30 is not a winner", () => {
    const v = abVerdict(variants([30, 4], [30, 0]));
    expect(v).toMatchObject({ significant: false, auto_pick: false });
    expect(v.p_value!).toBeGreaterThan(0.1);
  });

  it("a small p-value on fewer than 10 replies of the leader is no verdict yet", () => {
    // 9/40 against 0/40: Fisher p ≈ 0.002, but nine replies are too few.
    const v = abVerdict(variants([40, 9], [40, 0]));
    expect(v.p_value!).toBeLessThan(0.05);
    expect(v.significant).toBe(false);
    expect(v.verdict).toMatch(/at least 10/);
  });

  it("the automatic winner waits for p < 0.001; the report calls 5% significant", () => {
    // 9.2% against 5% on 600 each: p ≈ 0.005, significant for a person reading the report, not for the cron.
    const v = abVerdict(variants([600, 30], [600, 55]));
    expect(v.significant).toBe(true);
    expect(v.p_value!).toBeGreaterThan(AUTO_SIGNIFICANCE);
    expect(v.auto_pick).toBe(false);
    const clear = abVerdict(variants([600, 30], [600, 84]));
    expect(clear).toMatchObject({ significant: true, auto_pick: true, leader_id: "b" });
  });
});
