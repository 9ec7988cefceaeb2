import { query } from "@solidjs/router";
import { fetchUsers } from "../api";

/** The team's users (owner pickers, shares, report filters). */
export const getUsers = query(() => fetchUsers(), "users");
