import { createAsync } from "@solidjs/router";
import { createSignal, For, Index, Show } from "solid-js";
import { useWrite } from "../../actions";
import type { ContactPatch } from "../../api";
import { Dialog } from "../../components/Dialog";
import { FieldError } from "../../components/FieldError";
import { FormProblems } from "../../forms";
import { getContactStages, updateContactAction } from "../../queries/contacts";
import { getMe } from "../../queries/session";
import { DncPreviewWords, useDncPreview } from "./DncPreview";
import { getUsers, getUsersWithDisabled, userLabel } from "../../queries/users";
import { Options } from "../../components/Options";

type Editable = "first_name" | "last_name" | "email" | "title" | "company" | "phone" | "linkedin_url" | "city" | "country" | "time_zone";
type ContactView = { id: string; stage_id: string | null; owner_id: string | null; custom_fields: Record<string, string> } & Record<
  Editable,
  string | null
>;

const FIELDS: { key: Editable; label: string; type?: string }[] = [
  { key: "first_name", label: "First name" },
  { key: "last_name", label: "Last name" },
  { key: "email", label: "Email", type: "email" },
  { key: "title", label: "Title" },
  { key: "company", label: "Company" },
  { key: "phone", label: "Phone", type: "tel" },
  { key: "linkedin_url", label: "LinkedIn URL", type: "url" },
  { key: "city", label: "City" },
  { key: "country", label: "Country" },
  { key: "time_zone", label: "Time zone (IANA, e.g. Europe/Berlin)" },
];

/**
 * One custom field's row in the form: the key and value it had when the dialog opened (none for a row
 * added here) and what they are now. A row per field, its value a textarea, so a value holding a line
 * break or a colon reads back as it is; key: value lines cut such a value at its first line and made a
 * new key of the next ("Next step: demo"), which every save then sent.
 */
type CustomRow = { id: number; from: { key: string; value: string } | null; key: string; value: string };

/**
 * The custom fields a save sends: only the rows the user changed (a removed or renamed field as null),
 * so the fields nobody touched are never sent, nor rewritten. The nulls first, then the values: a row
 * renamed onto a key another row left (a→b with b→c, or a swap) keeps its value; row by row, the second
 * row's null for its old key overwrote the value the first had just written there.
 */
function customPatch(rows: readonly CustomRow[], removed: readonly string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const edited = rows.filter((r) => !(r.from && r.from.key === r.key && r.from.value === r.value));
  const keyOf = (r: CustomRow) => r.key.trim().toLowerCase();
  for (const k of removed) out[k] = null;
  for (const r of edited) if (r.from && r.from.key !== keyOf(r)) out[r.from.key] = null;
  for (const r of edited) {
    const key = keyOf(r);
    if (key) out[key] = r.value;
    else if (r.value) out[""] = r.value; // a value with no key: the API names the key wrong, next to the field
  }
  return out;
}

