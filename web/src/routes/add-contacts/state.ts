import { localInputToMs } from "../../format";
import { createStore, type SetStoreFunction } from "solid-js/store";
import type { AddContactsRequest, PeopleSort, Person, WarningOverrides } from "../../api";
import { emptyFilters, toApiFilters, type Filters } from "../../people-filters";

export const SORTS: { value: PeopleSort; label: string }[] = [
  { value: "score", label: "Highest score" },
  { value: "name", label: "Name (A–Z)" },
  { value: "company", label: "Company (A–Z)" },
  { value: "recent_job_change", label: "Recent job change" },
];

export type WizardStep = "source" | "options" | "review";

export type Wizard = {
  sourceTab: "search" | "lists" | "csv";
  filters: Filters;
  sort: PeopleSort;
  page: number;
  /** People ticked in the results, kept across pages and searches (id → row, for the summary). */
  picked: Record<string, Person>;
  /** "Select all N results of this search": the search itself is the source, not the ticked rows. */
  allResults: boolean;
  /** Total of the current search, for the summary while `allResults` is on. */
  searchTotal: number;
  listIds: string[];
  /** Saved contacts chosen on the Contacts page, a list or a contact's page. */
  contactIds: string[];
  /** An uploaded CSV whose contacts are saved (the "Upload CSV" tab). */
  importId: string | null;
  /** An ended job whose contacts not processed are added again (its page's "Retry"), with how many there were. */
  retryJobId: string | null;
  retryCount: number;
  mailboxMode: "all" | "pick";
  mailboxIds: string[];
  /** Over several mailboxes: most remaining capacity first, or an even split. */
  rotation: "capacity" | "even";
  skipValidation: boolean;
  enrich: boolean;
  /** One contact per company: skip those whose company already has someone in the sequence or earlier in this add. */
  skipSameCompany: boolean;
  when: "now" | "at";
  /** `<input type="datetime-local">` value, in the browser's zone. */
  addAt: string;
  overrides: WarningOverrides;
};

export function createWizard() {
  return createStore<Wizard>({
    sourceTab: "search",
    filters: emptyFilters(),
    sort: "score",
    page: 1,
    picked: {},
    allResults: false,
    searchTotal: 0,
    listIds: [],
    contactIds: [],
    importId: null,
    retryJobId: null,
    retryCount: 0,
    mailboxMode: "all",
    mailboxIds: [],
    rotation: "capacity",
    skipValidation: false,
    enrich: false,
    skipSameCompany: false,
    when: "now",
    addAt: "",
    overrides: {},
  });
}

export const pickedIds = (w: Wizard) => Object.keys(w.picked);

/** Something to add was chosen: people, a whole search or lists. */
export const hasSource = (w: Wizard) =>
  w.allResults || pickedIds(w).length > 0 || w.listIds.length > 0 || !!w.importId || w.contactIds.length > 0 || !!w.retryJobId;

/** The add-contacts request the wizard describes; the preview and the commit send exactly this. */
export function buildRequest(w: Wizard): AddContactsRequest {
  const ids = pickedIds(w);
  const source: AddContactsRequest["source"] = {};
  // Both may be set: people picked in an earlier search stay picked after "select all" of this one.
  if (w.allResults) source.search = toApiFilters(w.filters);
  if (ids.length) source.people_ids = ids;
  if (w.listIds.length) source.list_ids = [...w.listIds];
  if (w.importId) source.import_id = w.importId;
  if (w.contactIds.length) source.contact_ids = [...w.contactIds];
  if (w.retryJobId) source.not_processed_of_job = w.retryJobId;
  const req: AddContactsRequest = { source, skip_validation: w.skipValidation, enrich: w.enrich };
  if (w.mailboxMode === "pick" && w.mailboxIds.length) req.mailbox_ids = [...w.mailboxIds];
  if (w.rotation === "even") req.rotation = "even";
  if (w.skipSameCompany) req.skip_same_company = true;
  const overrides = Object.fromEntries(Object.entries(w.overrides).filter(([, on]) => on)) as WarningOverrides;
  if (Object.keys(overrides).length) req.overrides = overrides;
  const at = w.when === "at" ? localInputToMs(w.addAt) : null;
  if (at !== null) req.add_at = at;
  return req;
}

const HANDOFF_KEY = "seqflare.add-contacts.handoff";

/** What travels from another page into one sequence's add-contacts flow (sessionStorage, taken once). */
type HandOff = Pick<Wizard, "picked" | "filters" | "allResults" | "searchTotal" | "contactIds"> & {
  sequenceId: string;
  listIds?: string[];
  importId?: string;
  retryJobId?: string;
  retryCount?: number;
};

function handOff(sequenceId: string, extra: Partial<Omit<HandOff, "sequenceId">>) {
  const h: HandOff = { sequenceId, picked: {}, filters: emptyFilters(), allResults: false, searchTotal: 0, contactIds: [], ...extra };
  sessionStorage.setItem(HANDOFF_KEY, JSON.stringify(h));
}

/** People picked outside a sequence (the People page), carried into one sequence's add-contacts flow. */
export function handOffSelection(w: Wizard, sequenceId: string) {
  const { picked, filters, allResults, searchTotal } = w;
  handOff(sequenceId, { picked, filters, allResults, searchTotal });
}

/** Saved contacts (Contacts page, a list, a contact's page) carried into one sequence's add-contacts flow. */
export function handOffContacts(contactIds: string[], sequenceId: string) {
  handOff(sequenceId, { contactIds });
}

/** Saved lists (the Lists page) carried into one sequence's add-contacts flow, picked on its Saved lists tab. */
export function handOffLists(listIds: string[], sequenceId: string) {
  handOff(sequenceId, { listIds });
}

/** A saved import (the Imports page) carried into one sequence's add-contacts flow: the import id lived only in the wizard's memory. */
export function handOffImport(importId: string, sequenceId: string) {
  handOff(sequenceId, { importId });
}

/**
 * A job's contacts not processed (its page's "Retry"), carried into its sequence's flow: the API reads them from the
 * job, so a 100,000-contact job's failures travel as its id, previewed and charged as any add.
 */
export function handOffRetry(jobId: string, count: number, sequenceId: string) {
  handOff(sequenceId, { retryJobId: jobId, retryCount: count });
}

/** Takes (once) the selection handed off to this sequence's flow; false when there was none. */
export function takeHandedOffSelection(sequenceId: string, setW: SetStoreFunction<Wizard>): boolean {
  const raw = sessionStorage.getItem(HANDOFF_KEY);
  if (!raw) return false;
  sessionStorage.removeItem(HANDOFF_KEY);
  try {
    const h = JSON.parse(raw) as HandOff;
    if (h.sequenceId !== sequenceId) return false;
    setW({
      picked: h.picked,
      filters: h.filters,
      allResults: h.allResults,
      searchTotal: h.searchTotal,
      contactIds: h.contactIds ?? [],
      listIds: h.listIds ?? [],
      importId: h.importId ?? null,
      retryJobId: h.retryJobId ?? null,
      retryCount: h.retryCount ?? 0,
      sourceTab: h.importId ? "csv" : h.listIds?.length ? "lists" : "search",
    });
    return true;
  } catch {
    return false;
  }
}
