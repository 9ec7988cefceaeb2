import { query } from "@solidjs/router";
import { fetchMailboxes, fetchMailboxScheduled, fetchOAuthProviders } from "../api";

export const getMailboxes = query(() => fetchMailboxes(), "mailboxes");
/** A mailbox's next emails, in the order it will send them. */
export const getMailboxQueue = query((id: string, limit: number) => fetchMailboxScheduled(id, limit), "mailboxQueue");
/** Which sign-in providers (Google, Microsoft) this deployment has credentials for. */
export const getOAuthProviders = query(() => fetchOAuthProviders(), "oauthProviders");
