import { createAsync } from "@solidjs/router";
import { createSignal, For, Show } from "solid-js";
import { useWrite } from "../../actions";
import type { ContactPatch } from "../../api";
import { Dialog } from "../../components/Dialog";
import { FieldError } from "../../components/FieldError";
import { FormProblems } from "../../forms";
import { getContactStages, updateContactAction } from "../../queries/contacts";
import { getMe } from "../../queries/session";
import { getUsers } from "../../queries/users";

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

/** `key: value` lines, one custom field each (the form's text), and back. */
const customText = (c: Record<string, string>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
function customOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) out[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return out;
}

/** Edits a contact: sends only what changed (PATCH /contacts/{id}); the API's refusals show by their fields. */
export function EditContactDialog(props: { contact: ContactView; onClose: () => void }) {
  const save = useWrite(updateContactAction, { form: "edit-contact-form", done: () => "Contact saved" });
  const errors = save.errors;
  const [custom, setCustom] = createSignal(customText(props.contact.custom_fields));
  const stages = createAsync(() => getContactStages().catch(() => undefined));
  const [stageId, setStageId] = createSignal(props.contact.stage_id ?? "");
  // Active users only: the API refuses to give a contact to a disabled one.
  const users = createAsync(() => getUsers().catch(() => undefined));
  const [ownerId, setOwnerId] = createSignal(props.contact.owner_id ?? "");
  // The API's rule (access.ts, contact.reassign): its owner or an admin gives a contact to anyone; a member
  // may take an unowned one for themself; nobody else may change the owner. Offered as such, so a save
  // isn't refused with every other change in it.
  const me = createAsync(() => getMe().catch(() => undefined));
  const owned = () => props.contact.owner_id;
  const mayGive = () => me()?.user.role === "admin" || (!!owned() && me()?.user.id === owned());
  const mayTake = () => !owned() && !!me();
  const ownerLocked = () => !mayGive() && !mayTake();
  const ownerName = () => users()?.users.find((u) => u.id === owned())?.name;
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
    const before = props.contact.custom_fields;
    const after = customOf(custom());
    const changed: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(after)) if (before[k] !== v) changed[k] = v;
    for (const k of Object.keys(before)) if (!(k in after)) changed[k] = null;
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
              <option value={owned()!}>The current owner (disabled)</option>
            </Show>
            <Show when={ownerLocked() && ownerName()}>
              <option value={owned()!}>{ownerName()}</option>
            </Show>
            <For each={ownerLocked() ? [] : ownerChoices()}>{(u) => <option value={u.id}>{u.name}</option>}</For>
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
            <For each={stages()?.contact_stages ?? []}>{(s) => <option value={s.id}>{s.name}</option>}</For>
          </select>
          <Show when={toDnc()}>
            <p id="edit-contact-stage-dnc" class="field-help text-warning" data-testid="edit-contact-stage-dnc">
              Do Not Contact: their open sequence runs finish, and those of any other contact with their email address; no sequence emails
              the address while they are in this stage.
            </p>
          </Show>
          <FieldError id="edit-contact-stage-error" form={errors} name="stage_id" />
        </div>
        <div class="field">
          <label for="edit-contact-custom">Custom fields, one per line as key: value ({"{{custom.key}}"} in emails)</label>
          <textarea
            id="edit-contact-custom"
            rows={4}
            value={custom()}
            onInput={(e) => setCustom(e.currentTarget.value)}
            aria-invalid={errors.invalid("custom_fields")}
            aria-describedby="edit-contact-custom-error"
          />
          <FieldError id="edit-contact-custom-error" form={errors} name="custom_fields" />
        </div>
        <FormProblems form={errors} />
      </form>
    </Dialog>
  );
}
