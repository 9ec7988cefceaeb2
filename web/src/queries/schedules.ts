import { query } from "@solidjs/router";
import { fetchHolidays, fetchSchedules, type HolidayCalendar } from "../api";

export const getSchedules = query(() => fetchSchedules(), "schedules");
/** A calendar's holidays of one year, shown beside the schedule form's holiday choice. */
export const getHolidays = query((calendar: HolidayCalendar, year: number) => fetchHolidays(calendar, year), "holidays");
