import { query } from "@solidjs/router";
import { fetchUsers } from "../api";
import { getTeamUsers, type TeamMember } from "./team";

/** The team's active users: the pickers that give something to someone (an owner, an assignee, a share). */
export const getUsers = query(() => fetchUsers(), "users");

/**
 * Every user of the team, the active ones first, then the disabled: for filters and names of what someone
 * owns or did. A disabled user's contacts, lists and runs stay with the team; without them here a filter
 * by their owner read "Anyone" while showing only theirs, and their contact's owner was "A teammate".
 */
export const getUsersWithDisabled = () =>
  getTeamUsers().then((r) => [...r.users.filter((u) => u.status !== "disabled"), ...r.users.filter((u) => u.status === "disabled")]);

/** A user's name as a filter or a record shows it: a disabled one says so. */
export const userLabel = (u: Pick<TeamMember, "name" | "status">) => (u.status === "disabled" ? `${u.name} (disabled)` : u.name);
