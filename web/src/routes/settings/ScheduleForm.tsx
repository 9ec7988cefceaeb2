import { createAsync } from "@solidjs/router";
import { createMemo, createSignal, For, Index, Show, Suspense } from "solid-js";
import { createScheduleAction, getHolidayCalendars, getHolidays, updateScheduleAction } from "../../queries/schedules";
import { type HolidayCalendar, type Schedule, type ScheduleInput } from "../../api";
import { Dialog } from "../../components/Dialog";
import { Chips } from "../../components/Chips";
import { FieldError } from "../../components/FieldError";
import { useWrite } from "../../actions";
import { FormProblems } from "../../forms";
import { Icon } from "../../components/Icon";
import { browserTimeZone, formatDate } from "../../format";
import { getMe } from "../../queries/session";
import { WEEKDAYS } from "../../schedule";

const TIME_ZONES: string[] = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
})();

/** "UTC−05:00" for a zone right now, so the list can say where a zone is. */
function offsetOf(tz: string) {
  try {
    const part = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "shortOffset" })
      .formatToParts(Date.now())
      .find((p) => p.type === "timeZoneName");
    return part?.value.replace("GMT", "UTC") ?? "";
  } catch {
    return "";
  }
}

type Windows = Record<string, [string, string][]>;
const DEFAULT_WINDOWS: Windows = Object.fromEntries(["1", "2", "3", "4", "5"].map((d) => [d, [["09:00", "17:00"]]]));
const TIME = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

