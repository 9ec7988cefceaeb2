import { A, createAsync, useNavigate } from "@solidjs/router";
import { createSignal, For, Show } from "solid-js";
import { useWrite } from "../../actions";
import { Dialog } from "../../components/Dialog";
import { FieldError } from "../../components/FieldError";
import { FormProblems } from "../../forms";
import { createContactAction, type NewContact } from "../../queries/contacts";
import { getLists } from "../../queries/lists";
import { getMe } from "../../queries/session";
import { getUsers } from "../../queries/users";
import { Options } from "../../components/Options";

type Field = "first_name" | "last_name" | "email" | "title" | "company" | "domain" | "phone" | "linkedin_url";

const FIELDS: { key: Field; label: string; type?: string; placeholder?: string }[] = [
  { key: "first_name", label: "First name" },
  { key: "last_name", label: "Last name" },
  { key: "email", label: "Email", type: "email" },
  { key: "title", label: "Title" },
  { key: "company", label: "Company" },
  { key: "domain", label: "Company website", placeholder: "acme.com" },
  { key: "phone", label: "Phone", type: "tel" },
  { key: "linkedin_url", label: "LinkedIn URL", type: "url" },
];

type Existing = { id: string; name: string; list: string | null };

/**
 * Creates a contact by hand (POST /contacts with dedupe). An address the team already has makes no second
 * contact: the dialog says which contact has it and links to it. A new one opens on its page.
 */
export function NewContactDialog(props: { onClose: () => void; listId?: string | undefined }) {
  const navigate = useNavigate();
  const save = useWrite(createContactAction, {
    form: "new-contact-form",
    done: (r) => (r?.created ? "Contact created" : undefined),
  });
  const errors = save.errors;
  const me = createAsync(() => getMe().catch(() => undefined));
  const users = createAsync(() => getUsers().catch(() => undefined));
  const lists = createAsync(() => getLists().catch(() => undefined));
  // The API's rule (contact.reassign): only an admin creates a contact owned by someone else.
  const isAdmin = () => me()?.user.role === "admin";
  const [ownerId, setOwnerId] = createSignal("");
  // The owner shown: the one picked, else you (the API's default owner).
  const owner = () => ownerId() || (me()?.user.id ?? "");
  const [listId, setListId] = createSignal(props.listId ?? "");
  const [existing, setExisting] = createSignal<Existing | null>(null);

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    setExisting(null);
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const input: Record<string, unknown> = {};
    for (const f of FIELDS) {
      const value = String(form.get(f.key) ?? "").trim();
      if (value) input[f.key] = value;
    }
    if (ownerId() && ownerId() !== me()?.user.id) input.owner_id = ownerId();
    const list = lists()?.lists.find((l) => l.id === listId());
    if (list) input.list_names = [list.name];
    const r = await save.run(input as NewContact);
    if (!r) return;
    if (r.created) {
      props.onClose();
      navigate(`/contacts/${r.contact.id}`);
      return;
    }
    const name = `${r.contact.first_name} ${r.contact.last_name}`.trim() || r.contact.email || "a contact";
    setExisting({ id: r.contact.id, name, list: list?.name ?? null });
  };

  return (
    <Dialog
      open
      onClose={props.onClose}
      title="New contact"
      description="Saving a contact by hand costs no credits."
      testId="new-contact-dialog"
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={() => props.onClose()}>
            Cancel
          </button>
          <button type="submit" form="new-contact-form" class="btn btn-primary" disabled={save.pending()}>
            {save.pending() ? "Creating…" : "Create contact"}
          </button>
        </>
      }
    >
      <form id="new-contact-form" class="form" onSubmit={submit}>
        <Show when={existing()}>
          {(x) => (
            <p class="field-help text-warning" role="status" data-testid="new-contact-exists">
              Your team already has a contact with this email: <A href={`/contacts/${x().id}`}>{x().name}</A>. No new contact was created
              {x().list ? `; it was added to the list “${x().list}”` : ""}.
            </p>
          )}
        </Show>
        <For each={FIELDS}>
          {(f) => (
            <div class="field">
              <label for={`new-contact-${f.key}`}>{f.label}</label>
              <input
                id={`new-contact-${f.key}`}
                name={f.key}
                type={f.type ?? "text"}
                placeholder={f.placeholder}
                aria-invalid={errors.invalid(f.key)}
                aria-describedby={`new-contact-${f.key}-error`}
              />
              <FieldError id={`new-contact-${f.key}-error`} form={errors} name={f.key} />
            </div>
          )}
        </For>
        <div class="field">
          <label for="new-contact-owner">Owner</label>
          <select
            id="new-contact-owner"
            value={owner()}
            disabled={!isAdmin()}
            onChange={(e) => setOwnerId(e.currentTarget.value)}
            aria-invalid={errors.invalid("owner_id")}
            aria-describedby="new-contact-owner-error new-contact-owner-why"
          >
            <Show when={me()}>
              {(m) => (
                <option value={m().user.id} selected={owner() === m().user.id}>
                  {m().user.name} (me)
                </option>
              )}
            </Show>
            <Options each={isAdmin() ? (users()?.users ?? []).filter((u) => u.id !== me()?.user.id) : []} value={owner()} id={(u) => u.id}>
              {(u) => u.name}
            </Options>
          </select>
          <Show when={me() && !isAdmin()}>
            <p id="new-contact-owner-why" class="field-help">
              Contacts you create are yours; only an admin can create one for someone else.
            </p>
          </Show>
          <FieldError id="new-contact-owner-error" form={errors} name="owner_id" />
        </div>
        <div class="field">
          <label for="new-contact-list">Add to list (optional)</label>
          <select
            id="new-contact-list"
            value={listId()}
            onChange={(e) => setListId(e.currentTarget.value)}
            aria-invalid={errors.invalid("list_names")}
            aria-describedby="new-contact-list-error"
          >
            <option value="">No list</option>
            <Options each={lists()?.lists} value={listId()} id={(l) => l.id}>
              {(l) => l.name}
            </Options>
          </select>
          <FieldError id="new-contact-list-error" form={errors} name="list_names" />
        </div>
        <FormProblems form={errors} />
      </form>
    </Dialog>
  );
}
