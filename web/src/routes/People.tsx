import { useNavigate } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { PageHeader } from "../components/PageHeader";
import { formatNumber, plural } from "../format";
import { usePageTitle } from "../title";
import { PeopleSearch } from "./add-contacts/PeopleSearch";
import { createWizard, handOffSelection, pickedIds } from "./add-contacts/state";
import { SequencePicker } from "./people/SequencePicker";

/**
 * People: the Prospect Searcher outside any sequence. Filter, check people (or every result), then
 * "Add to sequence": pick the sequence and continue in its add-contacts flow with them picked, so
 * the same checks, warnings, credits and mailboxes apply.
 */
export default function People() {
  usePageTitle("People");
  const navigate = useNavigate();
  const [w, setW] = createWizard();
  const [picking, setPicking] = createSignal(false);
  const count = () => (w.allResults ? w.searchTotal : pickedIds(w).length);
  return (
    <div class="page">
      <PageHeader
        title="People"
        description="Search the prospect database by title, keywords, company and more. Net-new people cost a credit when they are saved with a verified email."
        actions={
          <button type="button" class="btn btn-primary" disabled={count() === 0} onClick={() => setPicking(true)} data-testid="people-add-to-sequence">
            Add to sequence
            <Show when={count() > 0}> ({formatNumber(count())})</Show>
          </button>
        }
      />
      <p class="muted small" aria-live="polite" data-testid="people-selection">
        {count() === 0 ? "Check people to add them to a sequence." : `${plural(count(), "person", "people")} selected.`}
      </p>
      <PeopleSearch w={w} setW={setW} />
      <SequencePicker
        open={picking()}
        title={`Add ${plural(count(), "person", "people")} to a sequence`}
        onClose={() => setPicking(false)}
        onPick={(s) => {
          handOffSelection(w, s.id);
          setPicking(false);
          navigate(`/sequences/${s.id}/add?step=options`);
        }}
      />
    </div>
  );
}
