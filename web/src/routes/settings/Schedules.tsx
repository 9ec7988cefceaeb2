import { createAsync } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import { useWrite } from "../../actions";
import type { Schedule } from "../../api";
import { Badge } from "../../components/Badge";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { errorMessage, TableSkeleton } from "../../components/Status";
import { notify } from "../../components/Toast";
import { formatDay, plural } from "../../format";
import { deleteScheduleAction, getHolidayCalendars, getSchedules } from "../../queries/schedules";
import { calendarLabel, summarizeWindows, WEEKDAYS, weeklyMinutes } from "../../schedule";
import { ScheduleForm } from "./ScheduleForm";

import "./Schedules.css";
import { Card } from "../../components/Card";
const toMin = (t: string) => {
  const [h, m] = t.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/** Seven thin day bars with the open windows filled: the week at a glance. */
function WeekStrip(props: { windows: Schedule["windows"] }) {
  return (
    <div class="week-strip" aria-hidden="true">
      <For each={WEEKDAYS}>
        {(d) => (
          <div class="week-strip-day">
            <span class="week-strip-label">{d.short[0]}</span>
            <span class="week-strip-bar">
              <For each={props.windows[d.key] ?? []}>
                {([a, b]) => <span style={{ left: `${(toMin(a) / 1440) * 100}%`, width: `${((toMin(b) - toMin(a)) / 1440) * 100}%` }} />}
              </For>
            </span>
          </div>
        )}
      </For>
    </div>
  );
}

/** Settings → Schedules: the team's sending windows. */
export function Schedules() {
  const schedules = createAsync(() => getSchedules());
  const countries = createAsync(() => getHolidayCalendars());
  const [editing, setEditing] = createSignal<Schedule | "new" | null>(null);
  const [deleting, setDeleting] = createSignal<Schedule | null>(null);
  const remove = useWrite(deleteScheduleAction);
  const deleteError = remove.errors.error;

  const confirmDelete = async () => {
    const s = deleting();
    if (!s) return;
    await remove.run(s.id);
    if (remove.errors.error()) return;
    notify(`Schedule “${s.name}” deleted`);
    setDeleting(null);
  };

  return (
    <Card
      title="Sending schedules"
      subtitle="When sequences may send email: weekly windows in a time zone, minus holidays. Each sequence uses one."
      flush
      actions={
        <button type="button" class="btn btn-primary btn-sm" onClick={() => setEditing("new")}>
          <Icon name="plus" size={15} /> New schedule
        </button>
      }
    >
      <Suspense fallback={<TableSkeleton columns={4} rows={3} label="Loading schedules…" />}>
        <Show when={schedules()}>
          {(r) => (
            <Show
              when={r().schedules.length > 0}
              fallback={
                <EmptyState
                  icon="calendar"
                  title="No schedules yet"
                  actions={
                    <button type="button" class="btn btn-primary" onClick={() => setEditing("new")}>
                      Create a schedule
                    </button>
                  }
                >
                  Without a schedule, a sequence may email at any hour. Most teams send on weekdays during business hours in their
                  prospects' time zone.
                </EmptyState>
              }
            >
              <ul class="schedule-list" aria-label="Schedules">
                <For each={r().schedules}>
                  {(s) => (
                    <li class="schedule-row" data-testid="schedule-row">
                      <div class="schedule-main">
                        <div class="schedule-name">
                          <strong>{s.name}</strong>
                          <Show when={s.is_default}>
                            <Badge tone="accent">Default</Badge>
                          </Show>
                        </div>
                        <p class="small">{summarizeWindows(s.windows)}</p>
                        <p class="muted small schedule-facts">
                          <span>
                            <Icon name="globe" size={13} /> {s.time_zone}
                            {s.use_contact_time_zone ? " · contact's zone when known" : ""}
                          </span>
                          <span>{Math.round(weeklyMinutes(s.windows) / 60)} h/week</span>
                          <span>
                            Holidays: {calendarLabel(s.holiday_calendar, countries()?.calendars)}
                            {s.holidays.length ? ` + ${plural(s.holidays.length, "custom day")}` : ""}
                          </span>
                        </p>
                      </div>
                      <WeekStrip windows={s.windows} />
                      <div class="schedule-side">
                        <span class="small">{plural(s.sequences, "sequence")}</span>
                        <Show
                          when={s.window_open_until}
                          fallback={<Show when={s.next_window_at}>{(at) => <span class="muted small">Opens {formatDay(at())}</span>}</Show>}
                        >
                          {(until) => <span class="muted small">Open now, until {formatDay(until())}</span>}
                        </Show>
                      </div>
                      <div class="cell-actions">
                        <Show
                          when={s.can_edit}
                          fallback={
                            <span class="muted small" title="Only the schedule's creator or an admin can change it">
                              View only
                            </span>
                          }
                        >
                          <button
                            type="button"
                            class="btn btn-secondary btn-sm"
                            onClick={() => setEditing(s)}
                            aria-label={`Edit schedule ${s.name}`}
                          >
                            Edit
                          </button>
                          {/* The default is handed on, never deleted: sequences without a schedule of their own send by it. */}
                          <Show
                            when={!s.is_default}
                            fallback={
                              <span class="muted small" title="Make another schedule the default first">
                                Default: can't be deleted
                              </span>
                            }
                          >
                            <button
                              type="button"
                              class="btn btn-danger-ghost btn-sm"
                              aria-label={`Delete schedule ${s.name}`}
                              onClick={() => {
                                remove.clear();
                                setDeleting(s);
                              }}
                            >
                              Delete
                            </button>
                          </Show>
                        </Show>
                      </div>
                    </li>
                  )}
                </For>
              </ul>
            </Show>
          )}
        </Show>
      </Suspense>

      <Show when={editing()} keyed>
        {(target) => (
          <ScheduleForm
            open
            schedule={target === "new" ? null : target}
            onClose={() => setEditing(null)}
            onSaved={(saved) => {
              notify(`Schedule “${saved.name}” saved`);
              setEditing(null);
            }}
          />
        )}
      </Show>
      <ConfirmDialog
        open={!!deleting()}
        danger
        title={`Delete “${deleting()?.name}”?`}
        confirmLabel="Delete schedule"
        busy={remove.pending()}
        onCancel={() => setDeleting(null)}
        onConfirm={() => void confirmDelete()}
      >
        <p>Sequences can't use it afterwards. A schedule still used by a sequence can't be deleted.</p>
        <Show when={deleteError()}>
          <div class="form-error" role="alert">
            <Icon name="alert" size={16} />
            <span>{errorMessage(deleteError())}</span>
          </div>
        </Show>
      </ConfirmDialog>
    </Card>
  );
}