/** Create or edit a schedule: zone, weekly windows, holidays, contact time zone, default. */
export function ScheduleForm(props: { open: boolean; schedule: Schedule | null; onClose: () => void; onSaved: (s: Schedule) => void }) {
  const s = props.schedule;
  const [name, setName] = createSignal(s?.name ?? "");
  const [tz, setTz] = createSignal(s?.time_zone ?? browserTimeZone());
  const [windows, setWindows] = createSignal<Windows>(structuredClone(s?.windows ?? DEFAULT_WINDOWS));
  const [calendar, setCalendar] = createSignal<HolidayCalendar>(s?.holiday_calendar ?? "none");
  const countries = createAsync(() => getHolidayCalendars());
  const countryCode = () => (calendar() === "none" ? "" : calendar().split("-")[0]!);
  const country = () => countries()?.calendars.find((c) => c.code === countryCode());
  // What is typed in the country box; undefined shows the picked country's name.
  const [countryText, setCountryText] = createSignal<string>();
  const matching = (text: string) => {
    const t = text.trim().toLowerCase();
    return countries()?.calendars.find((c) => c.name.toLowerCase() === t || c.code.toLowerCase() === t);
  };
  const unmatched = () => !!countryText()?.trim() && !matching(countryText()!);
  const pickCountry = (text: string) => {
    setCountryText(text);
    const hit = matching(text);
    if (!text.trim()) setCalendar("none");
    else if (hit && hit.code !== countryCode()) setCalendar(hit.code);
  };
  const [custom, setCustom] = createSignal<string[]>([...(s?.holidays ?? [])].sort());
  const [newDate, setNewDate] = createSignal("");
  const [contactTz, setContactTz] = createSignal(s?.use_contact_time_zone ?? false);
  const [isDefault, setIsDefault] = createSignal(s?.is_default ?? false);
  const me = createAsync(() => getMe());
  const create = useWrite(createScheduleAction, { form: "schedule-form" });
  const update = useWrite(updateScheduleAction, { form: "schedule-form" });
  const busy = () => create.pending() || update.pending();
  const errors = s ? update.errors : create.errors;
  const year = new Date().getFullYear();
  const holidays = createAsync(async () => (calendar() === "none" ? undefined : getHolidays(calendar(), year)));
  const zones = createMemo(() => (TIME_ZONES.includes(tz()) ? TIME_ZONES : [tz(), ...TIME_ZONES]));

  const setDay = (day: string, list: [string, string][]) =>
    setWindows((w) => {
      const next = { ...w };
      if (list.length) next[day] = list;
      else delete next[day];
      return next;
    });
  const badTimes = () =>
    Object.entries(windows()).flatMap(([d, list]) =>
      list.flatMap(([a, b]) => [a, b].filter((t) => !TIME.test(t)).map((t) => `${WEEKDAYS[Number(d) - 1]?.long}: “${t}”`)),
    );

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    errors.clear();
    const input: ScheduleInput = {
      name: name().trim(),
      time_zone: tz(),
      windows: windows(),
      holiday_calendar: calendar(),
      holidays: custom(),
      use_contact_time_zone: contactTz(),
      is_default: isDefault(),
    };
    const saved = s ? await update.run(s.id, input) : await create.run(input);
    if (saved) props.onSaved(saved);
  };

  return (
    <Dialog
      open={props.open}
      onClose={props.onClose}
      size="xl"
      title={s ? `Edit “${s.name}”` : "New schedule"}
      description="Emails only go out inside these windows, in the schedule's time zone (daylight saving handled). Tasks are not affected."
      testId="schedule-dialog"
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={() => props.onClose()}>
            Cancel
          </button>
          <button type="submit" form="schedule-form" class="btn btn-primary" disabled={busy()}>
            {busy() ? "Saving…" : s ? "Save schedule" : "Create schedule"}
          </button>
        </>
      }
    >
      <form id="schedule-form" class="form" onSubmit={submit}>
        <div class="form-grid">
          <div class="field">
            <label for="sched-name">Name</label>
            <input
              id="sched-name"
              required
              maxlength={80}
              value={name()}
              onInput={(e) => setName(e.currentTarget.value)}
              placeholder="e.g. US business hours"
              aria-invalid={errors.invalid("name")}
              aria-describedby="sched-name-error"
              autocomplete="off"
            />
            <FieldError id="sched-name-error" form={errors} name="name" />
          </div>
          <div class="field">
            <label for="sched-tz">Time zone</label>
            <select
              id="sched-tz"
              onChange={(e) => setTz(e.currentTarget.value)}
              aria-invalid={errors.invalid("time_zone")}
              aria-describedby="sched-tz-error"
            >
              <For each={zones()}>
                {(z) => (
                  <option value={z} selected={z === tz()}>
                    {z.replace(/_/g, " ")} ({offsetOf(z)})
                  </option>
                )}
              </For>
            </select>
            <FieldError id="sched-tz-error" form={errors} name="time_zone" />
          </div>
        </div>

        <fieldset>
          <legend class="field-legend">Sending windows</legend>
          <div class="week-grid">
            <For each={WEEKDAYS}>
              {(d) => {
                const list = () => windows()[d.key] ?? [];
                return (
                  <div class="week-row" classList={{ "week-off": list().length === 0 }}>
                    <label class="check week-day">
                      <input
                        type="checkbox"
                        checked={list().length > 0}
                        onChange={(e) => setDay(d.key, e.currentTarget.checked ? [["09:00", "17:00"]] : [])}
                      />
                      {d.long}
                    </label>
                    <div class="week-ranges">
                      <Show when={list().length > 0} fallback={<span class="muted small">No sending</span>}>
                        <Index each={list()}>
                          {(range, i) => (
                            <span class="range">
                              <label class="sr-only" for={`w-${d.key}-${i}-from`}>
                                {d.long} window {i + 1} start
                              </label>
                              <input
                                id={`w-${d.key}-${i}-from`}
                                class="input-sm time-input"
                                value={range()[0]}
                                inputmode="numeric"
                                placeholder="09:00"
                                maxlength={5}
                                aria-invalid={!TIME.test(range()[0])}
                                onInput={(e) =>
                                  setDay(
                                    d.key,
                                    list().map((r, j) => (j === i ? [e.currentTarget.value, r[1]] : r)),
                                  )
                                }
                              />
                              <span aria-hidden="true">–</span>
                              <label class="sr-only" for={`w-${d.key}-${i}-to`}>
                                {d.long} window {i + 1} end
                              </label>
                              <input
                                id={`w-${d.key}-${i}-to`}
                                class="input-sm time-input"
                                value={range()[1]}
                                inputmode="numeric"
                                placeholder="17:00"
                                maxlength={5}
                                aria-invalid={!TIME.test(range()[1])}
                                onInput={(e) =>
                                  setDay(
                                    d.key,
                                    list().map((r, j) => (j === i ? [r[0], e.currentTarget.value] : r)),
                                  )
                                }
                              />
                              <button
                                type="button"
                                class="btn btn-ghost btn-xs btn-icon"
                                aria-label={`Remove ${d.long} window ${i + 1}`}
                                onClick={() =>
                                  setDay(
                                    d.key,
                                    list().filter((_, j) => j !== i),
                                  )
                                }
                              >
                                <Icon name="x" size={14} />
                              </button>
                            </span>
                          )}
                        </Index>
                        <Show when={list().length < 6}>
                          <button
                            type="button"
                            class="btn btn-ghost btn-xs"
                            onClick={() => setDay(d.key, [...list(), ["13:00", "17:00"]])}
                            aria-label={`Add a window on ${d.long}`}
                          >
                            <Icon name="plus" size={13} /> Add
                          </button>
                        </Show>
                      </Show>
                    </div>
                  </div>
                );
              }}
            </For>
          </div>
          <div class="week-tools">
            <button
              type="button"
              class="btn btn-ghost btn-xs"
              onClick={() => {
                const mon = windows()["1"] ?? [];
                for (const k of ["2", "3", "4", "5"]) setDay(k, structuredClone(mon));
              }}
            >
              <Icon name="copy" size={13} /> Copy Monday to Tuesday–Friday
            </button>
            <span class="muted small">Times are HH:MM, 24-hour; a window may end at 24:00.</span>
          </div>
          <Show when={badTimes().length}>
            <p class="field-error">
              <Icon name="alert" size={14} /> Not a time: {badTimes().join(", ")}
            </p>
          </Show>
          <Show when={!Object.values(windows()).some((list) => list.length) && !errors.invalid("windows.*")}>
            <p class="field-help text-warning">No day has a window: the schedule couldn't send anything. Tick at least one day.</p>
          </Show>
          <FieldError id="sched-windows-error" form={errors} name="windows.*" />
        </fieldset>

        <div class="form-grid">
          <div class="field">
            <label for="sched-cal">Holiday calendar</label>
            <Suspense fallback={<p class="muted small">Loading the holiday calendars…</p>}>
              <input
                id="sched-cal"
                type="search"
                list="sched-cal-countries"
                autocomplete="off"
                placeholder="None: type a country"
                value={countryText() ?? country()?.name ?? ""}
                onInput={(e) => pickCountry(e.currentTarget.value)}
                // A name that isn't in the list is let go on leaving the box: the calendar stays as picked.
                onChange={() => unmatched() && setCountryText(undefined)}
                aria-invalid={errors.invalid("holiday_calendar")}
                aria-describedby="sched-cal-help sched-cal-error"
              />
              <datalist id="sched-cal-countries">
                <For each={countries()?.calendars}>{(c) => <option value={c.name} />}</For>
              </datalist>
              <Show when={unmatched()}>
                <p class="field-help text-warning">No country called “{countryText()!.trim()}”: pick one from the list.</p>
              </Show>
              <Show when={country()?.regions.length ? country() : undefined}>
                {(c) => (
                  <>
                    <label for="sched-region">State or region</label>
                    <select id="sched-region" onChange={(e) => setCalendar(e.currentTarget.value)}>
                      <option value={c().code} selected={calendar() === c().code}>
                        {c().whole}
                      </option>
                      <For each={c().regions}>
                        {(r) => (
                          <option value={r.code} selected={r.code === calendar()}>
                            {r.name}
                          </option>
                        )}
                      </For>
                    </select>
                  </>
                )}
              </Show>
              <p id="sched-cal-help" class="field-help">
                Public holidays only: bank, school and observance days still send. Add others as your own days off.
              </p>
            </Suspense>
            <FieldError id="sched-cal-error" form={errors} name="holiday_calendar" />
            <Show when={calendar() !== "none"}>
              <Suspense fallback={<p class="muted small">Loading {year}'s holidays…</p>}>
                <Show when={holidays()}>
                  {(h) => (
                    <details class="holiday-list">
                      <summary>
                        {new Set(h().holidays.map((x) => x.date)).size} days skipped in {year}
                      </summary>
                      <ul>
                        <For each={h().holidays}>
                          {(x) => (
                            <li>
                              <span class="tabular">{formatDate(Date.parse(`${x.date}T12:00:00Z`))}</span> {x.name}
                            </li>
                          )}
                        </For>
                      </ul>
                    </details>
                  )}
                </Show>
              </Suspense>
            </Show>
          </div>
          <div class="field">
            <label for="sched-custom">Your own days off</label>
            <div class="inline-add">
              <input
                id="sched-custom"
                type="date"
                class="input-sm"
                min="2000-01-01"
                max="2100-12-31"
                aria-invalid={errors.invalid("holidays.*")}
                aria-describedby="sched-holidays-error"
                value={newDate()}
                onInput={(e) => setNewDate(e.currentTarget.value)}
              />
              <button
                type="button"
                class="btn btn-secondary btn-sm"
                disabled={!newDate()}
                onClick={() => {
                  if (newDate() && !custom().includes(newDate())) setCustom([...custom(), newDate()].sort());
                  setNewDate("");
                }}
              >
                Add date
              </button>
            </div>
            <Show when={custom().length} fallback={<p class="muted small">Company days off, offsites… No email goes out on them.</p>}>
              <Chips
                label="Custom days off"
                items={custom()}
                text={(d) => formatDate(Date.parse(`${d}T12:00:00Z`))}
                onRemove={(d) => setCustom(custom().filter((x) => x !== d))}
              />
            </Show>
            <FieldError id="sched-holidays-error" form={errors} name="holidays.*" />
          </div>
        </div>

        <div class="stack-sm">
          <label class="check">
            <input type="checkbox" checked={contactTz()} onChange={(e) => setContactTz(e.currentTarget.checked)} />
            Send in the contact's time zone when it's known (the windows then apply in their local time)
          </label>
          {/* The default times every sequence without a schedule of its own: admins set it. */}
          <Show when={me()?.user.role === "admin"}>
            <label class="check">
              {/* The default is handed on, not switched off (the API refuses): another schedule's box takes it. */}
              <input
                type="checkbox"
                checked={isDefault()}
                disabled={!!s?.is_default}
                aria-describedby={s?.is_default ? "sched-default-note" : undefined}
                onChange={(e) => setIsDefault(e.currentTarget.checked)}
              />
              Team default: new sequences, and sequences without a schedule of their own, send in these windows
            </label>
            <Show when={s?.is_default}>
              <p id="sched-default-note" class="muted small">
                To change the default, make another schedule the default.
              </p>
            </Show>
          </Show>
        </div>

        <FormProblems form={errors} />
      </form>
    </Dialog>
  );
}
