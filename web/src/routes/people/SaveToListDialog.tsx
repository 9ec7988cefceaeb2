import { A, createAsync } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { useWrite } from "../../actions";
import { Dialog } from "../../components/Dialog";
import { FieldError } from "../../components/FieldError";
import { formatNumber, plural } from "../../format";
import { FormProblems } from "../../forms";
import { getLists } from "../../queries/lists";
import { Options } from "../../components/Options";
import { savePeopleToListAction, type SaveToListResult } from "../../queries/people";
import { getMe } from "../../queries/session";
import type { Person } from "../../api";
import "./SaveToListDialog.css";

const SKIP_WORDS: Record<string, string> = {
  suppressed: "on the suppression list",
  not_found: "no longer in the database",
  insufficient_credits: "not enough credits left to reveal their email",
};

/**
 * "Save to list" from People, without a sequence: pick one of the team's lists or name a new one.
 * Net-new people become contacts (a credit each for a verified email, charged once); people already
 * saved join as their contact at no charge. Before saving it says the most it can cost and the balance;
 * the answer says what happened to each, with the reasons.
 */
export function SaveToListDialog(props: { open: boolean; people: Person[]; onClose: () => void; onSaved?: () => void }) {
  const lists = createAsync(() => (props.open ? getLists() : Promise.resolve(undefined)));
  const me = createAsync(() => getMe());
  // The most the save can cost, as the search showed the people: someone saved since (or sharing an
  // address with another of them) costs nothing, so it is an upper bound, as the API's hold is.
  const maximum = () => props.people.filter((p) => !p.contact_id && p.email_status === "verified").length;
  const [mode, setMode] = createSignal<"existing" | "new">("new");
  const [listId, setListId] = createSignal("");
  const [name, setName] = createSignal("");
  const [result, setResult] = createSignal<SaveToListResult>();
  const save = useWrite(savePeopleToListAction, { form: "save-to-list-form" });
  const close = () => {
    setResult(undefined);
    props.onClose();
  };
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const target = mode() === "existing" ? { list_id: listId() } : { list_name: name().trim() };
    const r = await save.run(
      props.people.map((p) => p.id),
      target,
    );
    if (r) {
      setResult(r);
      props.onSaved?.();
    }
  };
  const skippedBy = (r: SaveToListResult) => {
    const counts = new Map<string, number>();
    for (const s of r.skipped) for (const why of s.reasons) counts.set(why, (counts.get(why) ?? 0) + 1);
    return [...counts];
  };
  return (
    <Dialog
      open={props.open}
      title={`Save ${plural(props.people.length, "person", "people")} to a list`}
      onClose={close}
      testId="save-to-list"
    >
      <Show
        when={result()}
        fallback={
          <form id="save-to-list-form" class="save-to-list" onSubmit={submit} novalidate>
            <fieldset class="field">
              <legend>List</legend>
              <label class="radio">
                <input
                  type="radio"
                  name="save-list-mode"
                  checked={mode() === "new"}
                  onChange={() => setMode("new")}
                  data-testid="save-list-new"
                />{" "}
                A new list
              </label>
              <label class="radio">
                <input
                  type="radio"
                  name="save-list-mode"
                  checked={mode() === "existing"}
                  onChange={() => setMode("existing")}
                  data-testid="save-list-existing"
                />{" "}
                One of your lists
              </label>
            </fieldset>
            <Show
              when={mode() === "existing"}
              fallback={
                <div class="field">
                  <label for="save-list-name">New list's name</label>
                  <input
                    id="save-list-name"
                    class="input"
                    value={name()}
                    onInput={(e) => setName(e.currentTarget.value)}
                    maxLength={120}
                    aria-invalid={save.errors.invalid("list_name")}
                    data-testid="save-list-name"
                  />
                  <FieldError id="save-list-name-error" form={save.errors} name="list_name" />
                </div>
              }
            >
              <div class="field">
                <label for="save-list-id">List</label>
                <select
                  id="save-list-id"
                  value={listId()}
                  onChange={(e) => setListId(e.currentTarget.value)}
                  data-testid="save-list-select"
                >
                  <option value="">Choose a list…</option>
                  <Options each={lists()?.lists} value={listId()} id={(l) => l.id}>
                    {(l) => `${l.name} (${formatNumber(l.contact_count)})`}
                  </Options>
                </select>
                <FieldError id="save-list-id-error" form={save.errors} name="list_id" />
              </div>
            </Show>
            <p class="muted small">
              Net-new people with a verified email cost 1 credit each, charged once. People you already saved join the list at no charge.
            </p>
            <p data-testid="save-to-list-cost">
              <Show when={maximum() > 0} fallback="No credits: none of these people is net-new with a verified email">
                Up to <strong>{plural(maximum(), "credit")}</strong> (net-new people with a verified email)
              </Show>
              <Show when={me()}>{(m) => <>; your balance is {formatNumber(m().team.credit_balance)}</>}</Show>.
            </p>
            <Show when={me() && maximum() > me()!.team.credit_balance}>
              <p class="field-help" role="alert" data-testid="save-to-list-short">
                That is more than your balance: the save would be refused. Uncheck some net-new people, or buy credits.
              </p>
            </Show>
            <FormProblems form={save.errors} />
            <div class="dialog-actions">
              <button type="button" class="btn" onClick={close}>
                Cancel
              </button>
              <button
                type="submit"
                class="btn btn-primary"
                disabled={save.pending() || (mode() === "existing" ? !listId() : !name().trim())}
                data-testid="save-list-submit"
              >
                {save.pending() ? "Saving…" : "Save to list"}
              </button>
            </div>
          </form>
        }
      >
        {(r) => (
          <div class="save-to-list-result" data-testid="save-to-list-result" role="status">
            <p>
              <strong>{plural(r().saved, "person", "people")} saved</strong> as new contacts
              <Show when={r().already_saved > 0}>, {formatNumber(r().already_saved)} already saved</Show> in{" "}
              <A href={`/contacts?list_id=${r().list.id}`}>{r().list.name}</A>. {plural(r().credits_charged, "credit")} charged.
            </p>
            <Show when={r().skipped.length > 0}>
              <p data-testid="save-to-list-skipped">
                {formatNumber(r().skipped.length)} skipped:{" "}
                {skippedBy(r())
                  .map(([why, n]) => `${formatNumber(n)} ${SKIP_WORDS[why] ?? why}`)
                  .join(", ")}
                .
              </p>
            </Show>
            <div class="dialog-actions">
              <button type="button" class="btn btn-primary" onClick={close}>
                Done
              </button>
            </div>
          </div>
        )}
      </Show>
    </Dialog>
  );
}
