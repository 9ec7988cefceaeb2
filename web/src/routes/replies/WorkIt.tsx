import { createAsync } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { useWrite } from "../../actions";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Options } from "../../components/Options";
import { formatDateTime, plural } from "../../format";
import { getContactStages, setContactStageAction } from "../../queries/contacts";
import { markMeetingBookedAction } from "../../queries/meetings";
import type { Reply } from "../../queries/replies";

/**
 * Working a reply where it is read: move its contact to a stage (Interested, Not interested…) and mark
 * its meeting booked, through the contact's own endpoints and rights. The inbox is re-read after each,
 * so the row (and this dialog) show the contact's stage and meeting as they now are.
 */
export function WorkIt(props: { r: Reply }) {
  const contact = () => props.r.contact!;
  const stages = createAsync(() => getContactStages().catch(() => undefined));
  const [stageId, setStageId] = createSignal(contact().stage?.id ?? "");
  const stageOf = (id: string) => stages()?.contact_stages.find((s) => s.id === id);
  const move = useWrite(setContactStageAction, {
    done: (res, _c, id) =>
      res &&
      // A contact deleted since the inbox was read comes back in not_found, with nothing moved.
      (!res.updated
        ? "That contact is gone: nothing changed"
        : `Moved to ${stageOf(id)?.name ?? "the stage"}${res.runs_ended ? `: stopped in ${plural(res.runs_ended, "sequence run")}` : ""}`),
    failed: () => "Couldn't change the stage",
  });
  const meeting = useWrite(markMeetingBookedAction, {
    done: (r) =>
      r &&
      (r.duplicate
        ? `That meeting was already recorded (booked ${formatDateTime(r.booked_at)})`
        : `Meeting booked${r.finished.length ? `: finished in ${plural(r.finished.length, "sequence")}` : ""}${
            r.left_open ? ` (${plural(r.left_open, "run")} in sequences you can't edit left to their owners)` : ""
          }`),
    failed: () => "Couldn't mark the meeting booked",
  });
  // Do Not Contact ends every run of the address, as the Contacts page warns: asked first, in a ConfirmDialog as there.
  const [confirmDnc, setConfirmDnc] = createSignal<{ id: string; name: string } | null>(null);
  // A second meeting for a contact that has one recorded is asked first too.
  const [confirmAnother, setConfirmAnother] = createSignal<number | null>(null);
  const setStage = () => {
    const s = stageOf(stageId());
    if (!s || s.id === contact().stage?.id) return;
    if (s.category === "dnc") setConfirmDnc(s);
    else void move.run(contact().id, s.id);
  };
  const book = () => {
    const last = contact().meeting_booked_at;
    if (last) setConfirmAnother(last);
    else void meeting.run(contact().id);
  };
  return (
    <div class="reply-work" data-testid="reply-work">
      <form
        class="reply-work-stage"
        onSubmit={(e) => {
          e.preventDefault();
          setStage();
        }}
      >
        <label>
          <span>Stage</span>
          <select
            class="input input-sm"
            data-testid="reply-stage"
            aria-label={`Stage of ${contact().name || contact().email}`}
            onChange={(e) => setStageId(e.currentTarget.value)}
          >
            <Show when={!contact().stage}>
              <option value="" selected>
                No stage
              </option>
            </Show>
            <Options each={stages()?.contact_stages} value={stageId()} id={(s) => s.id}>
              {(s) => s.name}
            </Options>
          </select>
        </label>
        <button
          type="submit"
          class="btn btn-secondary btn-sm"
          data-testid="reply-set-stage"
          disabled={move.pending() || !stageId() || stageId() === contact().stage?.id}
        >
          Set stage
        </button>
      </form>
      <div class="reply-work-meeting">
        <button type="button" class="btn btn-secondary btn-sm" data-testid="reply-meeting" disabled={meeting.pending()} onClick={book}>
          Meeting booked
        </button>
        <Show when={contact().meeting_booked_at}>{(at) => <span class="muted">Booked {formatDateTime(at())}</span>}</Show>
      </div>
      <ConfirmDialog
        open={!!confirmDnc()}
        title={`Move them to ${confirmDnc()?.name ?? ""}?`}
        confirmLabel="Move them"
        danger
        onConfirm={() => {
          const s = confirmDnc();
          setConfirmDnc(null);
          if (s) void move.run(contact().id, s.id);
        }}
        onCancel={() => setConfirmDnc(null)}
      >
        Moving them to {confirmDnc()?.name} stops every email to {contact().email ?? "them"}.
      </ConfirmDialog>
      <ConfirmDialog
        open={!!confirmAnother()}
        title="Record another meeting?"
        confirmLabel="Record another"
        onConfirm={() => {
          setConfirmAnother(null);
          void meeting.run(contact().id);
        }}
        onCancel={() => setConfirmAnother(null)}
      >
        A meeting booked {formatDateTime(confirmAnother() ?? 0)} is already recorded for this contact.
      </ConfirmDialog>
    </div>
  );
}
