import { createAsync } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import { shareSequence, updateSequence, type Sequence } from "../../api";
import { Badge } from "../../components/Badge";
import { Dialog } from "../../components/Dialog";
import { Spinner } from "../../components/Status";
import { createFormErrors, FormProblems } from "../../forms";
import { notify } from "../../components/Toast";
import { getUsers } from "../../queries/users";

type Access = "none" | "view" | "edit";

/** Who else may see or change the sequence, and who owns it. Only the owner and admins get here. */
export function ShareDialog(props: { open: boolean; seq: Sequence; onClose: () => void; onApply: (s: Sequence) => void }) {
  const users = createAsync(() => getUsers());
  const [draft, setDraft] = createSignal<Record<string, Access>>({});
  const [owner, setOwner] = createSignal<string>();
  const [busy, setBusy] = createSignal(false);
  const errors = createFormErrors();

  const ownerId = () => owner() ?? props.seq.owner_id;
  const accessOf = (userId: string): Access => draft()[userId] ?? props.seq.shares.find((s) => s.user_id === userId)?.access ?? "none";

  const close = () => {
    setDraft({});
    setOwner(undefined);
    errors.clear();
    props.onClose();
  };

  const save = async () => {
    setBusy(true);
    errors.clear();
    try {
      const shares = (users()?.users ?? [])
        .filter((u) => u.id !== ownerId())
        .map((u) => ({ user_id: u.id, access: accessOf(u.id) }))
        .filter((s): s is { user_id: string; access: "view" | "edit" } => s.access !== "none");
      let seq = await shareSequence(props.seq.id, shares);
      if (ownerId() !== props.seq.owner_id) seq = await updateSequence(props.seq.id, { owner_id: ownerId() });
      props.onApply(seq);
      notify("Sharing updated");
      close();
    } catch (err) {
      errors.set(err);
    } finally {
      setBusy(false);
    }
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
          <button type="button" class="btn btn-primary" onClick={() => void save()} disabled={busy() || !users()}>
            {busy() ? "Saving…" : "Save sharing"}
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
                <select id="share-owner" value={ownerId()} onChange={(e) => setOwner(e.currentTarget.value)} aria-describedby="share-owner-help">
                  <For each={u().users}>{(x) => <option value={x.id}>{x.name} ({x.email})</option>}</For>
                </select>
                <p id="share-owner-help" class="field-help">
                  The owner's tasks come from this sequence's manual steps, and the owner decides who it's shared with.
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
                      <select id={`share-${x.id}`} class="input-sm" value={accessOf(x.id)} onChange={(e) => setDraft((d) => ({ ...d, [x.id]: e.currentTarget.value as Access }))}>
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
