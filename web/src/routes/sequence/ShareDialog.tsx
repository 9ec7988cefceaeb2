import { createAsync } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import { useWrite } from "../../actions";
import type { Sequence } from "../../api";
import { Badge } from "../../components/Badge";
import { Dialog } from "../../components/Dialog";
import { Spinner } from "../../components/Status";
import { FormProblems } from "../../forms";
import { saveSharingAction } from "../../queries/sequences";
import { getUsers } from "../../queries/users";
import { Options } from "../../components/Options";

type Access = "none" | "view" | "edit";

/** Who else may see or change the sequence, and who owns it. Only the owner and admins get here. */
export function ShareDialog(props: { open: boolean; seq: Sequence; onClose: () => void; onApply: (s: Sequence) => void }) {
  const users = createAsync(() => getUsers());
  const [draft, setDraft] = createSignal<Record<string, Access>>({});
  const [owner, setOwner] = createSignal<string>();
  const sharing = useWrite(saveSharingAction, { done: () => "Sharing updated" });
  const errors = sharing.errors;

  const ownerId = () => owner() ?? props.seq.owner_id;
  const accessOf = (userId: string): Access => draft()[userId] ?? props.seq.shares.find((s) => s.user_id === userId)?.access ?? "none";

  const close = () => {
    setDraft({});
    setOwner(undefined);
    sharing.clear();
    props.onClose();
  };

  const save = async () => {
    const shares = (users()?.users ?? [])
      .filter((u) => u.id !== ownerId())
      .map((u) => ({ user_id: u.id, access: accessOf(u.id) }))
      .filter((s): s is { user_id: string; access: "view" | "edit" } => s.access !== "none");
    const seq = await sharing.run(props.seq.id, shares, ownerId() !== props.seq.owner_id ? ownerId() : null);
    if (!seq) return;
    props.onApply(seq);
    close();
  };

  return (
    <Dialog
      open={props.open}
      onClose={close}
      title="Share sequence"
      description="Teammates with view access see the steps and contacts; edit access also lets them change steps and contacts. Admins can always edit."
      size="lg"
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={close}>
            Cancel
          </button>
          <button type="button" class="btn btn-primary" onClick={() => void save()} disabled={sharing.pending() || !users()}>
            {sharing.pending() ? "Saving…" : "Save sharing"}
          </button>
        </>
      }
    >
      <Suspense fallback={<Spinner label="Loading your team…" />}>
        <Show when={users()}>
          {(u) => (
            <div class="stack-sm">
              <div class="field">
                <label for="share-owner">Owner</label>
                <select
                  id="share-owner"
                  value={ownerId()}
                  onChange={(e) => setOwner(e.currentTarget.value)}
                  aria-describedby="share-owner-help"
                >
                  {/* Only active users are listed: a disabled owner is shown as is, not as someone else. */}
                  <Show when={!u().users.some((x) => x.id === props.seq.owner_id)}>
                    <option value={props.seq.owner_id} selected={ownerId() === props.seq.owner_id}>
                      {props.seq.owner_name || "The current owner"} (disabled)
                    </option>
                  </Show>
                  <Options each={u().users} value={ownerId()} id={(x) => x.id}>
                    {(x) => `${x.name} (${x.email})`}
                  </Options>
                </select>
                <p id="share-owner-help" class="field-help">
                  The owner decides who it's shared with. Manual steps become tasks for the owner of the contact's sending mailbox (else the
                  sequence's owner, else the team's first admin); handing the sequence over doesn't move tasks already made.
                </p>
              </div>
              <ul class="share-list" aria-label="Team members">
                <For each={u().users.filter((x) => x.id !== ownerId())}>
                  {(x) => (
                    <li class="share-row">
                      <span class="user-avatar" aria-hidden="true">
                        {x.name
                          .split(/\s+/)
                          .slice(0, 2)
                          .map((w) => w[0]?.toUpperCase())
                          .join("")}
                      </span>
                      <div class="share-who">
                        <strong>{x.name}</strong>
                        <span class="muted small">{x.email}</span>
                      </div>
                      <Show when={x.role === "admin"}>
                        <Badge tone="accent">Admin</Badge>
                      </Show>
                      <label class="sr-only" for={`share-${x.id}`}>
                        Access for {x.name}
                      </label>
                      <select
                        id={`share-${x.id}`}
                        class="input-sm"
                        value={accessOf(x.id)}
                        onChange={(e) => setDraft((d) => ({ ...d, [x.id]: e.currentTarget.value as Access }))}
                      >
                        <option value="none">No access</option>
                        <option value="view">Can view</option>
                        <option value="edit">Can edit</option>
                      </select>
                    </li>
                  )}
                </For>
              </ul>
              <FormProblems form={errors} />
            </div>
          )}
        </Show>
      </Suspense>
    </Dialog>
  );
}
