import { A, useAction, useSubmission } from "@solidjs/router";
import { createSignal, For, Show } from "solid-js";
import { ApiError, type Mailbox } from "../../api";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Options } from "../../components/Options";
import { notify } from "../../components/Toast";
import { formatNumber, plural } from "../../format";
import { removeMailboxAction } from "../../queries/mailboxes";

/** What a 409 mailbox_in_use says of the contacts still sending from the mailbox. */
interface InUse {
  enrollments: number;
  sequences: { id: string | null; name: string | null; contacts: number }[];
}

/**
 * What a 409 mailbox_in_use says when unfinished add-contacts jobs send from the mailbox: no contacts to move
 * yet, so the dialog shows the server's words and the jobs (id null for one the caller can't open).
 */
interface JobsPending {
  message: string;
  jobs: { id: string | null; status: string; run_at: number | null; sequence: string | null }[];
}

/** What happens to the sign-in, by transport: only what removal really does. */
function secretWords(m: Mailbox): string {
  if (m.transport === "gmail") return "its Google sign-in is revoked and deleted";
  if (m.transport === "graph")
    return "its Microsoft sign-in is deleted from Seqflare (Microsoft offers apps no way to revoke it: remove Seqflare at myapps.microsoft.com to end it there too)";
  if (m.transport === "smtp") return "its saved SMTP password is deleted";
  return "its settings are kept only for the history of what it sent";
}

/**
 * Remove a mailbox: says what ends, and when contacts still send from it (the API's 409 says how many and
 * where) offers the mailboxes they can move to first (connected ones the user may send from).
 */
export function RemoveDialog(props: { mailbox: Mailbox; targets: Mailbox[]; onClose: () => void }) {
  const remove = useAction(removeMailboxAction);
  const submission = useSubmission(removeMailboxAction);
  const [inUse, setInUse] = createSignal<InUse | null>(null);
  const [jobsPending, setJobsPending] = createSignal<JobsPending | null>(null);
  const [target, setTarget] = createSignal(props.targets[0]?.id ?? "");
  const [error, setError] = createSignal<string | null>(null);
  const m = () => props.mailbox;

  const confirm = async () => {
    setError(null);
    // Pending jobs can't be moved past from here: the same request would only get the same 409.
    if (jobsPending() || (inUse() && !target())) return props.onClose();
    try {
      const r = await remove(m().id, inUse() ? target() : undefined);
      const moved = r.moved ? `; ${plural(r.moved, "contact")} moved` : "";
      notify(`${m().email} removed${moved}`);
      // A sign-in the provider did not revoke is said, not hidden.
      if (r.sign_in && !r.sign_in.revoked) notify(r.sign_in.message, "info");
      props.onClose();
    } catch (e) {
      // The same code answers for pending add-contacts jobs (details.jobs) and for open enrollments.
      const details = e instanceof ApiError && e.code === "mailbox_in_use" ? (e.details as Partial<InUse & JobsPending>) : null;
      if (details && Array.isArray(details.jobs)) setJobsPending({ message: (e as ApiError).message, jobs: details.jobs });
      else if (details) setInUse(details as InUse);
      else setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <ConfirmDialog
      open
      danger
      title={`Remove ${m().email}?`}
      confirmLabel={jobsPending() ? "Close" : inUse() ? (target() ? "Move contacts and remove" : "Close") : "Remove mailbox"}
      busy={submission.pending}
      onCancel={() => props.onClose()}
      onConfirm={() => void confirm()}
    >
      <div data-testid="remove-mailbox-dialog">
        <p>
          Sending from it stops for good, replies to it are no longer read, and {secretWords(m())}. Emails it already sent stay in reports.
          You can connect this address again later as a new mailbox.
        </p>
        <Show when={jobsPending()}>
          {(p) => (
            <div class="mailbox-alert mailbox-alert-paused" role="alert" data-testid="remove-jobs-pending">
              <div>
                <p>{p().message}</p>
                <ul class="remove-in-use">
                  <For each={p().jobs}>
                    {(j) => (
                      <li>
                        <Show when={j.id} fallback="An add-contacts job you can't see">
                          {(id) => <A href={`/jobs/${id()}`}>{j.sequence ? `Adding contacts to “${j.sequence}”` : "Adding contacts"}</A>}
                        </Show>
                      </li>
                    )}
                  </For>
                </ul>
              </div>
            </div>
          )}
        </Show>
        <Show when={inUse()}>
          {(u) => (
            <div class="mailbox-alert mailbox-alert-paused" role="alert">
              <div>
                <strong>
                  {plural(u().enrollments, "contact")} still {u().enrollments === 1 ? "sends" : "send"} from it
                </strong>
                <ul class="remove-in-use">
                  <For each={u().sequences}>
                    {(s) => (
                      <li>
                        {s.name ? `“${s.name}”` : "A sequence you can't see"}: {formatNumber(s.contacts)}
                      </li>
                    )}
                  </For>
                </ul>
                <Show
                  when={props.targets.length}
                  fallback={
                    <p>
                      There is no other connected mailbox you can send from to move them to. Connect one, or use Change mailbox on those
                      sequences, then remove this one.
                    </p>
                  }
                >
                  <div class="field">
                    <label for="remove-target">Move them to</label>
                    <select id="remove-target" value={target()} onChange={(e) => setTarget(e.currentTarget.value)}>
                      <Options each={props.targets} value={target()} id={(t) => t.id}>
                        {(t) => t.email}
                      </Options>
                    </select>
                    <p class="field-help">Their queued emails go with them and send from that mailbox, within its limits.</p>
                  </div>
                </Show>
              </div>
            </div>
          )}
        </Show>
        <Show when={error()}>
          <p class="form-error" role="alert">
            {error()}
          </p>
        </Show>
      </div>
    </ConfirmDialog>
  );
}
