import { action, query } from "@solidjs/router";
import {
  api,
  createMailbox,
  data,
  fetchMailboxes,
  fetchOAuthProviders,
  sendTestEmail,
  setMailboxConnected,
  startMailboxSignIn,
  updateMailbox,
} from "../api";

export const getMailboxes = query(() => fetchMailboxes(), "mailboxes");
/** Which sign-in providers (Google, Microsoft) this deployment has credentials for. */
export const getOAuthProviders = query(() => fetchOAuthProviders(), "oauthProviders");

// Writes (actions.ts).
export const createMailboxAction = action(createMailbox, "createMailbox");
export const updateMailboxAction = action(updateMailbox, "updateMailbox");
export const connectMailboxAction = action((id: string) => setMailboxConnected(id, true), "connectMailbox");
export const disconnectMailboxAction = action((id: string) => setMailboxConnected(id, false), "disconnectMailbox");
export const sendTestEmailAction = action(sendTestEmail, "sendTestEmail");
/** Asks the API for the provider's sign-in address; the page then leaves for it. */
export const startSignInAction = action(startMailboxSignIn, "startMailboxSignIn");

/** Removes a mailbox for good; `reassignTo` moves the contacts still sending from it there first. */
export async function removeMailbox(id: string, reassignTo?: string) {
  const query = reassignTo ? { reassign_to: reassignTo } : {};
  return (await data(api.mailboxes[":id"].$delete({ param: { id }, query }))).removed;
}
export const removeMailboxAction = action(removeMailbox, "removeMailbox");
