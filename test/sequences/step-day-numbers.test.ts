// The step editor's "Day N" labels count a wait in business days as the engine does (addWait): weekends are
// skipped, counted from a contact added on a Monday. Before, "5 business days" after day 1 read "Day 6".
import { describe, expect, it } from "vitest";
import { dayNumbers } from "../../worker/lib/step-days";
import { addWait, type WindowSpec } from "../../worker/services/schedule-time";

const step = (wait_amount: number, o: { unit?: "minutes" | "hours" | "days"; business?: boolean; enabled?: boolean } = {}) => ({
  wait_amount,
  wait_unit: o.unit ?? ("days" as const),
  business_days: o.business ?? false,
  enabled: o.enabled ?? true,
});

describe("the step editor's day numbers", () => {
  it("skip weekends for waits in business days, from a Monday start", () => {
    expect(dayNumbers([step(0), step(5, { business: true }), step(1, { business: true }), step(2)])).toEqual([1, 8, 9, 11]);
    // Friday (day 5) plus one business day is Monday (day 8).
    expect(dayNumbers([step(4), step(1, { business: true })])).toEqual([5, 8]);
    // Calendar days, hours and a step turned off (skipped with its wait) as before.
    expect(dayNumbers([step(0), step(36, { unit: "hours" }), step(3, { enabled: false }), step(2)])).toEqual([1, 2, 5, 4]);
  });

  it("agree with the engine's addWait on a Monday start with no holidays", () => {
    const monday = Date.UTC(2027, 2, 1, 9); // Monday 1 March 2027, 09:00 UTC
    const spec: WindowSpec = { timeZone: "UTC", windows: {}, holidays: [], holidayCalendar: "none" };
    let t = monday;
    const steps = [step(0), step(3, { business: true }), step(4, { business: true }), step(1), step(6, { business: true })];
    const engineDays = steps.map((s) => {
      t = addWait(t, s.wait_amount, s.wait_unit, s.business_days, spec);
      return 1 + Math.floor((t - monday) / 86_400_000);
    });
    expect(dayNumbers(steps)).toEqual(engineDays);
  });
});
