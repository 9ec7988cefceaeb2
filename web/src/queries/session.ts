import { query } from "@solidjs/router";
import { fetchMe } from "../api";

/** The signed-in user and team. Every action revalidates it (the credit balance moves with writes). */
export const getMe = query(() => fetchMe(), "me");
