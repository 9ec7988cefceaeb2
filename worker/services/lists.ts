import { and, asc, count, eq, sql } from "drizzle-orm";
import { bulkInsertSql } from "../db/bulk";
import { batchSql, isUniqueViolation, type Db } from "../db/client";
import { containsFolded, folded, SORT_FOLDS } from "../db/contains";
import { inChunks, inList, listParam, teamRowsById } from "../db/in-list";
import { contacts, listMembers, lists } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { authorize, contactFor, listAllows, listFor } from "./access";
import { workflowsFilteringOnList } from "./workflows";

/**
 * Lists (Apollo's labels): named sets of the team's contacts. This module owns the `lists` and
 * `list_members` tables; the /api routes and the Apollo facade both come through it. Membership is
 * a set (primary key list + contact), so adding twice changes nothing.
 */

/** The longest list name (the screens' field, the API's and Apollo's label names). */
export const LIST_NAME_MAX = 120;

export interface ListView {
  id: string;
  name: string;
  owner_id: string;
  contact_count: number;
  created_at: number;
  /** Whether the caller may rename or delete it (list.manage): the screen offers only what works. */
  can_manage: boolean;
}

// The size is the list's count kept by triggers, not a count of its members on every read.
const viewColumns = {
  id: lists.id,
  name: lists.name,
  owner_id: lists.ownerId,
  created_at: lists.createdAt,
  contact_count: lists.contactCount,
};

const withRights = (caller: Caller, row: Omit<ListView, "can_manage">): ListView => ({
  ...row,
  can_manage: listAllows(caller, row.owner_id),
});

const nameTaken = () =>
  new ApiError("validation_failed", "A list with this name exists", { fields: [{ field: "name", message: "Pick another name" }] });

/** One list of the caller's team with its size (404 for another team's). */
export async function getList(d: Db, caller: Caller, listId: string): Promise<ListView> {
  const [row] = await d
    .select(viewColumns)
    .from(lists)
    .where(and(eq(lists.id, listId), eq(lists.teamId, caller.teamId)));
  if (!row) throw notFound("List");
  return withRights(caller, row);
}

/**
 * Lists by name as a person reads them, case- and accent-blind ("Équipe" among the e's, "alpha" before "Zeta"),
 * then by id: lists_team_name_uq's binary order put every small letter after Z and every accented letter after
 * both. A team's lists are few, so they are sorted for each page rather than read down an index.
 */
const BY_NAME = [asc(folded(lists.name, SORT_FOLDS)), asc(lists.id)];

/** The team's lists whose name contains `q`, by name, a page at a time. */
export async function searchLists(
  d: Db,
  caller: Caller,
  q: { q?: string; page: number; per_page: number },
): Promise<{ lists: ListView[]; total: number }> {
  const where = and(eq(lists.teamId, caller.teamId), q.q ? containsFolded(lists.name, q.q) : undefined);
  const [rows, total] = await d.batch([
    d
      .select(viewColumns)
      .from(lists)
      .where(where)
      .orderBy(...BY_NAME)
      .limit(q.per_page)
      .offset((q.page - 1) * q.per_page),
    d.select({ n: count() }).from(lists).where(where),
  ]);
  return { lists: rows.map((r) => withRights(caller, r)), total: total[0]?.n ?? 0 };
}

/** Every list of a team with its size, by name (Apollo's GET /labels). */
export function allLists(d: Db, teamId: string): Promise<Omit<ListView, "can_manage">[]> {
  return d
    .select(viewColumns)
    .from(lists)
    .where(eq(lists.teamId, teamId))
    .orderBy(...BY_NAME);
}

/** The team's lists with these names (unknown names are left out). */
export function listsByName(d: Db, teamId: string, names: readonly string[]): Promise<{ id: string; name: string }[]> {
  if (!names.length) return Promise.resolve([]);
  return d
    .select({ id: lists.id, name: lists.name })
    .from(lists)
    .where(and(eq(lists.teamId, teamId), inList(lists.name, names)));
}

