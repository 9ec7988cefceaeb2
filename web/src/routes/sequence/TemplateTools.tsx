import { createAsync } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Dialog } from "../../components/Dialog";
import { Icon } from "../../components/Icon";
import { SearchField } from "../../components/SearchField";
import { getEmailTemplates, type EmailTemplate } from "../../queries/email-templates";
import { TemplateDialog } from "../templates/TemplateDialog";

import "./TemplateTools.css";

/** The most templates the picker lists at once (the API's page); a search narrows them. */
const PICK_MAX = 100;

/** The shared and own templates whose name has `q`, to pick one; mounted per opening, so it starts unsearched. */
function TemplatePicker(props: { onPick: (t: EmailTemplate) => void; onClose: () => void }) {
  const [q, setQ] = createSignal("");
  const found = createAsync(() => getEmailTemplates({ page: 1, per_page: PICK_MAX, q: q() || undefined }));
  return (
    <Dialog open title="Insert a template" onClose={props.onClose} testId="template-picker">
      <SearchField
        id="template-pick-search"
        label="Search templates"
        placeholder="Template name"
        maxLength={200}
        value={q()}
        onSearch={(v) => setQ(v.trim())}
      />
      {/* Its own boundary: the dialog's would swap the search box out while results load, dropping what is typed. */}
      <Suspense fallback={<p class="muted small">Searching…</p>}>
        <Show
          when={found()?.templates.length}
          fallback={
            <p class="card-empty">
              {q() ? `No template matches “${q()}”.` : "No templates yet: save one from an email step, or on the Templates page."}
            </p>
          }
        >
          <ul class="pick-list" data-testid="template-options">
            <For each={found()!.templates}>
              {(t) => (
                <li>
                  <button
                    type="button"
                    class="btn btn-ghost pick-row"
                    onClick={() => props.onPick(t)}
                    data-testid={`pick-template-${t.id}`}
                  >
                    <strong>{t.name}</strong>
                    <span class="muted small">{t.subject || "(replies in the thread)"}</span>
                  </button>
                </li>
              )}
            </For>
          </ul>
          <Show when={(found()?.pagination.total_entries ?? 0) > PICK_MAX}>
            <p class="field-help">Showing the first {PICK_MAX} by name: search to find others.</p>
          </Show>
        </Show>
      </Suspense>
    </Dialog>
  );
}

/**
 * "Insert template" and "Save as template" for one email's subject and body (a new step's, or a step's variant).
 * Inserting replaces the text, so it asks first when there is text to lose.
 */
export function TemplateTools(props: { subject: string; body: string; onFill: (subject: string, body: string) => void; idPrefix: string }) {
  const [picking, setPicking] = createSignal(false);
  const [pending, setPending] = createSignal<EmailTemplate | null>(null);
  const [saving, setSaving] = createSignal(false);
  const hasText = () => !!(props.subject.trim() || props.body.trim());
  const pick = (t: EmailTemplate) => {
    setPicking(false);
    if (hasText() && (t.subject !== props.subject || t.body !== props.body)) setPending(t);
    else props.onFill(t.subject, t.body);
  };
  return (
    <div class="template-tools">
      <button
        type="button"
        class="btn btn-secondary btn-xs"
        onClick={() => setPicking(true)}
        data-testid={`${props.idPrefix}-insert-template`}
      >
        <Icon name="mail" size={14} /> Insert template
      </button>
      <button
        type="button"
        class="btn btn-ghost btn-xs"
        disabled={!props.body.trim()}
        title={props.body.trim() ? undefined : "Write the email first"}
        onClick={() => setSaving(true)}
        data-testid={`${props.idPrefix}-save-template`}
      >
        <Icon name="plus" size={14} /> Save as template
      </button>
      <Show when={picking()}>
        <TemplatePicker onPick={pick} onClose={() => setPicking(false)} />
      </Show>
      <ConfirmDialog
        open={!!pending()}
        title={`Replace this email with “${pending()?.name ?? ""}”?`}
        confirmLabel="Replace"
        onConfirm={() => {
          const t = pending();
          setPending(null);
          if (t) props.onFill(t.subject, t.body);
        }}
        onCancel={() => setPending(null)}
      >
        The subject and body you wrote are replaced by the template's. Nothing is saved until you save the step.
      </ConfirmDialog>
      <Show when={saving()}>
        <TemplateDialog initial={{ subject: props.subject, body: props.body }} onClose={() => setSaving(false)} />
      </Show>
    </div>
  );
}
