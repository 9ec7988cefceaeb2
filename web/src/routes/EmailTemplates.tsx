import { createAsync, useSearchParams } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { useWrite } from "../actions";
import { Badge } from "../components/Badge";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { DataTable } from "../components/DataTable";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { SearchField } from "../components/SearchField";
import { notify } from "../components/Toast";
import { formatDate, formatDateTime } from "../format";
import { deleteEmailTemplateAction, getEmailTemplates, type EmailTemplate } from "../queries/email-templates";
import { usePageTitle } from "../title";
import { TemplateDialog } from "./templates/TemplateDialog";

/** Email templates: saved emails the team shares and each rep's own, inserted into steps from the sequence editor. */
export default function EmailTemplates() {
  usePageTitle("Email templates");
  const [params, setParams] = useSearchParams();
  // The page and the search live in the URL, as on every other paged list.
  const page = () => Math.max(1, Number.parseInt(String(params.page ?? "1"), 10) || 1);
  const q = () => (typeof params.q === "string" ? params.q : "");
  const templates = createAsync(() => getEmailTemplates({ page: page(), per_page: 25, q: q() || undefined }));
  // "new": the dialog for a new template; a template: editing it.
  const [editing, setEditing] = createSignal<EmailTemplate | "new" | null>(null);
  const [deleting, setDeleting] = createSignal<EmailTemplate | null>(null);
  const remove = useWrite(deleteEmailTemplateAction, { failed: () => "Couldn't delete the template" });

  return (
    <div class="page">
      <PageHeader
        title="Email templates"
        description="Saved emails you insert into a sequence's email steps: your own, and the ones shared with the team."
        actions={
          <button type="button" class="btn btn-primary" onClick={() => setEditing("new")} data-testid="new-template">
            <Icon name="plus" size={16} /> New template
          </button>
        }
      />
      <div class="toolbar" role="search">
        <SearchField
          id="template-search"
          label="Search templates"
          placeholder="Search templates by name"
          maxLength={200}
          value={q()}
          onSearch={(v) => setParams({ q: v.trim() || undefined, page: undefined }, { replace: true })}
        />
      </div>
      <DataTable
        caption="Email templates"
        testId="templates-table"
        loading="Loading templates…"
        columns={[{ label: "Name" }, { label: "Subject" }, { label: "Owner" }, { label: "Updated" }, { label: "Actions", srOnly: true }]}
        rows={templates()?.templates}
        pagination={templates()?.pagination}
        empty={
          <EmptyState icon="mail" title={q() ? `No template matches “${q()}”` : "No templates yet"}>
            Save an email you send often, like a first touch or a break-up email, and insert it into any email step. Create one here, or use
            “Save as template” on a step.
          </EmptyState>
        }
      >
        {(t) => (
          <>
            <td class="cell-strong">
              {/* dir="auto" isolates the name's own direction (a right-to-left mark in it can't reorder the badge). */}
              <span class="name-clip" dir="auto" title={t.name}>
                {t.name}
              </span>{" "}
              <Show when={t.shared} fallback={<Badge tone="neutral">Private</Badge>}>
                <Badge tone="accent">Shared</Badge>
              </Show>
            </td>
            <td class="muted cell-clip-wide" dir="auto" title={t.subject || undefined}>
              {t.subject || "(replies in the thread)"}
            </td>
            <td>{t.owner_name ?? "—"}</td>
            <td>
              <time datetime={new Date(t.updated_at).toISOString()} title={formatDateTime(t.updated_at)}>
                {formatDate(t.updated_at)}
              </time>
            </td>
            <td class="cell-nowrap">
              <Show when={t.can_manage} fallback={<span class="muted small">Its owner or an admin can change it</span>}>
                <button type="button" class="btn btn-ghost btn-sm" onClick={() => setEditing(t)} aria-label={`Edit ${t.name}`}>
                  Edit
                </button>
                <button type="button" class="btn btn-ghost btn-sm" onClick={() => setDeleting(t)} aria-label={`Delete ${t.name}`}>
                  Delete
                </button>
              </Show>
            </td>
          </>
        )}
      </DataTable>
      <Show when={editing()}>
        {(e) => {
          const current = e();
          return <TemplateDialog template={current === "new" ? undefined : current} onClose={() => setEditing(null)} />;
        }}
      </Show>
      <ConfirmDialog
        open={!!deleting()}
        title={`Delete “${deleting()?.name ?? ""}”?`}
        confirmLabel="Delete template"
        danger
        onConfirm={async () => {
          const t = deleting();
          setDeleting(null);
          if (!t) return;
          if (await remove.run(t.id)) notify(`Template “${t.name}” deleted`);
        }}
        onCancel={() => setDeleting(null)}
      >
        {deleting()?.shared ? "Nobody in the team can insert it any more. " : ""}Steps that took its text keep it.
      </ConfirmDialog>
    </div>
  );
}
