import { action, query } from "@solidjs/router";
import {
  createSchedule,
  deleteSchedule,
  fetchHolidayCalendars,
  fetchHolidays,
  fetchSchedules,
  updateSchedule,
  type HolidayCalendar,
} from "../api";

export const getSchedules = query(() => fetchSchedules(), "schedules");
/** The built-in holiday calendars: countries and their states or regions. */
export const getHolidayCalendars = query(() => fetchHolidayCalendars(), "holiday-calendars");
/** A calendar's holidays of one year, shown beside the schedule form's holiday choice. */
export const getHolidays = query((calendar: HolidayCalendar, year: number) => fetchHolidays(calendar, year), "holidays");

// Writes (actions.ts).
export const createScheduleAction = action(createSchedule, "createSchedule");
export const updateScheduleAction = action(updateSchedule, "updateSchedule");
export const deleteScheduleAction = action(deleteSchedule, "deleteSchedule");
