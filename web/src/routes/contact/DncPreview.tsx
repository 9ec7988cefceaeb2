import { createResource, Match, Switch, type Resource } from "solid-js";
import { previewContactStage } from "../../api";
import { errorMessage } from "../../components/Status";
import { plural } from "../../format";

export type DncPreview = Awaited<ReturnType<typeof previewContactStage>>;

/**
 * What moving these contacts to the Do Not Contact stage would do, read before the click (POST
 * /contacts/stage/preview, which writes nothing): read again whenever the contacts or the stage change.
 */
export function useDncPreview(source: () => { ids: string[]; stageId: string } | null | undefined): Resource<DncPreview> {
  const [preview] = createResource(
    () => source() ?? false,
    (s) => previewContactStage(s.ids, s.stageId),
  );
  return preview;
}

/**
 * The runs that end, and whose, in plain words for one and for many: "Their open sequence run ends." of the one
 * contact chosen, "3 open sequence runs end, across 2 contacts." of several.
 */
function runsWords(p: DncPreview): string {
  const n = p.runs_ending;
  if (n === 0) return p.contacts === 1 ? "They are in no sequence now." : "None of them is in a sequence now.";
  const runs = n === 1 ? "1 open sequence run ends" : `${n.toLocaleString("en-US")} open sequence runs end`;
  const others = p.other_contacts;
  if (p.contacts_with_runs === 1) {
    if (others === 1) return `${runs}, for another contact with the same email address.`;
    if (p.contacts === 1) return n === 1 ? "Their open sequence run ends." : `Their ${n.toLocaleString("en-US")} open sequence runs end.`;
    return `${runs}, for one of them.`;
  }
  const twins =
    others === 0
      ? ""
      : others === 1
        ? " (1 is another contact with the same email address)"
        : ` (${others} are other contacts with the same email address)`;
  return `${runs}, across ${p.contacts_with_runs.toLocaleString("en-US")} contacts${twins}.`;
}

/** The preview in words: how many contacts move, how many open runs end and whose; or why the move is refused. */
export function DncPreviewWords(props: { preview: Resource<DncPreview> }) {
  return (
    <span data-testid="dnc-preview" aria-live="polite">
      <Switch>
        <Match when={props.preview.error}>{(e) => <span class="text-danger">{errorMessage(e())}</span>}</Match>
        <Match when={props.preview.loading}>Counting their open sequence runs…</Match>
        <Match when={props.preview()}>
          {(p) => (
            <>
              {plural(p().contacts, "contact")} {p().contacts === 1 ? "moves" : "move"} to Do Not Contact. {runsWords(p())} No sequence
              emails them while they are in this stage.
            </>
          )}
        </Match>
      </Switch>
    </span>
  );
}
