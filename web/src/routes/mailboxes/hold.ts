import type { Mailbox } from "../../api";
import { TRANSPORTS } from "./MailboxForm";

/** The name a mailbox's transport goes by on screen (the Outbox and SMTP by their picker labels). */
export function transportName(m: Mailbox): string {
  return (
    TRANSPORTS.find((t) => t.id === m.transport)?.label ??
    (m.transport === "gmail" ? "Gmail" : m.transport === "graph" ? "Microsoft 365" : m.transport)
  );
}

/**
 * Why a connected mailbox's sending is held, in the words the Mailboxes card uses, so Home and Mailboxes
 * name a hold alike: the provider's limit, or a sign-in that could not be refreshed.
 */
export function holdHeadline(m: Mailbox, hold: NonNullable<Mailbox["capacity"]["hold"]>): string {
  return hold.cause === "rate_limited" ? `${transportName(m)} limit reached` : `${transportName(m)} sign-in could not be refreshed`;
}
