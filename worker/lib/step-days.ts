/**
 * The day each step of a sequence runs on, for the step editor's "Day N" labels (web/src/routes/sequence/StepsTab.tsx):
 * day 1 plus the waits of the steps that are on, if nothing waits on a window. A step turned off is skipped with its
 * wait, as the engine does; it shows the day it would run on.
 *
 * A wait in business days skips Saturdays and Sundays as the engine does (addWait, worker/services/schedule-time.ts),
 * so the days are counted from a contact added on a Monday: "5 business days" after day 1 is day 8, not day 6.
 * Holidays are the schedule's and not counted here.
 */
const MINUTES = { minutes: 1, hours: 60, days: 1440 } as const;
const DAY = 1440;

export function dayNumbers(
  steps: readonly { wait_amount: number; wait_unit: "minutes" | "hours" | "days"; business_days: boolean; enabled: boolean }[],
): number[] {
  // Minutes since the start of day 1, a Monday (day index 0: index % 7 < 5 is Monday to Friday).
  let minutes = 0;
  return steps.map((s) => {
    let at: number;
    if (s.wait_unit === "days" && s.business_days) {
      let day = Math.floor(minutes / DAY);
      const timeOfDay = minutes - day * DAY;
      for (let left = s.wait_amount; left > 0;) {
        day++;
        if (day % 7 < 5) left--;
      }
      at = day * DAY + timeOfDay;
    } else at = minutes + s.wait_amount * MINUTES[s.wait_unit];
    if (s.enabled) minutes = at;
    return 1 + Math.floor(at / DAY);
  });
}
