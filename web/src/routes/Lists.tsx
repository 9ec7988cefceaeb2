import { createAsync, useSearchParams } from "@solidjs/router";
import { For, Show, Suspense } from "solid-js";
import { EmptyState } from "../components/EmptyState";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { TableSkeleton } from "../components/Status";
import { formatDate, formatDateTime, formatNumber } from "../format";
import { getListsPage } from "../queries";
import { usePageTitle } from "../title";


export default function Lists() {
  usePageTitle("Lists");
  const [params] = useSearchParams();
  // The page lives in the URL (?page=), as on every other paged list.
  const page = () => Math.max(1, Number.parseInt(String(params.page ?? "1"), 10) || 1);
  const lists = createAsync(() => getListsPage({ page: page(), per_page: 25 }));
  return (
    <div class="page">
      <PageHeader title="Lists" description="Saved sets of contacts. Add a whole list to a sequence in one step." />
      <Suspense fallback={<TableSkeleton columns={3} rows={5} label="Loading lists…" />}>
        <Show when={lists()}>
          {(r) => (
            <Show
              when={r().pagination.total_entries > 0}
              fallback={
                <EmptyState icon="lists" title="No lists yet">
                  Lists group contacts you want to work together, like “Q3 fintech CTOs”. Save contacts to a list from search or an import.
                </EmptyState>
              }
            >
              <div class="table-card">
                <div class="table-wrap">
                  <table class="table">
                    <caption class="sr-only">Lists</caption>
                    <thead>
                      <tr>
                        <th scope="col">Name</th>
                        <th scope="col" class="num">Contacts</th>
                        <th scope="col">Created</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={r().lists}>
                        {(l) => (
                          <tr>
                            <td class="cell-strong">{l.name}</td>
                            <td class="num tabular">{formatNumber(l.contact_count)}</td>
                            <td>
                              <time datetime={new Date(l.created_at).toISOString()} title={formatDateTime(l.created_at)}>
                                {formatDate(l.created_at)}
                              </time>
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
    </div>
  );
}
