import { action, query } from "@solidjs/router";
import {
  createMailbox,
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
