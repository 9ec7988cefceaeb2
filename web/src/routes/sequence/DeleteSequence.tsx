import { useWrite } from "../../actions";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import type { MenuItem } from "../../components/Menu";
import type { Sequence, SequenceSummary } from "../../api";
import { archiveSequenceAction, deleteSequenceAction } from "../../queries/sequences";

/** What the Sequences list's and the editor's menus know of a sequence to offer its deletion. */
export type Deletable = { id: string; name: string; archived_at: number | null; in_use: SequenceSummary["in_use"] };

/** Why one that can't be deleted can't (the API's in_use, decided in one place: inUseSql), in the words the API's 409 uses. */
const ARCHIVE_INSTEAD = {
  contacts: "Contacts were added to it, so it can't be deleted: archiving stops it and keeps its reports and replies",
  add_pending:
    "An add of contacts to it is scheduled or under way (nobody is in it yet), so it can't be deleted: archiving stops the add and keeps the sequence",
  add_history:
    "An add of contacts to it finished or was cancelled (nobody is in it), so it can't be deleted: its record stays with it; archiving turns it off and keeps it",
} as const;

/**
 * The sequence menu's delete item (for its owner or an admin). Only a sequence nobody was ever added to
 * and no add named can go, archived or not (the API refuses the others with 409): for one with contacts or
 * an add the item offers archiving instead and says which, one of those already archived offers nothing
 * more, and for one a workflow adds to it says where to go first.
 */
export function deleteItem(s: Deletable): MenuItem | null {
  if (s.in_use === "contacts" || s.in_use === "add_pending" || s.in_use === "add_history")
    return s.archived_at !== null ? null : { id: "archive", label: "Archive instead", hint: ARCHIVE_INSTEAD[s.in_use] };
  if (s.in_use === "workflow")
    return {
      id: "workflows",
      label: "Can't delete: a workflow adds to it",
      hint: "Open Workflows to delete that workflow or point it at another sequence first",
    };
  return { id: "delete", label: "Delete…", hint: "Nobody was ever added to it: it can go for good" };
}

/** Asks before deleting, saying what goes; a refusal (someone added contacts meanwhile) is a toast with the API's reason. */
export function DeleteSequenceDialog(props: {
  seq: { id: string; name: string; steps: number } | null;
  onClose: () => void;
  onDeleted?: () => void;
}) {
  const remove = useWrite(deleteSequenceAction, {
    done: () => `Deleted “${props.seq?.name ?? ""}”`,
    failed: () => `Couldn't delete “${props.seq?.name ?? ""}”`,
  });
  const steps = () => props.seq?.steps ?? 0;
  return (
    <ConfirmDialog
      open={!!props.seq}
      danger
      title={`Delete “${props.seq?.name ?? ""}”?`}
      confirmLabel="Delete sequence"
      busy={remove.pending()}
      onCancel={() => props.onClose()}
      onConfirm={async () => {
        const seq = props.seq;
        if (!seq) return;
        const deleted = await remove.run(seq.id);
        props.onClose();
        if (deleted) props.onDeleted?.();
      }}
    >
      <p>
        It goes for good: {steps() === 0 ? "the sequence" : steps() === 1 ? "its step" : `its ${steps()} steps`}
        {steps() > 0 ? " with their email variants" : ""}, its settings and who it is shared with. Nobody was ever added to it, so no
        contacts, reports or replies are lost.
      </p>
      <p>This can't be undone.</p>
    </ConfirmDialog>
  );
}

/** Asks before archiving (the list's "Archive instead" and the editor's Archive), saying what it stops and what it keeps. */
export function ArchiveSequenceDialog(props: {
  seq: { id: string; name: string } | null;
  onClose: () => void;
  onArchived?: (saved: Sequence) => void;
}) {
  const archive = useWrite(archiveSequenceAction, {
    done: () => `Archived “${props.seq?.name ?? ""}”`,
    failed: () => `Couldn't archive “${props.seq?.name ?? ""}”`,
  });
  return (
    <ConfirmDialog
      open={!!props.seq}
      danger
      title={`Archive “${props.seq?.name ?? ""}”?`}
      confirmLabel="Archive"
      busy={archive.pending()}
      onCancel={() => props.onClose()}
      onConfirm={async () => {
        const seq = props.seq;
        if (!seq) return;
        const saved = await archive.run(seq.id, true);
        if (!saved) return;
        props.onArchived?.(saved);
        props.onClose();
      }}
    >
      <p>
        It turns off and every contact still in it is marked finished. Adding contacts to it stops if it is under way (the credits held for
        the rest come back). Steps and history are kept; you can unarchive it later.
      </p>
    </ConfirmDialog>
  );
}
