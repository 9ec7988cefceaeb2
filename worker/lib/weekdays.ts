/** ISO weekdays by name: index 0 is Monday (ISO 1) … index 6 Sunday (ISO 7), as schedules key their windows. */
export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;
