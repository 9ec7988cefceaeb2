import { A, createAsync } from "@solidjs/router";
import { For, Show } from "solid-js";
import type { Sequence } from "../../api";
import { Icon } from "../../components/Icon";
import { Toggle } from "../../components/Toggle";
import { formatDay, formatNumber } from "../../format";
import { getSchedules } from "../../queries/schedules";
import { summarizeWindows } from "../../schedule";
import { getSequenceReport } from "../../queries/reports";
import { setSequenceSettingAction, updateSequenceAction } from "../../queries/sequences";
import { useWrite } from "../../actions";
import { reportStatus, wontSendOverlap } from "../../components/EnrollmentStatus";

/** The side column of the Steps tab: who's in it, when it sends, and how it behaves. */
/** A time shown in the viewer's zone (formatDay), said as such: the schedule's windows above are in its own zone. */
const yourTime = () => `(your time, ${new Intl.DateTimeFormat().resolvedOptions().timeZone})`;

export function Overview(props: { seq: Sequence; readOnly: boolean; onApply: (s: Sequence) => void }) {
  // Contacts, not runs (the report's counts): a restarted or re-added contact has several runs and counts
  // once, at its latest run's status; the enrollments list's counts are per run.
  // A failed fetch is null (undefined is still loading): the card says it couldn't load, never a
  // figure or a "no schedule" warning it doesn't know to be true.
  const report = createAsync(() => getSequenceReport(props.seq.id, {}).catch(() => null));
  const schedules = createAsync(() => getSchedules().catch(() => null));
  // No schedule of its own: the team's default times it (sequence-config.ts), or nothing does.
  const schedule = () => schedules()?.schedules.find((s) => (props.seq.schedule_id ? s.id === props.seq.schedule_id : s.is_default));
  // The statuses that have contacts.
  const counts = () => (report()?.statuses ?? []).map((s) => [s.status, s.contacts] as const).filter(([, n]) => n > 0);
  const total = () => report()?.totals.contacts ?? 0;
  // "Won't be sent" overlaps the statuses (as on the Contacts tab): the counts then add up to more than the total.
  const wontSend = () => report()?.statuses.find((s) => s.status === "wont_send")?.contacts ?? 0;

  const setting = (key: "finish_on_reply" | "allow_other_owners") => (props.seq.settings[key] as boolean | undefined) ?? true;
  const settingWrite = useWrite(setSequenceSettingAction, { failed: () => "Couldn't save the setting" });
  // The setting being saved, from the submission in flight: its switch spins, the others wait.
  const busy = () => settingWrite.inFlight().at(-1)?.[1] ?? null;
  const change = async (key: "finish_on_reply" | "allow_other_owners", value: boolean) => {
    const saved = await settingWrite.run(props.seq.id, key, value);
    if (saved) props.onApply(saved);
  };

  // What a reply from a colleague (same email domain) does to the others at that company in this sequence.
  const colleagueWrite = useWrite(updateSequenceAction, { failed: () => "Couldn't save the setting" });
  const colleagueRule = () => (props.seq.settings.colleague_reply as "nothing" | "pause" | "finish" | undefined) ?? "nothing";
  const changeColleagueRule = async (value: "nothing" | "pause" | "finish") => {
    const saved = await colleagueWrite.run(props.seq.id, { settings: { colleague_reply: value } });
    if (saved) props.onApply(saved);
  };

  return (
    <aside class="overview" aria-label="Sequence overview">
      <section class="side-card">
        <h2 class="side-title">Contacts</h2>
        <Show
          when={report()}
          fallback={
            <p class="muted small" role={report() === null ? "alert" : undefined}>
              {report() === null ? "Couldn't load the contact counts. Reload the page to try again." : "Loading…"}
            </p>
          }
        >
          <p class="side-big">
            {formatNumber(total())} <span class="muted">in this sequence</span>
          </p>
          <Show when={counts().length > 0}>
            <ul class="side-counts">
              <For each={counts()}>
                {([status, n]) => (
                  <li>
                    <span class={`dot dot-${reportStatus(status).tone}`} aria-hidden="true" />
                    {reportStatus(status).label}
                    <strong>{formatNumber(n)}</strong>
                  </li>
                )}
              </For>
            </ul>
          </Show>
          <Show when={wontSend() > 0}>
            <p class="muted small" data-testid="overview-wont-send-note">
              Statuses that overlap: {wontSendOverlap(formatNumber(wontSend()))}.
            </p>
          </Show>
          <A class="small" href={`/sequences/${props.seq.id}?tab=contacts`}>
            See contacts and what's next for each
          </A>
        </Show>
      </section>

      <section class="side-card">
        <h2 class="side-title">Sending schedule</h2>
        <Show when={schedules() === null}>
          <p class="small reason reason-warning" role="alert">
            <Icon name="alert" size={14} /> Couldn't load the sending schedule. Reload the page to try again.
          </p>
        </Show>
        <Show
          when={props.seq.schedule_id || schedule() || schedules() === null}
          fallback={
            <Show when={schedules()} fallback={<p class="muted small">Loading…</p>}>
              <p class="small reason reason-warning">
                <Icon name="alert" size={14} /> No schedule: emails may go out at any hour.
              </p>
            </Show>
          }
        >
          <Show
            when={schedule()}
            fallback={
              <Show when={props.seq.schedule_id}>
                <p class="small">{props.seq.schedule_name}</p>
              </Show>
            }
          >
            {(s) => (
              <>
                <p class="side-strong">
                  {s().name}
                  {props.seq.schedule_id ? "" : " (team default)"}
                </p>
                <p class="small muted">
                  <Icon name="globe" size={13} /> {s().time_zone}
                  {s().use_contact_time_zone ? " · in each contact's zone when known" : ""}
                </p>
                {/* The windows are hours of the schedule's zone; the times below are the viewer's: each says its zone. */}
                <p class="small" data-testid="schedule-windows">
                  {summarizeWindows(s().windows)} ({s().use_contact_time_zone ? `${s().time_zone} or the contact's zone` : s().time_zone})
                </p>
                <Show
                  when={s().window_open_until}
                  fallback={
                    <Show when={s().next_window_at}>
                      {(at) => (
                        <p class="small muted" data-testid="schedule-window-now">
                          Next window opens {formatDay(at())} {yourTime()}
                        </p>
                      )}
                    </Show>
                  }
                >
                  {(until) => (
                    <p class="small muted" data-testid="schedule-window-now">
                      Window open now, until {formatDay(until())} {yourTime()}
                    </p>
                  )}
                </Show>
              </>
            )}
          </Show>
        </Show>
        <A class="small" href="/settings?tab=schedules">
          Edit schedules
        </A>
      </section>

      <section class="side-card">
        <h2 class="side-title">Settings</h2>
        <div class="side-setting">
          <div>
            <strong id="set-reply">Finish on reply</strong>
            <p class="small muted" id="set-reply-help">
              A contact who replies leaves the sequence.
            </p>
          </div>
          <Toggle
            label="Finish on reply"
            size="sm"
            describedBy="set-reply-help"
            checked={setting("finish_on_reply")}
            disabled={props.readOnly || !!busy()}
            busy={busy() === "finish_on_reply"}
            onChange={(v) => void change("finish_on_reply", v)}
          />
        </div>
        <div class="side-setting">
          <div>
            <strong>Teammates' contacts</strong>
            <p class="small muted" id="set-owners-help">
              Allow adding contacts owned by someone else.
            </p>
          </div>
          <Toggle
            label="Allow contacts owned by teammates"
            size="sm"
            describedBy="set-owners-help"
            checked={setting("allow_other_owners")}
            disabled={props.readOnly || !!busy()}
            busy={busy() === "allow_other_owners"}
            onChange={(v) => void change("allow_other_owners", v)}
          />
        </div>
        <div class="side-setting">
          <div>
            <label for="set-colleague">
              <strong>When a colleague replies</strong>
            </label>
            <p class="small muted" id="set-colleague-help">
              Someone at the same company (email domain) replies: what happens to the others from there in this sequence.
            </p>
          </div>
          <select
            id="set-colleague"
            aria-describedby="set-colleague-help"
            value={colleagueRule()}
            disabled={props.readOnly || colleagueWrite.pending()}
            onChange={(e) => void changeColleagueRule(e.currentTarget.value as "nothing" | "pause" | "finish")}
          >
            <option value="nothing">Nothing</option>
            <option value="pause">Pause them</option>
            <option value="finish">Finish them</option>
          </select>
        </div>
      </section>
    </aside>
  );
}
