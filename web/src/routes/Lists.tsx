import { A, createAsync, revalidate, useSearchParams } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import { createList, deleteList, renameList, type ContactList } from "../api";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Dialog } from "../components/Dialog";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { errorMessage, TableSkeleton } from "../components/Status";
import { FieldError } from "../components/FieldError";
import { notify } from "../components/Toast";
import { createFormErrors, FormProblems } from "../forms";
import { formatDate, formatDateTime, formatNumber } from "../format";
import { getLists, getListsPage } from "../queries/lists";
import { usePageTitle } from "../title";

/** Create or rename: one name field, its error under it. */
function NameDialog(props: { open: boolean; title: string; initial: string; submit: string; onClose: () => void; onSave: (name: string) => Promise<void> }) {
  const [name, setName] = createSignal(props.initial);
  const [missing, setMissing] = createSignal(false);
  const form = createFormErrors();
  const [busy, setBusy] = createSignal(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setMissing(!name().trim());
    if (!name().trim()) return;
    setBusy(true);
    form.clear();
    try {
      await props.onSave(name().trim());
      props.onClose();
    } catch (err) {
      form.set(err);
      form.focusFirst("list-name-form");
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={props.open} title={props.title} onClose={props.onClose} testId="list-name-dialog">
      <form id="list-name-form" onSubmit={save} novalidate>
        <label class="field">
          <span class="field-label">Name</span>
          <input class="input" name="name" value={props.initial} maxlength={120} onInput={(e) => setName(e.currentTarget.value)} aria-invalid={missing() || form.invalid("name")} aria-describedby="list-name-error" />
        </label>
        <FieldError id="list-name-error" form={form} name="name" message={missing() ? "Give the list a name" : undefined} />
        <FormProblems form={form} />
        <div class="dialog-actions">
          <button type="button" class="btn btn-ghost" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="btn btn-primary" disabled={busy()}>{props.submit}</button>
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
  const refresh = () => revalidate([getListsPage.key, getLists.key]);
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
        <div class="search-field">
          <Icon name="search" size={16} />
          <label for="list-search" class="sr-only">Search lists</label>
          <input id="list-search" type="search" placeholder="Search lists" maxlength={120} value={q()} onInput={(e) => setParams({ q: e.currentTarget.value.trim() || undefined, page: undefined }, { replace: true })} />
        </div>
      </div>
      <Suspense fallback={<TableSkeleton columns={4} rows={5} label="Loading lists…" />}>
        <Show when={lists()}>
          {(r) => (
            <Show
              when={r().pagination.total_entries > 0}
              fallback={
                <EmptyState icon="lists" title={q() ? `No list matches “${q()}”` : "No lists yet"}>
                  Lists group contacts you want to work together, like “Q3 fintech CTOs”. Create one here, or add contacts to a list from Contacts.
                </EmptyState>
              }
            >
              <div class="table-card">
                <div class="table-wrap">
                  <table class="table" data-testid="lists-table">
                    <caption class="sr-only">Lists</caption>
                    <thead>
                      <tr>
                        <th scope="col">Name</th>
                        <th scope="col" class="num">Contacts</th>
                        <th scope="col">Created</th>
                        <th scope="col"><span class="sr-only">Actions</span></th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={r().lists}>
                        {(l) => (
                          <tr>
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
                              <button type="button" class="btn btn-ghost btn-sm" onClick={() => setRenaming(l)} aria-label={`Rename ${l.name}`}>Rename</button>
                              <button type="button" class="btn btn-ghost btn-sm" onClick={() => setDeleting(l)} aria-label={`Delete ${l.name}`}>Delete</button>
                            </td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
                <Pagination meta={r().pagination} />
              </div>
            </Show>
          )}
        </Show>
      </Suspense>
      <NameDialog
        open={creating()}
        title="New list"
        initial=""
        submit="Create list"
        onClose={() => setCreating(false)}
        onSave={async (name) => {
          await createList(name);
          notify(`List “${name}” created`);
          await refresh();
        }}
      />
      <Show when={renaming()}>
        {(l) => (
          <NameDialog
            open
            title={`Rename “${l().name}”`}
            initial={l().name}
            submit="Rename"
            onClose={() => setRenaming(null)}
            onSave={async (name) => {
              await renameList(l().id, name);
              notify(`Renamed to “${name}”`);
              await refresh();
            }}
          />
        )}
      </Show>
      <ConfirmDialog
        open={!!deleting()}
        title={`Delete “${deleting()?.name ?? ""}”?`}
        confirmLabel="Delete list"
        danger
        onConfirm={async () => {
          const l = deleting();
          setDeleting(null);
          if (!l) return;
          try {
            await deleteList(l.id);
            notify(`List “${l.name}” deleted; its contacts stay`);
            await refresh();
          } catch (err) {
            notify(errorMessage(err), "danger");
          }
        }}
        onCancel={() => setDeleting(null)}
      >
        The list goes; its {formatNumber(deleting()?.contact_count ?? 0)} contacts stay in Contacts.
      </ConfirmDialog>
    </div>
  );
}
