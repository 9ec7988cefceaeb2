import { pollWhile } from "../poll";
import { createAsync, revalidate, useNavigate, useSearchParams } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { Badge } from "../components/Badge";
import { DataTable } from "../components/DataTable";
import { EmptyState } from "../components/EmptyState";
import { PageHeader } from "../components/PageHeader";
import { formatDateTime, formatNumber, formatRelative } from "../format";
import { useWrite } from "../actions";
import { deleteImportAction, getImports, saveImportAction } from "../queries/imports";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { usePageTitle } from "../title";
import { handOffImport } from "./add-contacts/state";
import { SequencePicker } from "./people/SequencePicker";

const STATUS = {
  uploaded: { label: "Not saved", tone: "neutral" },
  saving: { label: "Saving", tone: "info" },
  ready: { label: "Ready", tone: "success" },
  failed: { label: "Failed", tone: "danger" },
} as const;

/** "a, b and c" of the parts given. */
const andList = (parts: (string | false)[]) => {
  const p = parts.filter((x): x is string => !!x);
  return p.length > 1 ? `${p.slice(0, -1).join(", ")} and ${p[p.length - 1]}` : (p[0] ?? "");
};

/** The CSV files uploaded in the team (a member sees their own; admins every one), with what each saved and the rows it did not. */
export default function Imports() {
  usePageTitle("Imports");
  const [params] = useSearchParams();
  const page = () => Math.max(1, Number.parseInt(String(params.page ?? "1"), 10) || 1);
  const result = createAsync(() => getImports(page()));
  // A failed save stopped at a part (its error says "save again to continue"): it goes on from there.
  const resume = useWrite(saveImportAction, {
    done: (r) => (r ? `Saving ${r.file_name} again from where it stopped` : undefined),
    failed: () => "Couldn't save the import again",
  });
  // "Add to a sequence…": the saved import goes into the chosen sequence's add-contacts flow. "Continue":
  // an upload not saved yet reopens at its mapping there (the upload step keeps its id in memory only, so
  // leaving it left the file with nothing to do but delete it).
  const navigate = useNavigate();
  const [adding, setAdding] = createSignal<{ id: string; name: string; saved: number; resume: boolean } | null>(null);
  // Deleting removes the uploaded file and its row report (privacy); the contacts it saved stay.
  const [deleting, setDeleting] = createSignal<{ id: string; name: string } | null>(null);
  const remove = useWrite(deleteImportAction, {
    done: (name) => (name ? `Deleted ${name}; its contacts stay` : undefined),
    failed: (_id, name) => `Couldn't delete ${name}`,
  });
  pollWhile(
    () => (result()?.imports.some((i) => i.status === "saving") ? 2000 : null),
    () => revalidate(getImports.key),
  );
  return (
    <div class="page">
      <PageHeader
        title="Imports"
        description="CSV files uploaded to add contacts: what each one saved, and every row it did not import with the reason."
      />
      <DataTable
        caption="CSV imports"
        testId="imports-table"
        loading="Loading imports…"
        columns={[
          { label: "File" },
          { label: "Uploaded" },
          { label: "Status" },
          { label: "Rows", class: "num" },
          { label: "Saved", class: "num" },
          { label: "Not imported", class: "num" },
          { label: "Summary" },
          { label: "Actions", srOnly: true },
        ]}
        rows={result()?.imports}
        pagination={result()?.pagination}
        rowProps={(i) => ({ "data-import-id": i.id })}
        empty={
          <EmptyState icon="upload" title="No CSV imports yet">
            Upload a CSV from a sequence's “Add contacts → Upload CSV”. Up to 100,000 rows; every row not imported is explained.
          </EmptyState>
        }
      >
        {(i) => (
          <>
            <td class="cell-strong cell-clip-wide">{i.file_name}</td>
            <td class="cell-nowrap">
              <time datetime={new Date(i.created_at).toISOString()} title={formatDateTime(i.created_at)}>
                {formatRelative(i.created_at)}
              </time>
            </td>
            <td>
              <Badge tone={STATUS[i.status].tone} dot>
                {STATUS[i.status].label}
              </Badge>
            </td>
            <td class="num tabular">{formatNumber(i.row_count)}</td>
            <td class="num tabular">{formatNumber(i.saved)}</td>
            <td class="num tabular">
              <Show when={i.failed > 0} fallback={formatNumber(0)}>
                {/* The report holds the rows saved with a warning too: the link says so, or "1,000" downloaded 6,500 rows. */}
                <a
                  href={`/api/imports/${i.id}/errors.csv`}
                  download=""
                  aria-label={`Download the report of ${i.file_name}: ${andList([
                    `${i.failed} rows not imported`,
                    i.warned > 0 && `${i.warned} saved with a warning`,
                    i.filled > 0 && `${i.filled} matched by name and company (address filled in)`,
                  ])}`}
                  data-testid="import-report"
                >
                  {i.warned > 0 ? `${formatNumber(i.failed)} + ${formatNumber(i.warned)} warnings` : formatNumber(i.failed)}
                </a>
              </Show>
            </td>
            {/* Wide enough to read a sentence: it gave way to the buttons, a word or two a line. */}
            <td class="muted small" style={{ "min-width": "18rem" }} data-testid="import-summary">
              {i.summary ?? i.error ?? i.mapping_problem ?? ""}
              {/* The report also notes each contact matched by name and company whose address was filled in. */}
              <Show when={(i.warned > 0 || i.filled > 0) && i.failed === 0}>
                {" "}
                <a href={`/api/imports/${i.id}/errors.csv`} download="">
                  Download the report
                </a>
              </Show>
            </td>
            <td class="cell-nowrap">
              <Show when={i.status === "failed" && i.progress.parts_done < i.progress.parts}>
                <button
                  type="button"
                  class="btn btn-secondary btn-sm"
                  disabled={resume.inFlight().some(([id]) => id === i.id)}
                  onClick={() => void resume.run(i.id)}
                  aria-label={`Save ${i.file_name} again from where it stopped`}
                >
                  Save again
                </button>
              </Show>
              <Show when={i.status === "ready" && i.saved > 0}>
                <button
                  type="button"
                  class="btn btn-secondary btn-sm"
                  onClick={() => setAdding({ id: i.id, name: i.file_name, saved: i.saved, resume: false })}
                  aria-label={`Add the contacts of ${i.file_name} to a sequence`}
                  data-testid="import-add-to-sequence"
                >
                  Add to a sequence…
                </button>
              </Show>
              <Show when={i.status === "uploaded"}>
                <button
                  type="button"
                  class="btn btn-secondary btn-sm"
                  onClick={() => setAdding({ id: i.id, name: i.file_name, saved: 0, resume: true })}
                  aria-label={`Continue importing ${i.file_name}: check its columns and save it`}
                  data-testid="import-continue"
                >
                  Continue
                </button>
              </Show>
              <Show when={i.status !== "saving"}>
                <button
                  type="button"
                  class="btn btn-ghost btn-sm"
                  disabled={remove.inFlight().some(([id]) => id === i.id)}
                  onClick={() => setDeleting({ id: i.id, name: i.file_name })}
                  aria-label={`Delete ${i.file_name}`}
                  data-testid="import-delete"
                >
                  Delete
                </button>
              </Show>
            </td>
          </>
        )}
      </DataTable>
      <ConfirmDialog
        open={!!deleting()}
        title={`Delete ${deleting()?.name ?? ""}?`}
        confirmLabel="Delete"
        danger
        onConfirm={() => {
          const d = deleting()!;
          setDeleting(null);
          void remove.run(d.id, d.name);
        }}
        onCancel={() => setDeleting(null)}
      >
        The uploaded file, its preview and its report of rows not imported are deleted. The contacts it saved stay.
      </ConfirmDialog>
      <SequencePicker
        open={!!adding()}
        title={
          adding()?.resume
            ? `Continue importing ${adding()?.name ?? ""}: the sequence to add its contacts to`
            : `Add the ${formatNumber(adding()?.saved ?? 0)} contacts of ${adding()?.name ?? ""} to a sequence`
        }
        onClose={() => setAdding(null)}
        onPick={(s) => {
          const a = adding()!;
          handOffImport(a.id, s.id);
          setAdding(null);
          navigate(a.resume ? `/sequences/${s.id}/add` : `/sequences/${s.id}/add?step=options`);
        }}
      />
    </div>
  );
}
