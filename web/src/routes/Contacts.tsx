import { A, createAsync, useIsRouting, useNavigate, useSearchParams } from "@solidjs/router";
import { createEffect, createSignal, For, on, Show, Suspense } from "solid-js";
import { useWrite } from "../actions";
import { fetchContactIds, type Contact, type ContactsBulk } from "../api";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { notify } from "../components/Toast";
import { bulkContactsAction, getContacts, getContactStages, removeFromListAction } from "../queries/contacts";
import { getUsersWithDisabled, userLabel } from "../queries/users";
import { getLists } from "../queries/lists";
import { handOffContacts } from "./add-contacts/state";
import { SequencePicker } from "./people/SequencePicker";
import { Badge } from "../components/Badge";
import { EmailStatusBadge } from "../components/EmailStatus";
import { EmptyState } from "../components/EmptyState";
import { PageHeader } from "../components/PageHeader";
import { DataTable } from "../components/DataTable";
import { Score } from "../components/Score";
import { errorMessage } from "../components/Status";
import { formatDate, formatNumber, plural } from "../format";
import { usePageTitle } from "../title";
import { SearchField } from "../components/SearchField";
import { NewContactDialog } from "./contact/NewContactDialog";
import { DncPreviewWords, useDncPreview } from "./contact/DncPreview";
import { Options } from "../components/Options";

const PER_PAGE_OPTIONS = [25, 50, 100];
/** GET /contacts/export's limit (MAX_CONTACT_EXPORT in the worker). */
const MAX_EXPORT = 100_000;
const SORTS = [
  { value: "created_at", label: "Newest first" },
  { value: "name", label: "Name (A–Z)" },
  { value: "score", label: "Highest score" },
] as const;
type Sort = (typeof SORTS)[number]["value"];