/** Edits a contact: sends only what changed (PATCH /contacts/{id}); the API's refusals show by their fields. */
export function EditContactDialog(props: { contact: ContactView; onClose: () => void }) {
  const save = useWrite(updateContactAction, { form: "edit-contact-form", done: () => "Contact saved" });
  const errors = save.errors;
  let nextRow = 0;
  const [rows, setRows] = createSignal<CustomRow[]>(
    Object.entries(props.contact.custom_fields).map(([key, value]) => ({ id: nextRow++, from: { key, value }, key, value })),
  );
  const [removed, setRemoved] = createSignal<string[]>([]);
  const editRow = (id: number, part: Partial<Pick<CustomRow, "key" | "value">>) =>
    setRows((rs) => rs.map((r) => (r.id === id ? { ...r, ...part } : r)));
  const removeRow = (r: CustomRow) => {
    setRows((rs) => rs.filter((x) => x.id !== r.id));
    if (r.from) setRemoved((ks) => [...ks, r.from!.key]);
  };
  const addRow = () => setRows((rs) => [...rs, { id: nextRow++, from: null, key: "", value: "" }]);
  const stages = createAsync(() => getContactStages().catch(() => undefined));
  const [stageId, setStageId] = createSignal(props.contact.stage_id ?? "");
  // Active users only: the API refuses to give a contact to a disabled one.
  const users = createAsync(() => getUsers().catch(() => undefined));
  // Every user, disabled ones too, only to name an owner who is no longer offered.
  const everyone = createAsync(() => getUsersWithDisabled().catch(() => undefined));
  const [ownerId, setOwnerId] = createSignal(props.contact.owner_id ?? "");
  // The API's rule (access.ts, contact.reassign): its owner or an admin gives a contact to anyone; a member
  // may take an unowned one for themself; nobody else may change the owner. Offered as such, so a save
  // isn't refused with every other change in it.
  const me = createAsync(() => getMe().catch(() => undefined));
  const owned = () => props.contact.owner_id;
  const mayGive = () => me()?.user.role === "admin" || (!!owned() && me()?.user.id === owned());
  const mayTake = () => !owned() && !!me();
  const ownerLocked = () => !mayGive() && !mayTake();
  const ownerName = () => {
    const u = everyone()?.find((x) => x.id === owned());
    return u && userLabel(u);
  };
  const ownerWhy = () =>
    ownerLocked()
      ? `Only the contact's owner${ownerName() ? ` (${ownerName()})` : ""} or an admin can give it to someone else`
      : !mayGive()
        ? "You can take this unowned contact; only an admin can give it to someone else"
        : null;
  const ownerChoices = () => (users()?.users ?? []).filter((u) => mayGive() || u.id === me()?.user.id);
  // A Do Not Contact stage ends the contact's open sequence runs: said before saving, not discovered after.
  const toDnc = () =>
    stageId() !== (props.contact.stage_id ?? "") && stages()?.contact_stages.find((s) => s.id === stageId())?.category === "dnc";
  // The runs it ends, counted when the stage is picked (the same preview as the Contacts page's confirmation).
  const dncPreview = useDncPreview(() => (toDnc() ? { ids: [props.contact.id], stageId: stageId() } : null));

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const patch: Record<string, unknown> = {};
    for (const f of FIELDS) {
      const value = String(form.get(f.key) ?? "").trim();
      const was = props.contact[f.key] ?? "";
      // Names are never null; any other field emptied is cleared.
      if (value !== was) patch[f.key] = value || (f.key === "first_name" || f.key === "last_name" ? "" : null);
    }
    const changed = customPatch(rows(), removed());
    if (Object.keys(changed).length) patch.custom_fields = changed;
    if (stageId() && stageId() !== (props.contact.stage_id ?? "")) patch.stage_id = stageId();
    if (ownerId() !== (props.contact.owner_id ?? "")) patch.owner_id = ownerId() || null;
    if (!Object.keys(patch).length) return props.onClose();
    if (await save.run(props.contact.id, patch as ContactPatch)) props.onClose();
  };

  return (
    <Dialog
      open
      onClose={props.onClose}
      title="Edit contact"
      description="Changes apply to the emails not sent yet."
      testId="edit-contact-dialog"
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={() => props.onClose()}>
            Cancel
          </button>
          <button type="submit" form="edit-contact-form" class="btn btn-primary" disabled={save.pending()}>
            {save.pending() ? "Saving…" : "Save"}
          </button>
        </>
      }
    >
      <form id="edit-contact-form" class="form" onSubmit={submit}>
        <For each={FIELDS}>
          {(f) => (
            <div class="field">
              <label for={`edit-contact-${f.key}`}>{f.label}</label>
              <input
                id={`edit-contact-${f.key}`}
                name={f.key}
                type={f.type ?? "text"}
                value={props.contact[f.key] ?? ""}
                aria-invalid={errors.invalid(f.key)}
                aria-describedby={`edit-contact-${f.key}-error`}
              />
              <FieldError id={`edit-contact-${f.key}-error`} form={errors} name={f.key} />
            </div>
          )}
        </For>
        <div class="field">
          <label for="edit-contact-owner">Owner</label>
          <select
            id="edit-contact-owner"
            value={ownerId()}
            disabled={ownerLocked()}
            onChange={(e) => setOwnerId(e.currentTarget.value)}
            aria-invalid={errors.invalid("owner_id")}
            aria-describedby="edit-contact-owner-error edit-contact-owner-why"
          >
            <Show when={!ownerLocked() || !owned()}>
              <option value="">Nobody</option>
            </Show>
            <Show when={owned() && users() && !users()!.users.some((u) => u.id === owned())}>
              <option value={owned()!}>{ownerName() ?? "The current owner (disabled)"}</option>
            </Show>
            <Show when={ownerLocked() && ownerName() && users()?.users.some((u) => u.id === owned())}>
              <option value={owned()!}>{ownerName()}</option>
            </Show>
            <Options each={ownerLocked() ? [] : ownerChoices()} value={ownerId()} id={(u) => u.id}>
              {(u) => u.name}
            </Options>
          </select>
          <Show when={ownerWhy()}>
            {(why) => (
              <p id="edit-contact-owner-why" class="field-help">
                {why()}
              </p>
            )}
          </Show>
          <FieldError id="edit-contact-owner-error" form={errors} name="owner_id" />
        </div>
        <div class="field">
          <label for="edit-contact-stage">Stage</label>
          <select
            id="edit-contact-stage"
            value={stageId()}
            onChange={(e) => setStageId(e.currentTarget.value)}
            aria-invalid={errors.invalid("stage_id")}
            aria-describedby="edit-contact-stage-error edit-contact-stage-dnc"
          >
            <Show when={!props.contact.stage_id}>
              <option value="">No stage</option>
            </Show>
            <Options each={stages()?.contact_stages} value={stageId()} id={(s) => s.id}>
              {(s) => s.name}
            </Options>
          </select>
          <Show when={toDnc()}>
            <p id="edit-contact-stage-dnc" class="field-help text-warning" data-testid="edit-contact-stage-dnc">
              <DncPreviewWords preview={dncPreview} />
            </p>
          </Show>
          <FieldError id="edit-contact-stage-error" form={errors} name="stage_id" />
        </div>
        <fieldset class="field" aria-describedby="edit-contact-custom-error">
          <legend>Custom fields ({"{{custom.key}}"} in emails)</legend>
          <Index each={rows()}>
            {(r, i) => (
              <div
                data-testid="edit-contact-custom-row"
                style={{ display: "grid", "grid-template-columns": "10rem 1fr auto", gap: "0.5rem", "align-items": "start" }}
              >
                <input
                  aria-label={`Custom field ${i + 1} key`}
                  value={r().key}
                  placeholder="key"
                  onInput={(e) => editRow(r().id, { key: e.currentTarget.value })}
                  aria-invalid={errors.invalid("custom_fields")}
                />
                <textarea
                  aria-label={`Custom field ${i + 1} value`}
                  rows={Math.min(4, Math.max(1, r().value.split("\n").length))}
                  value={r().value}
                  onInput={(e) => editRow(r().id, { value: e.currentTarget.value })}
                  aria-invalid={errors.invalid("custom_fields")}
                />
                <button
                  type="button"
                  class="btn btn-ghost btn-sm"
                  aria-label={`Remove custom field ${r().key || i + 1}`}
                  onClick={() => removeRow(r())}
                >
                  Remove
                </button>
              </div>
            )}
          </Index>
          <button type="button" class="btn btn-secondary btn-sm" onClick={addRow} data-testid="edit-contact-custom-add">
            Add custom field
          </button>
          <FieldError id="edit-contact-custom-error" form={errors} name="custom_fields" />
        </fieldset>
        <FormProblems form={errors} />
      </form>
    </Dialog>
  );
}
