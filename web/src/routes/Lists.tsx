import { A, createAsync, useNavigate, useSearchParams } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { useWrite, type Write } from "../actions";
import type { ContactList } from "../api";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Dialog } from "../components/Dialog";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { DataTable } from "../components/DataTable";
import { FieldError } from "../components/FieldError";
import { notify } from "../components/Toast";
import { FormProblems } from "../forms";
import { formatDate, formatDateTime, formatNumber, plural } from "../format";
import { createListAction, deleteListAction, getListsPage, renameListAction } from "../queries/lists";
import { usePageTitle } from "../title";
import { SearchField } from "../components/SearchField";
import { SequencePicker } from "./people/SequencePicker";
import { handOffLists } from "./add-contacts/state";

/** Create or rename: one name field, its error under it. */
function NameDialog(props: {
  open: boolean;
  title: string;
  initial: string;
  submit: string;
  onClose: () => void;
  write: Pick<Write<never[], unknown>, "pending" | "errors">;
  onSave: (name: string) => Promise<unknown>;
}) {
  const [name, setName] = createSignal(props.initial);
  const [missing, setMissing] = createSignal(false);
  const form = props.write.errors;
  const busy = props.write.pending;
  const save = async (e: Event) => {
    e.preventDefault();
    setMissing(!name().trim());
    if (!name().trim()) return;
    await props.onSave(name().trim());
    if (!form.error()) props.onClose();
  };
  return (
    <Dialog open={props.open} title={props.title} onClose={props.onClose} testId="list-name-dialog">
      <form id="list-name-form" onSubmit={save} novalidate>
        <label class="field">
          <span class="field-label">Name</span>
          <input
            class="input"
            name="name"
            value={props.initial}
            maxlength={120}
            onInput={(e) => setName(e.currentTarget.value)}
            aria-invalid={missing() || form.invalid("name")}
            aria-describedby="list-name-error"
          />
        </label>
        <FieldError id="list-name-error" form={form} name="name" message={missing() ? "Give the list a name" : undefined} />
        <FormProblems form={form} />
        <div class="dialog-actions">
          <button type="button" class="btn btn-ghost" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" disabled={busy()}>
            {props.submit}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export default function Lists() {
  usePageTitle("Lists");
  const [params, setParams] = useSearchParams();
  // The page lives in the URL (?page=), as on every other paged list.
  const page = () => Math.max(1, Number.parseInt(String(params.page ?? "1"), 10) || 1);
  const q = () => (typeof params.q === "string" ? params.q : "");
  const lists = createAsync(() => getListsPage({ page: page(), per_page: 25, q: q() || undefined }));
  const [creating, setCreating] = createSignal(false);
  const [renaming, setRenaming] = createSignal<ContactList | null>(null);
  const [deleting, setDeleting] = createSignal<ContactList | null>(null);
  // The list whose contacts are being added to a sequence: the picker, then that sequence's add flow with the list picked.
  const [adding, setAdding] = createSignal<ContactList | null>(null);
  const navigate = useNavigate();
  const create = useWrite(createListAction, { form: "list-name-form", done: (_, name) => `List “${name}” created` });
  const rename = useWrite(renameListAction, { form: "list-name-form", done: (_, __, name) => `Renamed to “${name}”` });
  const remove = useWrite(deleteListAction, { failed: () => "Couldn't delete the list" });
  return (
    <div class="page">
      <PageHeader
        title="Lists"
        description="Saved sets of contacts. Add a whole list to a sequence in one step."
        actions={
          <button type="button" class="btn btn-primary" onClick={() => setCreating(true)} data-testid="new-list">
            <Icon name="plus" size={16} /> New list
          </button>
        }
      />
      <div class="toolbar" role="search">
        <SearchField
          id="list-search"
          label="Search lists"
          placeholder="Search lists"
          maxLength={120}
          value={q()}
          onSearch={(v) => setParams({ q: v.trim() || undefined, page: undefined }, { replace: true })}
        />
      </div>
      <DataTable
        caption="Lists"
        testId="lists-table"
        loading="Loading lists…"
        columns={[{ label: "Name" }, { label: "Contacts", class: "num" }, { label: "Created" }, { label: "Actions", srOnly: true }]}
        rows={lists()?.lists}
        pagination={lists()?.pagination}
        empty={
          <EmptyState icon="lists" title={q() ? `No list matches “${q()}”` : "No lists yet"}>
            Lists group contacts you want to work together, like “Q3 fintech CTOs”. Create one here, or add contacts to a list from
            Contacts.
          </EmptyState>
        }
      >
        {(l) => (
          <>
            <td class="cell-strong">
              <A href={`/contacts?list_id=${l.id}`}>{l.name}</A>
            </td>
            <td class="num tabular">{formatNumber(l.contact_count)}</td>
            <td>
              <time datetime={new Date(l.created_at).toISOString()} title={formatDateTime(l.created_at)}>
                {formatDate(l.created_at)}
              </time>
            </td>
            <td class="cell-nowrap">
              <button
                type="button"
                class="btn btn-ghost btn-sm"
                onClick={() => setAdding(l)}
                disabled={l.contact_count === 0}
                aria-label={`Add ${l.name} to a sequence`}
              >
                Add to sequence
              </button>
              <Show when={l.can_manage} fallback={<span class="muted small">Its creator or an admin can rename or delete it</span>}>
                <button type="button" class="btn btn-ghost btn-sm" onClick={() => setRenaming(l)} aria-label={`Rename ${l.name}`}>
                  Rename
                </button>
                <button type="button" class="btn btn-ghost btn-sm" onClick={() => setDeleting(l)} aria-label={`Delete ${l.name}`}>
                  Delete
                </button>
              </Show>
            </td>
          </>
        )}
      </DataTable>
      {/* Mounted per opening: a dialog kept mounted kept the last name typed (or cancelled) and
          created a list under a name no longer in the field. */}
      <Show when={creating()}>
        <NameDialog
          open
          title="New list"
          initial=""
          submit="Create list"
          onClose={() => {
            create.clear();
            setCreating(false);
          }}
          write={create}
          onSave={(name) => create.run(name)}
        />
      </Show>
      <Show when={renaming()}>
        {(l) => (
          <NameDialog
            open
            title={`Rename “${l().name}”`}
            initial={l().name}
            submit="Rename"
            onClose={() => {
              rename.clear();
              setRenaming(null);
            }}
            write={rename}
            onSave={(name) => rename.run(l().id, name)}
          />
        )}
      </Show>
      <SequencePicker
        open={!!adding()}
        title={`Add “${adding()?.name ?? ""}” (${plural(adding()?.contact_count ?? 0, "contact")}) to a sequence`}
        onClose={() => setAdding(null)}
        onPick={(s) => {
          const l = adding();
          setAdding(null);
          if (!l) return;
          handOffLists([l.id], s.id);
          navigate(`/sequences/${s.id}/add?step=options`);
        }}
      />
      <ConfirmDialog
        open={!!deleting()}
        title={`Delete “${deleting()?.name ?? ""}”?`}
        confirmLabel="Delete list"
        danger
        onConfirm={async () => {
          const l = deleting();
          setDeleting(null);
          if (!l) return;
          await remove.run(l.id);
          if (!remove.errors.error()) notify(`List “${l.name}” deleted; its contacts stay`);
        }}
        onCancel={() => setDeleting(null)}
      >
        The list goes; its {formatNumber(deleting()?.contact_count ?? 0)} contacts stay in Contacts.
      </ConfirmDialog>
    </div>
  );
}