const intParam = (v: string | string[] | undefined, fallback: number) => {
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

/** Why a contact won't be emailed (unsubscribed, bounced) or needs a look (changed jobs). */
function ContactFlags(props: { contact: Contact }) {
  const c = () => props.contact;
  return (
    <>
      <Show when={c().unsubscribed_at}>
        {(at) => (
          <Badge tone="danger" title={`Unsubscribed ${formatDate(at())}: never emailed again`}>
            Unsubscribed
          </Badge>
        )}
      </Show>
      <Show when={c().bounced_at}>
        {(at) => (
          <Badge tone="danger" title={`Hard bounce ${formatDate(at())}: never emailed again`}>
            Bounced
          </Badge>
        )}
      </Show>
      {/* Any recorded change counts for a saved contact, as the add-contacts check counts it. */}
      <Show when={c().job_changed_at !== null}>
        <Badge tone="warning" title={`Changed jobs ${formatDate(c().job_changed_at!)}: check the new company and title`}>
          Job change
        </Badge>
      </Show>
    </>
  );
}

export default function Contacts() {
  usePageTitle("Contacts");
  const [params, setParams] = useSearchParams();
  const routing = useIsRouting();

  // The URL is the state: page, search and sort survive reloads and the back button.
  const page = () => intParam(params.page, 1);
  const perPage = () => {
    const n = intParam(params.per_page, 25);
    return PER_PAGE_OPTIONS.includes(n) ? n : 25;
  };
  const q = () => (typeof params.q === "string" ? params.q : "");
  const sort = (): Sort => (SORTS.some((s) => s.value === params.sort) ? (params.sort as Sort) : "created_at");

  // A list's members: the list's page is this one, filtered (?list_id=).
  const listId = () => (typeof params.list_id === "string" ? params.list_id : undefined);
  // Filters by stage and owner (?stage_id=, ?owner_id=; "me" is the signed-in user's own, "none" nobody's).
  const stageId = () => (typeof params.stage_id === "string" && params.stage_id ? params.stage_id : undefined);
  const ownerId = () => (typeof params.owner_id === "string" && params.owner_id ? params.owner_id : undefined);
  const filters = () => ({ q: q() || undefined, list_id: listId(), stage_id: stageId(), owner_id: ownerId() });
  const filtered = () => !!(q() || stageId() || ownerId());
  // The CSV of exactly what the table shows (its search, filters and list), every page of it.
  const exportHref = () =>
    `/api/contacts/export?${new URLSearchParams(Object.entries(filters()).filter((e): e is [string, string] => !!e[1])).toString()}`;
  const result = createAsync(() => getContacts({ page: page(), per_page: perPage(), sort: sort(), ...filters() }));

  // Selection: contacts checked on this page (kept across pages until cleared).
  const navigate = useNavigate();
  const [selected, setSelected] = createSignal<Set<string>>(new Set());
  const toggle = (id: string, on: boolean) =>
    setSelected((s) => {
      const n = new Set(s);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });
  // Another search, filter or list shows other contacts: a selection kept across it would act on ones no longer shown.
  createEffect(
    on(
      () => JSON.stringify(filters()),
      () => setSelected(new Set<string>()),
      { defer: true },
    ),
  );
  const pageIds = () => result()?.contacts.map((c) => c.id) ?? [];
  const allOnPage = () => pageIds().length > 0 && pageIds().every((id) => selected().has(id));
  const [picking, setPicking] = createSignal(false);
  const [confirmDelete, setConfirmDelete] = createSignal(false);
  // The Do Not Contact stage picked for the selection, waiting for its confirmation.
  const [dncStage, setDncStage] = createSignal<string | null>(null);
  // What it would do, counted before the click: the contacts, and the open runs it ends.
  const dncPreview = useDncPreview(() => {
    const id = dncStage();
    return id ? { ids: [...selected()], stageId: id } : null;
  });
  const [selecting, setSelecting] = createSignal(false);
  const [creating, setCreating] = createSignal(false);
  const bulk = useWrite(bulkContactsAction, { failed: () => "Couldn't change the contacts" });
  const removal = useWrite(removeFromListAction, { failed: () => "Couldn't remove them from the list" });
  const busy = () => selecting() || bulk.pending() || removal.pending();
  // The owner filter offers disabled users too (their contacts stay, to be found and handed over); giving
  // contacts to someone offers the active ones only.
  const users = createAsync(() => getUsersWithDisabled().catch(() => undefined));
  const activeUsers = () => users()?.filter((u) => u.status !== "disabled") ?? [];
  const stages = createAsync(() => getContactStages().catch(() => undefined));
  const lists = createAsync(() => getLists().catch(() => undefined));
  const listName = () => lists()?.lists.find((l) => l.id === listId())?.name;
  const selectAllMatching = async () => {
    setSelecting(true);
    try {
      const r = await fetchContactIds(filters());
      setSelected(new Set(r.ids));
      if (r.too_many)
        notify(
          // The API picks them by contact id, not in this page's sort: "the first N" on screen would be untrue.
          `${formatNumber(r.ids.length)} of ${formatNumber(r.total)} are selected (not the first ${formatNumber(r.ids.length)} in this order): one action takes at most ${formatNumber(r.ids.length)}`,
          "info",
        );
    } catch (e) {
      notify(errorMessage(e), "danger");
    } finally {
      setSelecting(false);
    }
  };
  const removeSelected = async () => {
    const id = listId();
    if (!id) return;
    const r = await removal.run(id, [...selected()]);
    if (!r) return;
    notify(`${formatNumber(r.removed)} removed from the list`);
    setSelected(new Set<string>());
  };
  const run = async (body: { action: ContactsBulk["action"]; list_id?: string; owner_id?: string; stage_id?: string }, done: string) => {
    const r = await bulk.run({ ...body, contact_ids: [...selected()] } as ContactsBulk);
    if (!r) return;
    const refused = r.refused.length ? ` ${r.refused.length} refused: ${r.refused[0]!.message}` : "";
    const already = r.already_in_list ? ` ${formatNumber(r.already_in_list)} already in it.` : "";
    const ended = r.runs_ended ? ` The open sequence runs of ${plural(r.runs_ended, "contact")} ended.` : "";
    notify(`${formatNumber(r.updated)} ${done}.${already}${ended}${refused}`, r.refused.length ? "danger" : "success");
    setSelected(new Set<string>());
  };

  return (
    <div class="page">
      <Show when={listId()}>
        <p class="muted small" data-testid="list-filter">
          Members of the list <strong>{listName() ?? "…"}</strong> · <A href="/contacts">All contacts</A> · <A href="/lists">All lists</A>
        </p>
      </Show>
      <PageHeader
        title={listId() ? (listName() ?? "List") : "Contacts"}
        description={
          <Suspense fallback="People your team has saved.">
            <Show when={result()}>
              {(r) => (
                <>
                  {formatNumber(r().pagination.total_entries)} {r().pagination.total_entries === 1 ? "contact" : "contacts"}{" "}
                  {listId()
                    ? filtered()
                      ? "in this list match the search and filters."
                      : "in this list."
                    : filtered()
                      ? "match the search and filters."
                      : "saved by your team."}
                </>
              )}
            </Show>
          </Suspense>
        }
        actions={
          <>
            {/* The API refuses more than MAX_EXPORT up front: the button says so instead of a failed download. */}
            <Show
              when={(result()?.pagination.total_entries ?? 0) > MAX_EXPORT}
              fallback={
                <a class="btn btn-secondary" href={exportHref()} download="" data-testid="contacts-export">
                  Export CSV
                </a>
              }
            >
              <button
                type="button"
                class="btn btn-secondary"
                disabled
                title={`An export takes at most ${formatNumber(MAX_EXPORT)} contacts: narrow the search or filters`}
                data-testid="contacts-export"
              >
                Export CSV
              </button>
            </Show>
            <button type="button" class="btn btn-primary" onClick={() => setCreating(true)} data-testid="new-contact">
              New contact
            </button>
          </>
        }
      />
      <Show when={creating()}>
        <NewContactDialog listId={listId()} onClose={() => setCreating(false)} />
      </Show>

      <div class="toolbar" role="search">
        <SearchField
          id="contact-search"
          label="Search contacts"
          placeholder="Search name, email or company"
          maxLength={200}
          value={q()}
          onSearch={(v) => setParams({ q: v.trim() || undefined, page: undefined }, { replace: true })}
        />
        <label class="inline-select">
          <span>Stage</span>
          <select
            value={stageId() ?? ""}
            onChange={(e) => setParams({ stage_id: e.currentTarget.value || undefined, page: undefined })}
            data-testid="filter-stage"
          >
            <option value="">Any stage</option>
            <Options each={stages()?.contact_stages} value={stageId()} id={(s) => s.id}>
              {(s) => s.name}
            </Options>
          </select>
        </label>
        <label class="inline-select">
          <span>Owner</span>
          <select
            value={ownerId() ?? ""}
            onChange={(e) => setParams({ owner_id: e.currentTarget.value || undefined, page: undefined })}
            data-testid="filter-owner"
          >
            <option value="">Anyone</option>
            <option value="me">Me</option>
            <option value="none">Nobody</option>
            <Options each={users()} value={ownerId()} id={(u) => u.id}>
              {(u) => userLabel(u)}
            </Options>
          </select>
        </label>
        <Show when={stageId() || ownerId()}>
          <button
            type="button"
            class="btn btn-ghost btn-sm"
            onClick={() => setParams({ stage_id: undefined, owner_id: undefined, page: undefined })}
            data-testid="filter-clear"
          >
            Clear filters
          </button>
        </Show>
        <div class="toolbar-right">
          <Show when={routing()}>
            <span class="toolbar-busy" role="status">
              <span class="spinner" aria-hidden="true" /> <span class="sr-only">Loading</span>
            </span>
          </Show>
          <label class="inline-select">
            <span>Sort</span>
            <select
              value={sort()}
              onChange={(e) =>
                setParams({ sort: e.currentTarget.value === "created_at" ? undefined : e.currentTarget.value, page: undefined })
              }
            >
              <For each={SORTS}>{(s) => <option value={s.value}>{s.label}</option>}</For>
            </select>
          </label>
          <label class="inline-select">
            <span>Per page</span>
            <select
              value={perPage()}
              onChange={(e) => setParams({ per_page: e.currentTarget.value === "25" ? undefined : e.currentTarget.value, page: undefined })}
            >
              <For each={PER_PAGE_OPTIONS}>{(n) => <option value={n}>{n}</option>}</For>
            </select>
          </label>
        </div>
      </div>

      <Show when={selected().size > 0}>
        <div class="toolbar bulk-bar" role="region" aria-label="Selected contacts" data-testid="contacts-bulk">
          <strong>{formatNumber(selected().size)} selected</strong>
          <Show when={allOnPage() && (result()?.pagination.total_entries ?? 0) > selected().size}>
            <button
              type="button"
              class="btn btn-ghost btn-sm"
              disabled={busy()}
              onClick={() => void selectAllMatching()}
              data-testid="select-all-matching"
            >
              Select all {formatNumber(result()?.pagination.total_entries ?? 0)} matching
            </button>
          </Show>
          <button type="button" class="btn btn-primary btn-sm" disabled={busy()} onClick={() => setPicking(true)}>
            Add to sequence
          </button>
          <BulkPick
            label="Add to list"
            placeholder="Choose…"
            testId="bulk-list"
            disabled={busy()}
            options={lists()?.lists ?? []}
            onPick={(id) => void run({ action: "add_to_list", list_id: id }, "added to the list")}
          />
          <BulkPick
            label="Owner"
            placeholder="Change…"
            testId="bulk-owner"
            disabled={busy()}
            options={activeUsers()}
            onPick={(id) => void run({ action: "change_owner", owner_id: id }, "reassigned")}
          />
          <BulkPick
            label="Stage"
            placeholder="Change…"
            testId="bulk-stage"
            disabled={busy()}
            options={stages()?.contact_stages ?? []}
            onPick={(id) =>
              // Do Not Contact ends their sequence runs: confirmed first, as a delete is.
              stages()?.contact_stages.find((st) => st.id === id)?.category === "dnc"
                ? setDncStage(id)
                : void run({ action: "change_stage", stage_id: id }, "moved")
            }
          />
          <Show when={listId()}>
            <button
              type="button"
              class="btn btn-secondary btn-sm"
              disabled={busy()}
              onClick={() => void removeSelected()}
              data-testid="bulk-remove-from-list"
            >
              Remove from list
            </button>
          </Show>
          <button type="button" class="btn btn-danger btn-sm" disabled={busy()} onClick={() => setConfirmDelete(true)}>
            Delete
          </button>
          <button type="button" class="btn btn-ghost btn-sm" onClick={() => setSelected(new Set<string>())}>
            Clear
          </button>
        </div>
      </Show>
      <SequencePicker
        open={picking()}
        title={`Add ${formatNumber(selected().size)} contacts to a sequence`}
        onClose={() => setPicking(false)}
        onPick={(s) => {
          handOffContacts([...selected()], s.id);
          setPicking(false);
          navigate(`/sequences/${s.id}/add?step=options`);
        }}
      />
      <ConfirmDialog
        open={confirmDelete()}
        title={`Delete ${formatNumber(selected().size)} contacts?`}
        confirmLabel="Delete"
        danger
        busy={busy()}
        onConfirm={() => {
          setConfirmDelete(false);
          void run({ action: "delete" }, "deleted");
        }}
        onCancel={() => setConfirmDelete(false)}
      >
        They leave every list and are never emailed again by any sequence.
      </ConfirmDialog>

      <ConfirmDialog
        open={!!dncStage()}
        title={`Move ${plural(selected().size, "contact")} to Do Not Contact?`}
        confirmLabel="Move to Do Not Contact"
        danger
        busy={busy()}
        // Refused (a run in a sequence the caller can't edit): the preview says so, and the move would be refused the same.
        confirmDisabled={!!dncPreview.error || dncPreview.loading}
        onConfirm={() => {
          const id = dncStage()!;
          setDncStage(null);
          void run({ action: "change_stage", stage_id: id }, "moved");
        }}
        onCancel={() => setDncStage(null)}
      >
        <DncPreviewWords preview={dncPreview} />
      </ConfirmDialog>

      <DataTable
        caption={`Contacts, page ${result()?.pagination.page ?? 1} of ${result()?.pagination.total_pages ?? 1}`}
        columns={[
          { label: "Name" },
          { label: "Title" },
          { label: "Company" },
          { label: "Email" },
          { label: "Stage" },
          { label: "Country" },
          { label: "Score", class: "num" },
        ]}
        rows={result()?.contacts}
        pagination={result()?.pagination}
        busy={routing()}
        loading="Loading contacts…"
        testId="contacts-table"
        select={{
          key: (c) => c.id,
          selected,
          toggle,
          label: (c) => `Select ${`${c.first_name} ${c.last_name}`.trim() || c.email || "contact"}`,
          pageLabel: "Select every contact on this page",
        }}
        empty={
          filtered() ? (
            <EmptyState icon="search" title={q() ? `No contacts match “${q()}”` : "No contacts match these filters"}>
              Try a shorter search, or another stage or owner.
            </EmptyState>
          ) : listId() ? (
            <EmptyState icon="contacts" title="No contacts in this list">
              Add contacts to it from this table (select them, then Add to list) or from People search.
            </EmptyState>
          ) : (
            <EmptyState icon="contacts" title="No contacts yet">
              Contacts appear here when your team saves people from search, imports a CSV, or adds them through the API.
            </EmptyState>
          )
        }
      >
        {(c) => (
          <>
            <td>
              <div class="person-name">
                <A href={`/contacts/${c.id}`} class="cell-strong">
                  {`${c.first_name} ${c.last_name}`.trim() || "(no name)"}
                </A>
                <ContactFlags contact={c} />
              </div>
            </td>
            <td class="cell-clip" title={c.title ?? undefined}>
              {c.title ?? <span class="muted">—</span>}
            </td>
            <td class="cell-clip" title={c.company ?? undefined}>
              {c.company ?? <span class="muted">—</span>}
            </td>
            <td>
              <div class="cell-email">
                <Show when={c.email} fallback={<span class="muted">No email</span>}>
                  <span class="email-text" title={c.email ?? undefined}>
                    {c.email}
                  </span>
                </Show>
                <EmailStatusBadge status={c.email_status} />
              </div>
            </td>
            <td class="cell-nowrap" data-testid="contact-stage">
              {stages()?.contact_stages.find((st) => st.id === c.stage_id)?.name ?? <span class="muted">—</span>}
            </td>
            <td class="cell-nowrap">{c.country ?? <span class="muted">—</span>}</td>
            <td class="num">
              <Score value={c.score} />
            </td>
          </>
        )}
      </DataTable>
    </div>
  );
}

/** A bulk-bar select that acts on the choice and goes back to its placeholder. */
function BulkPick(props: {
  label: string;
  placeholder: string;
  testId: string;
  disabled: boolean;
  options: { id: string; name: string }[];
  onPick: (id: string) => void;
}) {
  return (
    <label class="inline-select">
      <span>{props.label}</span>
      <select
        disabled={props.disabled}
        data-testid={props.testId}
        onChange={(e) => {
          const v = e.currentTarget.value;
          e.currentTarget.value = "";
          if (v) props.onPick(v);
        }}
      >
        <option value="">{props.placeholder}</option>
        <For each={props.options}>{(o) => <option value={o.id}>{o.name}</option>}</For>
      </select>
    </label>
  );
}