/**
 * Lists by name, created when missing (Apollo's label_names). INSERT OR IGNORE on the unique
 * (team, name): two requests naming the same new list at once make one list.
 */
export async function ensureLists(d: Db, caller: Caller, names: readonly string[]): Promise<string[]> {
  const clean = [...new Set(names.map((n) => n.trim()).filter(Boolean))];
  if (!clean.length) return [];
  const t = now();
  // The rows as one bound JSON value (bulkInsertSql): as bound columns, 20 names already took D1's 100 parameters.
  await batchSql(
    d,
    bulkInsertSql(
      "lists",
      ["id", "team_id", "owner_id", "name", "created_at"],
      clean.map((name) => [newId(), caller.teamId, caller.userId, name, t]),
      "",
      "ON CONFLICT DO NOTHING",
    ),
  );
  return (await listsByName(d, caller.teamId, clean)).map((r) => r.id);
}

/**
 * Adds the team's live contacts among `contactIds` to a list (already members: no change): how many
 * memberships are new and how many of the contacts were live. Each insert reads the contacts and the
 * list as they are when it runs (ids read earlier are not trusted: a contact deleted since stayed a
 * member, its list's contact_count one too high), and the list is read again in the same batch (D1's
 * transaction): with `mustExist`, a list deleted meanwhile answers 404 (it answered 200, added: 0).
 */
export async function addToList(
  d: Db,
  teamId: string,
  listId: string,
  contactIds: readonly string[],
  o: { mustExist?: boolean } = {},
): Promise<{ added: number; live: number }> {
  const t = now();
  const out = { added: 0, live: 0 };
  await inChunks(contactIds, async (chunk) => {
    const ids = listParam(chunk);
    const [inserted, live, list] = await batchSql(d, [
      sql`INSERT OR IGNORE INTO list_members (list_id, contact_id, team_id, added_at)
          SELECT l.id, c.id, c.team_id, ${t}
          FROM json_each(${ids}) j
          JOIN contacts c ON c.id = j.value AND c.team_id = ${teamId} AND c.deleted_at IS NULL
          JOIN lists l ON l.id = ${listId} AND l.team_id = ${teamId}
          WHERE true RETURNING contact_id`,
      sql`SELECT count(*) AS n FROM json_each(${ids}) j
          JOIN contacts c ON c.id = j.value AND c.team_id = ${teamId} AND c.deleted_at IS NULL`,
      sql`SELECT 1 AS here FROM lists WHERE id = ${listId} AND team_id = ${teamId}`,
    ]);
    if (o.mustExist && !list!.results.length) throw notFound("List");
    out.added += inserted!.results.length;
    out.live += (live!.results[0] as { n: number }).n;
    return [];
  });
  return out;
}

/** `addToList` for each list (those deleted meanwhile are passed over): how many memberships are new. */
export async function addToLists(d: Db, teamId: string, listIds: readonly string[], contactIds: readonly string[]): Promise<number> {
  if (!contactIds.length) return 0;
  let added = 0;
  for (const listId of listIds) added += (await addToList(d, teamId, listId, contactIds)).added;
  return added;
}

/** Create a list owned by the caller; a name the team already uses is 422 naming the field. */
export async function createList(d: Db, caller: Caller, name: string): Promise<ListView> {
  authorize(caller, "contact.edit");
  // One statement: of two creates of one name at once, the second is told the name is taken (a check
  // before the insert answered both with the first one's list, owned by someone else).
  const [row] = await d
    .insert(lists)
    .values({ id: newId(), teamId: caller.teamId, ownerId: caller.userId, name, createdAt: now() })
    .onConflictDoNothing()
    .returning({ id: lists.id });
  if (!row) throw nameTaken();
  return getList(d, caller, row.id);
}

