import { createAsync } from "@solidjs/router";
import { Show } from "solid-js";
import { getMailboxes } from "../queries/mailboxes";
import { Options } from "./Options";

/**
 * A mailbox filter's options (the Outbox's and the Replies inbox's): `all` first, then each mailbox you may see. A
 * mailbox named in the URL that isn't listed (still loading, or not yours to see) stays selected, by id, as
 * SequenceOptions does for sequences; the listed ones say themselves whether they are the one (Options).
 */
export function MailboxOptions(props: { mailboxId: string | undefined; all: string }) {
  const mailboxes = createAsync(() => getMailboxes().catch(() => undefined));
  const unlisted = () => !!props.mailboxId && !mailboxes()?.mailboxes.some((m) => m.id === props.mailboxId);
  return (
    <>
      <option value="" selected={!props.mailboxId}>
        {props.all}
      </option>
      <Show when={unlisted()}>
        <option value={props.mailboxId} selected>
          {mailboxes() ? "A mailbox you can't see" : "Loading…"}
        </option>
      </Show>
      <Options each={mailboxes()?.mailboxes} value={props.mailboxId} id={(m) => m.id}>
        {(m) => m.email}
      </Options>
    </>
  );
}
