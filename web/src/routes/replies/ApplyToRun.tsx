import { createAsync } from "@solidjs/router";
import { For, Show } from "solid-js";
import { useWrite } from "../../actions";
import { formatDay } from "../../format";
import type { Reply } from "../../queries/replies";
import { applyReplyToRunAction, getHeldReplyRuns } from "../../queries/reply-runs";
import "./ApplyToRun.css";

/**
 * A reply kept for review because its sender is a contact in several open runs from the mailbox and its
 * subject answers none of them: no run was stopped. The rep says which run it answers (one click per run,
 * named by its sequence and the email it would answer) and it is applied as a matched reply would be.
 * Nothing shows for any other reply, nor once it was applied (the inbox is re-read after the click).
 */
export function ApplyToRun(props: { r: Reply }) {
  const held = () => !!(props.r.evidence as { held?: number }).held;
  const runs = createAsync(() => (held() ? getHeldReplyRuns(props.r.id) : Promise.resolve(undefined)));
  // The name of the run clicked: by the time the write answers, the runs are read again (none, once applied).
  let picked = "";
  const apply = useWrite(applyReplyToRunAction, {
    done: (res) => res && `Applied to ${picked}`,
    failed: () => `Couldn't apply the reply to ${picked}`,
  });
  return (
    <Show when={runs()?.held && runs()!.runs.length ? runs() : undefined}>
      {(r) => (
        <section class="apply-to-run" data-testid="apply-to-run" aria-labelledby={`apply-to-run-${props.r.id}`}>
          <h3 id={`apply-to-run-${props.r.id}`}>Which sequence does this answer?</h3>
          <p class="muted">
            It has no thread headers, its sender has several open runs from this mailbox and its subject answers none of them, so no run was
            stopped. Pick the one it answers: it is applied as a matched reply (each sequence stops or pauses as its settings say, and the
            reply counts on that email).
          </p>
          <ul>
            <For each={r().runs}>
              {(run) => (
                <li>
                  <button
                    type="button"
                    class="btn btn-secondary btn-sm"
                    data-testid="apply-to-run-choice"
                    disabled={!run.can_apply || apply.pending()}
                    title={run.can_apply ? undefined : "You can't edit this sequence"}
                    onClick={() => {
                      picked = run.sequence_name;
                      void apply.run(props.r.id, run.enrollment_id);
                    }}
                  >
                    {run.sequence_name}
                  </button>
                  <span class="muted">
                    “{run.email.subject}” · sent {formatDay(run.email.sent_at)}
                    <Show when={!run.can_apply}> · you can't edit this sequence</Show>
                  </span>
                </li>
              )}
            </For>
          </ul>
        </section>
      )}
    </Show>
  );
}