/** Rename a list (its creator or an admin: list.manage). */
export async function renameList(d: Db, caller: Caller, listId: string, name: string): Promise<ListView> {
  const list = await listFor(d, caller, listId);
  try {
    await d
      .update(lists)
      .set({ name })
      .where(and(eq(lists.id, list.id), eq(lists.teamId, caller.teamId)));
  } catch (err) {
    // Another list of the team has the name (lists_team_name_uq): the one check, race-free (a read
    // before the write let two renames at once both pass it). A list renamed to its own name is no clash.
    if (isUniqueViolation(err)) throw nameTaken();
    throw err;
  }
  return getList(d, caller, list.id);
}

/**
 * Delete a list (its creator or an admin); its contacts stay. Not while a workflow's trigger names it
 * (409 naming the workflows): the workflow would wait forever on members it can no longer find.
 */
export async function deleteList(d: Db, caller: Caller, listId: string): Promise<void> {
  const list = await listFor(d, caller, listId);
  const usedBy = await workflowsFilteringOnList(d, caller.teamId, list.id);
  if (usedBy.length)
    throw new ApiError(
      "conflict",
      `This list is in the trigger of ${usedBy.length === 1 ? `the workflow “${usedBy[0]!.name}”` : `${usedBy.length} workflows`}: take it out of their filters first`,
      { workflows: usedBy },
    );
  await d.batch([d.delete(listMembers).where(eq(listMembers.listId, list.id)), d.delete(lists).where(eq(lists.id, list.id))]);
}

/** Add the team's live contacts among `contactIds` to a list; the others are reported as not found. */
export async function addMembers(
  d: Db,
  caller: Caller,
  listId: string,
  contactIds: readonly string[],
): Promise<{ added: number; not_found: string[] }> {
  authorize(caller, "contact.edit");
  const list = await getList(d, caller, listId);
  const ids = [...new Set(contactIds)];
  const rows = await inChunks(ids, (chunk) =>
    d
      .select({ id: contacts.id })
      .from(contacts)
      .where(teamRowsById(contacts, caller.teamId, chunk, contacts.deletedAt)),
  );
  const found = new Set(rows.map((r) => r.id));
  const { added } = await addToList(d, caller.teamId, list.id, [...found], { mustExist: true });
  return { added, not_found: ids.filter((i) => !found.has(i)) };
}

/** Take contacts out of a list (the contacts stay). Anyone who may edit contacts may do it. */
export async function removeMembers(d: Db, caller: Caller, listId: string, contactIds: readonly string[]): Promise<{ removed: number }> {
  const list = await listFor(d, caller, listId, "contact.edit");
  const ids = [...new Set(contactIds)];
  const removed = await inChunks(ids, async (chunk) =>
    d
      .delete(listMembers)
      .where(and(eq(listMembers.listId, list.id), inList(listMembers.contactId, chunk)))
      .returning({ id: listMembers.contactId }),
  );
  return { removed: removed.length };
}

/**
 * The lists a contact of the caller's team is on, by name (its profile page): 404 for another team's
 * contact or a deleted one. A membership's team is its list's (trigger list_members_need_their_list).
 */
export async function contactLists(d: Db, caller: Caller, contactId: string): Promise<ListView[]> {
  const ct = await contactFor(d, caller, contactId);
  const rows = await d
    .select(viewColumns)
    .from(listMembers)
    .innerJoin(lists, eq(lists.id, listMembers.listId))
    .where(and(eq(listMembers.contactId, ct.id), eq(listMembers.teamId, caller.teamId)))
    .orderBy(...BY_NAME);
  return rows.map((r) => withRights(caller, r));
}

/** The lists each of these contacts belongs to, as (contact, list) pairs. */
export function listMembershipsOf(d: Db, teamId: string, contactIds: readonly string[]): Promise<{ contactId: string; listId: string }[]> {
  if (!contactIds.length) return Promise.resolve([]);
  return d
    .select({ contactId: listMembers.contactId, listId: listMembers.listId })
    .from(listMembers)
    .where(and(eq(listMembers.teamId, teamId), inList(listMembers.contactId, contactIds)));
}
