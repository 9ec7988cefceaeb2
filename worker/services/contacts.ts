import { bulkInsertStatements } from "../db/bulk";
import { IN_LIST, listParam } from "../db/in-list";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { assertContact, authorize } from "./access";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";

/** Fields a caller may set on a contact (native API and Apollo facade alike). */
export interface ContactInput {
  first_name?: string;
  last_name?: string;
  email?: string | null;
  email_status?: "verified" | "unverified" | "guessed" | "unavailable";
  title?: string | null;
  company?: string | null;
  domain?: string | null;
  phone?: string | null;
  linkedin_url?: string | null;
  city?: string | null;
  country?: string | null;
  time_zone?: string | null;
  owner_id?: string | null;
  stage_id?: string | null;
  list_names?: string[];
}

const COLUMN: Record<string, string> = {
  first_name: "first_name", last_name: "last_name", email: "email", email_status: "email_status", title: "title", company: "company",
  domain: "domain", phone: "phone", linkedin_url: "linkedin_url", city: "city", country: "country", time_zone: "time_zone", owner_id: "owner_id", stage_id: "stage_id",
};

async function checkRefs(d1: D1Database, teamId: string, input: ContactInput) {
  if (input.owner_id) {
    const u = await d1.prepare("SELECT 1 FROM users WHERE id = ? AND team_id = ?").bind(input.owner_id, teamId).first();
    if (!u) throw new ApiError("validation_failed", "Owner not found", { fields: [{ field: "owner_id", message: "No such user in your team" }] });
  }
  if (input.stage_id) {
    const s = await d1.prepare("SELECT 1 FROM contact_stages WHERE id = ? AND team_id = ?").bind(input.stage_id, teamId).first();
    if (!s) throw new ApiError("validation_failed", "Stage not found", { fields: [{ field: "stage_id", message: "No such contact stage in your team" }] });
  }
}

/** Lists by name, created when missing (Apollo's label_names). */
export async function ensureLists(d1: D1Database, caller: Caller, names: string[]): Promise<string[]> {
  const clean = [...new Set(names.map((n) => n.trim()).filter(Boolean))];
  if (!clean.length) return [];
  const t = now();
  await d1.batch(bulkInsertStatements(d1, "lists", ["id", "team_id", "owner_id", "name", "created_at"], clean.map((n) => [newId(), caller.teamId, caller.userId, n, t])));
  const { results } = await d1.prepare(`SELECT id FROM lists WHERE team_id = ? AND name IN ${IN_LIST}`).bind(caller.teamId, listParam(clean)).all<{ id: string }>();
  return results.map((r) => r.id);
}

export async function addToLists(d1: D1Database, teamId: string, listIds: string[], contactIds: string[]) {
  const t = now();
  const rows = listIds.flatMap((l) => contactIds.map((c) => [l, c, teamId, t] as const));
  const stmts = bulkInsertStatements(d1, "list_members", ["list_id", "contact_id", "team_id", "added_at"], rows);
  if (stmts.length) await d1.batch(stmts);
}

