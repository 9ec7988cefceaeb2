import { action, query, redirect } from "@solidjs/router";
import { api, data, fetchMe, login, logout } from "../api";

/** The signed-in user and team. Every action revalidates it (the credit balance moves with writes). */
export const getMe = query(() => fetchMe(), "me");

/** What the sign-in page offers (public): the demo accounts only on a local server. */
export const getSignInOptions = query(() => data(api.auth.options.$get()), "signInOptions");

/** Only same-app paths are honoured as a post-sign-in destination (no open redirect). */
function safeNext(next: unknown) {
  return typeof next === "string" && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}

/** The sign-in form posts its FormData here; on success the router goes to `next`. */
export const signInAction = action(async (form: FormData) => {
  const email = String(form.get("email") ?? "").trim();
  const password = String(form.get("password") ?? "");
  await login(email, password);
  query.clear(); // a different user may have been signed in before
  throw redirect(safeNext(form.get("next")));
}, "signIn");

export const signOutAction = action(async () => {
  try {
    await logout();
  } finally {
    query.clear();
  }
  throw redirect("/login");
}, "signOut");
