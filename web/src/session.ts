import { query } from "@solidjs/router";
import { fetchMe } from "./api";

/** The signed-in user and team. Cached by the router; every action revalidates it (credit balance). */
export const getMe = query(() => fetchMe(), "me");