/** Create a contact. With `dedupe`, an existing contact with the same email is returned instead. */
export async function createContact(d1: D1Database, caller: Caller, input: ContactInput, o: { dedupe?: boolean; source?: string } = {}) {
  await checkRefs(d1, caller.teamId, input);
  const email = input.email?.trim().toLowerCase() || null;
  if (o.dedupe && email) {
    const existing = await d1.prepare("SELECT id FROM contacts WHERE team_id = ? AND lower(email) = ? AND deleted_at IS NULL").bind(caller.teamId, email).first<{ id: string }>();
    if (existing) {
      if (input.list_names?.length) await addToLists(d1, caller.teamId, await ensureLists(d1, caller, input.list_names), [existing.id]);
      return { id: existing.id, created: false };
    }
  }
  const stage = input.stage_id ?? (await d1.prepare("SELECT id FROM contact_stages WHERE team_id = ? AND category = 'open' ORDER BY position LIMIT 1").bind(caller.teamId).first<{ id: string }>())?.id ?? null;
  const id = newId();
  const t = now();
  await d1
    .prepare(
      `INSERT INTO contacts (id, team_id, owner_id, stage_id, first_name, last_name, title, company, domain, email, email_status, phone, linkedin_url, city, country, time_zone, source, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      id, caller.teamId, input.owner_id ?? caller.userId, stage, input.first_name ?? "", input.last_name ?? "", input.title ?? null, input.company ?? null,
      input.domain ?? (email ? email.split("@")[1] : null), email, input.email_status ?? (email ? "unverified" : "unavailable"), input.phone ?? null,
      input.linkedin_url ?? null, input.city ?? null, input.country ?? null, input.time_zone ?? null, o.source ?? "api", t, t,
    )
    .run();
  if (input.list_names?.length) await addToLists(d1, caller.teamId, await ensureLists(d1, caller, input.list_names), [id]);
  return { id, created: true };
}

export async function updateContact(d1: D1Database, caller: Caller, id: string, input: ContactInput) {
  const current = await d1.prepare("SELECT owner_id AS ownerId FROM contacts WHERE id = ? AND team_id = ? AND deleted_at IS NULL").bind(id, caller.teamId).first<{ ownerId: string | null }>();
  if (!current) throw notFound("Contact");
  assertContact(caller, "contact.edit", current.ownerId);
  // Giving a contact to someone else is its owner's or an admin's call (services/access.ts).
  if (input.owner_id !== undefined && input.owner_id !== current.ownerId) assertContact(caller, "contact.reassign", current.ownerId, input.owner_id);
  await checkRefs(d1, caller.teamId, input);
  const sets: string[] = [];
  const vals: unknown[] = [];
  for (const [k, col] of Object.entries(COLUMN)) {
    const v = (input as Record<string, unknown>)[k];
    if (v === undefined) continue;
    sets.push(`${col} = ?`);
    vals.push(k === "email" && typeof v === "string" ? v.trim().toLowerCase() : v);
  }
  const t = now();
  const r = await d1.prepare(`UPDATE contacts SET ${[...sets, "updated_at = ?"].join(", ")} WHERE id = ? AND team_id = ? AND deleted_at IS NULL`).bind(...vals, t, id, caller.teamId).run();
  if (!r.meta.changes) throw notFound("Contact");
  if (input.list_names?.length) await addToLists(d1, caller.teamId, await ensureLists(d1, caller, input.list_names), [id]);
}

/** Move contacts to a stage; a Do-Not-Contact stage stops them being emailed (checked at send time). */
export async function updateStages(d1: D1Database, caller: Caller, contactIds: string[], stageId: string): Promise<{ updated: number; not_found: string[] }> {
  authorize(caller, "contact.edit");
  await checkRefs(d1, caller.teamId, { stage_id: stageId });
  const ids = [...new Set(contactIds)];
  // RETURNING tells which ids were really changed: unknown, deleted and other teams' ids are reported, not counted.
  const { results } = await d1
    .prepare("UPDATE contacts SET stage_id = ?, updated_at = ? WHERE team_id = ? AND deleted_at IS NULL AND id IN (SELECT value FROM json_each(?)) RETURNING id")
    .bind(stageId, now(), caller.teamId, JSON.stringify(ids))
    .all<{ id: string }>();
  const done = new Set(results.map((r) => r.id));
  return { updated: done.size, not_found: ids.filter((i) => !done.has(i)) };
}

export type BulkAction =
  | { action: "change_owner"; owner_id: string | null }
  | { action: "change_stage"; stage_id: string }
  | { action: "add_to_list"; list_id: string }
  | { action: "delete" };

export interface BulkResult {
  updated: number;
  /** Contacts the caller may not change this way (e.g. another user's contact to reassign), each with why. */
  refused: { contact_id: string; message: string }[];
  not_found: string[];
}

/**
 * One action over many contacts of the caller's team. Reassigning is checked contact by contact
 * (contact.reassign: the contact's owner or an admin; a member may take an unowned one): the ones
 * refused are reported and left unchanged, the others are changed. Deleting marks the contacts
 * deleted (the engine never emails a deleted contact) and takes them out of every list.
 */
export async function bulkContacts(d1: D1Database, caller: Caller, contactIds: string[], a: BulkAction): Promise<BulkResult> {
  authorize(caller, "contact.edit");
  const ids = [...new Set(contactIds)];
  if (a.action === "change_stage") return { ...(await updateStages(d1, caller, ids, a.stage_id)), refused: [] };
  const { results } = await d1
    .prepare(`SELECT id, owner_id FROM contacts WHERE team_id = ? AND deleted_at IS NULL AND id IN ${IN_LIST}`)
    .bind(caller.teamId, listParam(ids))
    .all<{ id: string; owner_id: string | null }>();
  const found = new Map(results.map((r) => [r.id, r.owner_id]));
  const not_found = ids.filter((i) => !found.has(i));
  const refused: BulkResult["refused"] = [];
  let targets = ids.filter((i) => found.has(i));
  const t = now();
  if (a.action === "change_owner") {
    await checkRefs(d1, caller.teamId, { owner_id: a.owner_id });
    targets = targets.filter((id) => {
      try {
        assertContact(caller, "contact.reassign", found.get(id) ?? null, a.owner_id);
        return true;
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        refused.push({ contact_id: id, message: e.message });
        return false;
      }
    });
    if (targets.length) {
      await d1.prepare(`UPDATE contacts SET owner_id = ?, updated_at = ? WHERE team_id = ? AND id IN ${IN_LIST}`).bind(a.owner_id, t, caller.teamId, listParam(targets)).run();
    }
    return { updated: targets.length, refused, not_found };
  }
  if (a.action === "add_to_list") {
    const list = await d1.prepare("SELECT id FROM lists WHERE id = ? AND team_id = ?").bind(a.list_id, caller.teamId).first<{ id: string }>();
    if (!list) throw notFound("List");
    if (targets.length) await addToLists(d1, caller.teamId, [list.id], targets);
    return { updated: targets.length, refused, not_found };
  }
  if (targets.length) {
    await d1.batch([
      d1.prepare(`UPDATE contacts SET deleted_at = ?, updated_at = ? WHERE team_id = ? AND id IN ${IN_LIST}`).bind(t, t, caller.teamId, listParam(targets)),
      d1.prepare(`DELETE FROM list_members WHERE team_id = ? AND contact_id IN ${IN_LIST}`).bind(caller.teamId, listParam(targets)),
    ]);
  }
  return { updated: targets.length, refused, not_found };
}
