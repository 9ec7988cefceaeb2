import { createSignal, For, Show } from "solid-js";
import { useWrite } from "../../actions";
import type { Sequence } from "../../api";
import { deleteStepAction, reorderStepsAction } from "../../queries/sequences";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { formatWait } from "../../format";
import { dayNumbers } from "../../../../worker/lib/step-days";
import { firstReplyWithoutOpener } from "../../../../worker/lib/thread-openers";
import { AddStepDialog } from "./AddStepDialog";
import { StepCard } from "./StepCard";

export function StepsTab(props: { seq: Sequence; readOnly: boolean; onApply: (s: Sequence) => void }) {
  const [adding, setAdding] = createSignal(false);
  const days = () => dayNumbers(props.seq.steps);

  /** A move is offered only if every same-thread reply keeps an email step before it (the API refuses the rest). */
  const canMove = (index: number, dir: -1 | 1) => {
    const steps = props.seq.steps.map((s) => ({ type: s.type, reply: s.thread_reply }));
    const target = index + dir;
    if (target < 0 || target >= steps.length) return false;
    const [moved] = steps.splice(index, 1);
    steps.splice(target, 0, moved!);
    return firstReplyWithoutOpener(steps) < 0;
  };

  const reorder = useWrite(reorderStepsAction, { failed: () => "Couldn't move the step" });
  const remove = useWrite(deleteStepAction, { failed: () => "Couldn't delete" });
  const apply = (s: Sequence | undefined) => s && props.onApply(s);
  const move = async (index: number, dir: -1 | 1) => {
    const ids = props.seq.steps.map((s) => s.id);
    const [id] = ids.splice(index, 1);
    ids.splice(index + dir, 0, id!);
    apply(await reorder.run(props.seq.id, ids));
  };

  return (
    <div class="steps">
      <Show
        when={props.seq.steps.length > 0}
        fallback={
          <EmptyState
            icon="sequences"
            title="No steps yet"
            actions={
              <Show when={!props.readOnly}>
                <button type="button" class="btn btn-primary" onClick={() => setAdding(true)}>
                  <Icon name="plus" size={16} /> Add the first step
                </button>
              </Show>
            }
          >
            Start with an automatic email, then follow up with a call, a LinkedIn touch or a same-thread reply a few days later.
          </EmptyState>
        }
      >
        <ol class="step-list" aria-label="Steps">
          <For each={props.seq.steps}>
            {(step, i) => (
              <li class="step-item">
                <div class="step-wait" classList={{ "step-wait-first": i() === 0 }}>
                  <Icon name="clock" size={14} />
                  <span>
                    {i() === 0
                      ? step.wait_amount === 0
                        ? "Starts as soon as a contact is added"
                        : `Starts ${formatWait(step.wait_amount, step.wait_unit, step.business_days)} after a contact is added`
                      : step.wait_amount === 0
                        ? "Right after the previous step"
                        : `Wait ${formatWait(step.wait_amount, step.wait_unit, step.business_days)}`}
                  </span>
                </div>
                <StepCard
                  sequenceId={props.seq.id}
                  step={step}
                  index={i()}
                  count={props.seq.steps.length}
                  day={days()[i()] ?? 1}
                  readOnly={props.readOnly}
                  onApply={props.onApply}
                  canMoveUp={canMove(i(), -1)}
                  canMoveDown={canMove(i(), 1)}
                  onMove={(dir) => move(i(), dir)}
                  moving={reorder.pending()}
                  onDelete={async () => apply(await remove.run(props.seq.id, step.id))}
                  deleting={remove.inFlight().some(([, stepId]) => stepId === step.id)}
                  lastOn={props.seq.active && step.enabled && props.seq.steps.filter((s) => s.enabled).length === 1}
                />
              </li>
            )}
          </For>
        </ol>
        <Show when={!props.readOnly}>
          <button type="button" class="add-step" onClick={() => setAdding(true)}>
            <Icon name="plus" size={16} /> Add step
          </button>
        </Show>
      </Show>
      <AddStepDialog
        open={adding()}
        sequenceId={props.seq.id}
        stepCount={props.seq.steps.length}
        onClose={() => setAdding(false)}
        onApply={props.onApply}
      />
    </div>
  );
}
