import { action, query, redirect } from "@solidjs/router";
import { api, data, setCsrfToken } from "../api";

/** Settings → Team: every user (disabled ones too), pending invites, and the writes on them. */

export const getTeamUsers = query(() => data(api.users.$get({ query: { include_disabled: "true" } })), "teamUsers");
export const getInvites = query(() => data(api.invites.$get()), "invites");

export type TeamMember = Awaited<ReturnType<typeof getTeamUsers>>["users"][number];
export type PendingInvite = Awaited<ReturnType<typeof getInvites>>["invites"][number];
export type Role = TeamMember["role"];

/** The answer holds the invite link, shown once (the API never returns it again). */
export const createInviteAction = action(
  (input: { email: string; role: Role; name?: string }) => data(api.invites.$post({ json: input })),
  "createInvite",
);
// No role: the invite keeps the one it grants (the API takes one to change it).
export const reissueInviteAction = action(
  (id: string) => data(api.invites[":id"].reissue.$post({ param: { id }, json: {} })),
  "reissueInvite",
);
export const revokeInviteAction = action((id: string) => data(api.invites[":id"].$delete({ param: { id } })), "revokeInvite");
export const updateUserAction = action(
  (id: string, change: { role?: Role; disabled?: boolean }) => data(api.users[":id"].$patch({ param: { id }, json: change })),
  "updateUser",
);
export const changePasswordAction = action(
  // Every session ends with the change, this one too: the answer is a new session, and its CSRF token.
  async (current_password: string, new_password: string) => {
    const me = await data(api.me.password.$post({ json: { current_password, new_password } }));
    setCsrfToken(me.csrf_token);
    return me;
  },
  "changePassword",
);

/** An open invite, by its link's token (public: no session yet). */
export const getOpenInvite = query((token: string) => data(api.invites[":token"].$get({ param: { token } })), "openInvite");

/** Accepting signs the new user in (the session cookie is set by the answer), then opens the app. */
export const acceptInviteAction = action(async (token: string, name: string, password: string) => {
  const me = await data(api.invites[":token"].accept.$post({ param: { token }, json: { name, password } }));
  setCsrfToken(me.csrf_token);
  query.clear();
  throw redirect("/");
}, "acceptInvite");

/** The answer holds the password reset link, shown once (the API never returns it again). */
export const issuePasswordResetAction = action(
  (id: string) => data(api.users[":id"]["password-reset"].$post({ param: { id } })),
  "issuePasswordReset",
);

/** An open password reset link, by its token (public: no session yet). */
export const getOpenPasswordReset = query(
  (token: string) => data(api["password-resets"][":token"].$get({ param: { token } })),
  "openPasswordReset",
);

/** Setting the new password signs the user in (the answer sets the session cookie), then opens the app. */
export const usePasswordResetAction = action(async (token: string, password: string) => {
  const me = await data(api["password-resets"][":token"].$post({ param: { token }, json: { password } }));
  setCsrfToken(me.csrf_token);
  query.clear();
  throw redirect("/");
}, "usePasswordReset");
