import { query } from "@solidjs/router";
import { api, data } from "../api";

/** CSV imports, newest first (a member's own; admins: the team's). */
export const getImports = query((page: number) => data(api.imports.$get({ query: { page: String(page), per_page: "25" } })), "imports");
