// An A/B test the report's filters leave without emails says so ("in this range", "for this mailbox")
// rather than "No emails sent yet." of a test that has sent plenty.
import { describe, expect, it } from "vitest";
import { DAY, type ReportQuery, reportOf, world } from "./report-world";

describe("an A/B test under the report's filters", () => {
  it("says an A/B test has no emails in the range or for the mailbox, not that none were sent yet", async () => {
    const june1 = Date.UTC(2026, 5, 1, 10);
    const w = await world([june1, june1, june1 + DAY]);
    const verdict = async (q: ReportQuery) => (await reportOf(w.s, w.sequenceId, q)).ab_tests[0]!.verdict;
    expect(await verdict({})).not.toMatch(/^No emails/);
    expect(await verdict({ from: "2026-07-01", to: "2026-07-31" })).toBe("No emails in this range.");
    expect(await verdict({ mailbox_id: w.otherMailbox })).toBe("No emails for this mailbox.");
    expect(await verdict({ mailbox_id: w.otherMailbox, from: "2026-06-01", to: "2026-06-30" })).toBe(
      "No emails for this mailbox in this range.",
    );
    // The same filters with emails give the figures, not an empty verdict.
    expect(await verdict({ mailbox_id: w.mailbox, from: "2026-06-01", to: "2026-06-30" })).not.toMatch(/^No emails/);
  });
});
