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
              {plural(p().contacts, "contact")} {p().contacts === 1 ? "moves" : "move"} to Do Not Contact.{" "}
              {p().runs_ending === 0
                ? p().contacts === 1
                  ? "They are in no sequence now."
                  : "None of them is in a sequence now."
                : `${plural(p().runs_ending, "open sequence run")} ${p().runs_ending === 1 ? "ends" : "end"}, of ${plural(p().contacts_with_runs, "contact")}${
                    p().other_contacts > 0
                      ? ` (${p().other_contacts === 1 ? "1 is another contact" : `${p().other_contacts} are other contacts`} with the same email address)`
                      : ""
                  }.`}{" "}
              No sequence emails them while they are in this stage.
            </>
          )}
        </Match>
      </Switch>
    </span>
  );
}
