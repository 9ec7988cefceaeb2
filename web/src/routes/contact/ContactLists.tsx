import { A, createAsync } from "@solidjs/router";
import { For, Show, Suspense } from "solid-js";
import { useWrite } from "../../actions";
import { Icon } from "../../components/Icon";
import { addContactToListAction, getContactLists } from "../../queries/contact-lists";
import { removeFromListAction } from "../../queries/contacts";
import { getLists } from "../../queries/lists";
import "../../components/Chips.css";

/**
 * The lists a contact is on (each opens its contacts, each can be taken off) and "Add to list" with the
 * team's other lists. Both writes are the lists' own (POST /lists/{id}/members, …/members/remove); the
 * router reads the lists again after each, so the card and the lists' sizes follow.
 */
export function ContactLists(props: { contactId: string; name: string }) {
  const on = createAsync(() => getContactLists(props.contactId));
  const all = createAsync(() => getLists());
  const nameOf = (listId: string) =>
    (on() ?? []).find((l) => l.id === listId)?.name ?? all()?.lists.find((l) => l.id === listId)?.name ?? "the list";
  const add = useWrite(addContactToListAction, {
    done: (_r, listId) => `${props.name} added to “${nameOf(listId)}”`,
    failed: (listId) => `Couldn't add ${props.name} to “${nameOf(listId)}”`,
  });
  const remove = useWrite(removeFromListAction, {
    done: (_r, listId) => `${props.name} taken off “${nameOf(listId)}”`,
    failed: (listId) => `Couldn't take ${props.name} off “${nameOf(listId)}”`,
  });
  const others = () => (all()?.lists ?? []).filter((l) => !(on() ?? []).some((x) => x.id === l.id));
  const removing = (listId: string) => remove.inFlight().some(([id]) => id === listId);
  return (
    <section class="card contact-card" aria-labelledby="contact-lists">
      <h2 id="contact-lists" class="card-title">
        Lists
      </h2>
      <div class="contact-lists">
        <Suspense fallback={<p class="muted">Loading lists…</p>}>
          <Show when={(on() ?? []).length > 0} fallback={<p class="muted">Not on any list.</p>}>
            <ul class="chips" aria-label="Lists this contact is on" data-testid="contact-lists">
              <For each={on()}>
                {(l) => (
                  <li class="chip" data-list-id={l.id}>
                    <A href={`/contacts?list_id=${l.id}`}>{l.name}</A>
                    <button
                      type="button"
                      aria-label={`Take ${props.name} off “${l.name}”`}
                      title="Take off this list (the contact stays)"
                      disabled={removing(l.id)}
                      onClick={() => void remove.run(l.id, [props.contactId])}
                    >
                      <Icon name="x" size={12} />
                    </button>
                  </li>
                )}
              </For>
            </ul>
          </Show>
          <Show
            when={(all()?.lists.length ?? 0) > 0}
            fallback={
              <p class="muted small">
                Your team has no lists yet: make one on the <A href="/lists">Lists</A> page.
              </p>
            }
          >
            <label class="inline-select">
              <span>Add to list</span>
              <select
                disabled={add.pending() || others().length === 0}
                data-testid="contact-add-to-list"
                onChange={(e) => {
                  const id = e.currentTarget.value;
                  e.currentTarget.value = "";
                  if (id) void add.run(id, props.contactId);
                }}
              >
                <option value="">{others().length ? "Choose…" : "On every list already"}</option>
                <For each={others()}>{(l) => <option value={l.id}>{l.name}</option>}</For>
              </select>
            </label>
          </Show>
        </Suspense>
      </div>
    </section>
  );
}
