import { and, asc, count, desc, eq, getTableColumns, isNull, or, sql, type SQL } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { containsFolded, fold } from "../db/contains";
import { chunked, inChunks, inList, listParam, teamRowsById } from "../db/in-list";
import {
  CONTACT_FIRST_NAME_FOLDED,
  CONTACT_LAST_NAME_FOLDED,
  CONTACT_SEARCH_TEXT,
  contactChanges,
  contacts,
  contactStages,
  enrollments,
  listMembers,
  lists,
  mailboxes,
  sequences,
  sequenceShares,
  steps,
  teamCounts,
} from "../db/schema";
import type { Caller, Env } from "../env";
import { now } from "../lib/clock";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import {
  assertContact,
  authorize,
  contactFor,
  sequenceAllows,
  sequenceFromBatch,
  sequenceRowQuery,
  teamUser,
  visibleSequence,
} from "./access";
import { auditEach } from "./audit";
import { addToList, addToLists, ensureLists } from "./lists";
import { assertNotSuppressed, suppressionOf, type SuppressionReason } from "./suppressions";
import { engine } from "../../durable-objects/engine";
import { isEmailStep } from "../../durable-objects/sequence-config";
import { explain } from "./enrollments";
import { blockingReason, loadContactStates } from "../../durable-objects/eligibility";
import { mailboxHeldSql } from "../transports/mailbox-settings";

/**
 * Contacts: the team's saved people. This module owns the `contacts` table's reads and writes for the
 * /api routes and the Apollo facade (the add-contacts pipeline and CSV imports create contacts in bulk
 * in their own transactions). Every query is scoped to the caller's team (invariant 8); deleted
 * contacts are invisible. Every change to a contact is logged for condition-triggered workflows by
 * the D1 triggers of migration 0011 (contact_changes), whoever writes it.
 */

export type ContactRow = typeof contacts.$inferSelect;

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
  /** Custom fields to set (a value) or remove (null); the others stay. */
  custom_fields?: Record<string, string | null>;
}

/** The list filters of the Contacts page (and "select all matching"). */
export interface ContactFilter {
  q?: string;
  owner_id?: string;
  stage_id?: string;
  list_id?: string;
}

/**
 * Most custom fields one contact keeps (each value up to 1,000 characters): a merge adds to those a contact
 * has, and repeated edits grew one row past D1's row size (a 500).
 */
export const MAX_CUSTOM_FIELDS = 100;

const tooManyCustomFields = (n: number) => {
  const message = `A contact keeps at most ${MAX_CUSTOM_FIELDS} custom fields; this edit would give it ${n}. Remove some (null) first.`;
  return new ApiError("validation_failed", message, { fields: [{ field: "custom_fields", message }] });
};
const customFieldCount = (fields: Record<string, string | null>) => Object.values(fields).filter((v) => v !== null).length;

/** Most contacts one selection ("all matching") or bulk action takes: what one add-contacts request takes. */
export const MAX_SELECTION = 10_000;

/** 422 for an owner not of the team, 404 for a stage not of it; the owner and stage named (for their audit entries). */
async function checkRefs(d: Db, caller: Caller, input: Pick<ContactInput, "owner_id" | "stage_id">) {
  const owner = input.owner_id ? await teamUser(d, caller, input.owner_id, "owner_id") : null;
  let stage: { id: string; name: string; category: string } | null = null;
  if (input.stage_id) {
    const s = await d.query.contactStages.findFirst({
      columns: { id: true, name: true, category: true },
      where: and(eq(contactStages.id, input.stage_id), eq(contactStages.teamId, caller.teamId)),
    });
    // Another team's stage is not found, as any foreign id is (a 422 told it exists somewhere).
    if (!s) throw notFound("Contact stage");
    stage = s;
  }
  return { owner, stage };
}

/**
 * Who changed a contact's stage, owner or fields, for its timeline (services/timeline.ts): one audit entry per
 * contact and change, with the caller. A stage change can end the contact's runs in every sequence (Do Not
 * Contact), so the timeline must say who did it. Edits name the fields changed, never their values.
 */
const auditStage = (d: Db, caller: Caller, ids: readonly string[], stage: { id: string; name: string }, from?: string | null) =>
  auditEach(
    d,
    caller,
    "contact.stage",
    "contact",
    ids.map((id) => ({
      targetId: id,
      details: { stage_id: stage.id, stage: stage.name, ...(from !== undefined && { from_stage_id: from }) },
    })),
  );
const auditOwner = (d: Db, caller: Caller, ids: readonly string[], owner: { id: string; name: string } | null, from?: string | null) =>
  auditEach(
    d,
    caller,
    "contact.owner",
    "contact",
    ids.map((id) => ({
      targetId: id,
      details: { owner_id: owner?.id ?? null, owner: owner?.name ?? null, ...(from !== undefined && { from_owner_id: from }) },
    })),
  );

/**
 * Of these sequences, those the caller can't edit (or can't see). Every sequence's check in one D1 round trip
 * per 50 sequences (sequenceFor's query and decision, batched): one round trip per sequence, one after another,
 * made every Do Not Contact change as slow as its contacts' sequences were many.
 */
export async function sequencesCantEdit(d: Db, caller: Caller, seqIds: readonly string[]): Promise<Set<string>> {
  const cantEdit = new Set<string>();
  for (const ids of chunked([...new Set(seqIds)], 50)) {
    const queries = ids.map((id) => sequenceRowQuery(d, caller, id));
    const results = await batchSql(d, queries);
    ids.forEach((seqId, i) => {
      try {
        sequenceFromBatch(caller, queries[i]!, results[i], "sequence.edit");
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        cantEdit.add(seqId);
      }
    });
  }
  return cantEdit;
}

/** An open run (scheduled, active, paused, held) of a contact in a sequence. */
export type OpenRun = { id: string; sequenceId: string; contactId: string };

/**
 * Only a sequence's editors change its contacts (invariant 9): an action that would take contacts out of
 * sequences (deleting them, moving them to Do Not Contact) is refused whole, before anything changes, when
 * one of their open runs is in a sequence the caller can't edit. `doing` names the action ("deleting").
 * `effect` says what the action would do to the run (taking them out of it, unless told otherwise).
 * `selected` are the contacts the caller chose (all of `open`'s when not given); a run of another contact
 * (one with the same address, which Do Not Contact ends too) is named as that contact's, not counted as
 * one of theirs: "1 of these contacts is in a sequence" was false when only its twin was.
 */
export async function refuseLockedRuns(
  d: Db,
  caller: Caller,
  open: readonly OpenRun[],
  doing: string,
  selected?: readonly string[],
  effect = "would take them out of it",
) {
  const locked = await sequencesCantEdit(
    d,
    caller,
    open.map((e) => e.sequenceId),
  );
  if (!locked.size) return;
  const chosen = selected && new Set(selected);
  const lockedContacts = new Set(open.filter((e) => locked.has(e.sequenceId)).map((e) => e.contactId));
  const n = [...lockedContacts].filter((id) => !chosen || chosen.has(id)).length;
  const twins = lockedContacts.size - n;
  const theirs = n > 0 && `${n} of these contacts ${n === 1 ? "is" : "are"} in a sequence you can't edit; ${doing} ${effect}.`;
  const others =
    twins > 0 &&
    `${twins === 1 ? "Another contact" : `${twins} other contacts`} with the same address ${twins === 1 ? "is" : "are"} in a sequence you can't edit; ${doing} would take ${twins === 1 ? "it" : "them"} out of it too (Do Not Contact holds for the address).`;
  throw new ApiError(
    "forbidden",
    `${[theirs, others].filter(Boolean).join(" ")} Ask the sequence's owner or an admin${n > 0 ? ", or leave them out" : ""}.`,
  );
}

/**
 * The open runs a Do Not Contact stage ends for these contacts: theirs and those of the team's other live
 * contacts with the same address (Do Not Contact is the address's, STAGE_CATEGORY_SQL), as a reply or an
 * unsubscribe finishes every run of the address.
 */
function doNotContactRuns(d: Db, teamId: string, contactIds: readonly string[]): Promise<OpenRun[]> {
  return inChunks(contactIds, (chunk) =>
    d
      .select({ id: enrollments.id, sequenceId: enrollments.sequenceId, contactId: enrollments.contactId })
      .from(enrollments)
      .where(
        and(
          // The contacts and their address's other live contacts (each found by contacts_team_email_idx),
          // then their enrollments by contact (enrollments_contact_idx); team and status only filter.
          sql`${enrollments.contactId} IN (
                SELECT value FROM json_each(${listParam(chunk)})
                UNION SELECT o.id FROM contacts c JOIN contacts o ON o.team_id = c.team_id AND lower(o.email) = lower(c.email) AND o.deleted_at IS NULL
                 WHERE ${inList(sql`c.id`, chunk)} AND +c.team_id = ${teamId})`,
          sql`+${enrollments.teamId} = ${teamId}`,
          sql`+${enrollments.status} IN ('scheduled', 'active', 'paused', 'held')`,
        ),
      ),
  );
}

/** These contacts' own open runs (scheduled, active, paused, held). */
export function openRunsOf(d: Db, teamId: string, contactIds: readonly string[]): Promise<OpenRun[]> {
  return inChunks(contactIds, (chunk) =>
    d
      .select({ id: enrollments.id, sequenceId: enrollments.sequenceId, contactId: enrollments.contactId })
      .from(enrollments)
      .where(
        and(
          inList(enrollments.contactId, chunk),
          eq(enrollments.teamId, teamId),
          sql`${enrollments.status} IN ('scheduled', 'active', 'paused', 'held')`,
        ),
      ),
  );
}

/**
 * Contacts just put in a Do Not Contact stage leave their sequences now: their open runs (and their address's,
 * doNotContactRuns) finish with reason do_not_contact through each SequenceDO (which cancels their open tasks).
 * The send-time check already stopped their emails (invariant 5), but a call or LinkedIn task stayed due and
 * the run read "Active". The caller was checked first (refuseLockedRuns) to edit every sequence they are in.
 * Finishing is taken once, so a repeated stage change (a retry after a failure here) finishes what is left.
 * Answers how many contacts' runs it ended.
 */
async function finishDoNotContactRuns(env: Env, d: Db, teamId: string, contactIds: readonly string[]): Promise<number> {
  const open = await doNotContactRuns(d, teamId, contactIds);
  const bySequence = new Map<string, string[]>();
  for (const e of open) bySequence.set(e.sequenceId, [...(bySequence.get(e.sequenceId) ?? []), e.id]);
  for (const [sequenceId, ids] of bySequence)
    for (const chunk of chunked(ids)) await engine.sequence(env, sequenceId, teamId).finish(chunk, "do_not_contact");
  return new Set(open.map((e) => e.contactId)).size;
}

/** The team's first "open" stage: where new contacts start. */
export async function openStageId(d: Db, teamId: string): Promise<string | null> {
  const s = await d.query.contactStages.findFirst({
    columns: { id: true },
    where: and(eq(contactStages.teamId, teamId), eq(contactStages.category, "open")),
    orderBy: asc(contactStages.position),
  });
  return s?.id ?? null;
}

/** One live contact of the caller's team (404 otherwise). */
export async function getContact(d: Db, caller: Caller, id: string): Promise<ContactRow> {
  const row = await d.query.contacts.findFirst({
    where: and(eq(contacts.id, id), eq(contacts.teamId, caller.teamId), isNull(contacts.deletedAt)),
  });
  if (!row) throw notFound("Contact");
  return row;
}

/** Live contacts of a team by id, in no particular order (unknown ids are left out). */
export function contactsByIds(d: Db, teamId: string, ids: readonly string[]): Promise<ContactRow[]> {
  return inChunks(ids, (chunk) =>
    d
      .select()
      .from(contacts)
      .where(teamRowsById(contacts, teamId, chunk, contacts.deletedAt)),
  );
}

/** The team's live contacts with this email (case-insensitive). */
export async function contactByEmail(d: Db, teamId: string, email: string): Promise<ContactRow | undefined> {
  return d.query.contacts.findFirst({
    where: and(eq(contacts.teamId, teamId), sql`lower(${contacts.email}) = ${email.trim().toLowerCase()}`, isNull(contacts.deletedAt)),
  });
}

/**
 * The name order, as a person reads it: last name then first name, lower-cased with their accents taken off
 * (Élodie among the e's, not after Z), in contacts_team_folded_name_idx's expressions so the page walks it.
 */
const LAST_NAME_FOLDED = sql.raw(CONTACT_LAST_NAME_FOLDED);
const FIRST_NAME_FOLDED = sql.raw(CONTACT_FIRST_NAME_FOLDED);

/** What CONTACT_SEARCH_TEXT joins the fields with: char(1). */
const SEARCH_TEXT_JOIN = "\u0001";

/** The team's live contacts matching the list filters (search, owner, stage, list). */
export function contactConditions(teamId: string, q: ContactFilter) {
  const conds = [eq(contacts.teamId, teamId), isNull(contacts.deletedAt)];
  // "none": the contacts nobody owns ("me" is read as the caller by the route, which knows who it is).
  if (q.owner_id) conds.push(q.owner_id === "none" ? isNull(contacts.ownerId) : eq(contacts.ownerId, q.owner_id));
  if (q.stage_id) conds.push(eq(contacts.stageId, q.stage_id));
  if (q.list_id)
    conds.push(
      sql`${contacts.id} IN (SELECT ${listMembers.contactId} FROM ${listMembers} WHERE ${listMembers.listId} = ${q.list_id} AND ${listMembers.teamId} = ${teamId})`,
    );
  if (q.q)
    conds.push(
      // The joined text of contacts_team_search_idx, so a count reads the index alone; a search holding
      // the joining character itself could match across two fields there, so it looks field by field.
      q.q.includes(SEARCH_TEXT_JOIN)
        ? or(
            containsFolded(contacts.firstName, q.q),
            containsFolded(contacts.lastName, q.q),
            containsFolded(contacts.email, q.q),
            containsFolded(contacts.company, q.q),
          )!
        : sql`instr(${sql.raw(CONTACT_SEARCH_TEXT)}, ${fold(q.q)}) > 0`,
    );
  return and(...conds);
}

/**
 * How many contacts match: with no filter, the team's count kept by triggers (team_counts, one row)
 * instead of counting the whole address book on every page; else counted.
 */
function contactTotal(d: Db, teamId: string, filtered: boolean, where: SQL | undefined) {
  return filtered
    ? d.select({ n: count() }).from(contacts).where(where)
    : d.select({ n: teamCounts.contacts }).from(teamCounts).where(eq(teamCounts.teamId, teamId));
}
/**
 * The list a filter names, if it is the team's (no list_id: a statement that reads nothing, so the
 * batch keeps its shape). Another team's or a deleted list answers 404, not an empty page.
 */
export const theList = (d: Db, teamId: string, listId: string | undefined) =>
  d
    .select({ id: lists.id })
    .from(lists)
    .where(and(eq(lists.id, listId ?? ""), eq(lists.teamId, teamId)))
    .limit(listId ? 1 : 0);
const isFiltered = (q: ContactFilter) => Boolean(q.owner_id || q.stage_id || q.list_id || q.q);

/** One page of the team's contacts matching the filters, with the total. */
export async function searchContacts(
  d: Db,
  caller: Caller,
  q: ContactFilter & { sort: "created_at" | "name" | "score"; page: number; per_page: number },
): Promise<{ contacts: (ContactRow & { suppression: SuppressionReason | null })[]; total: number }> {
  const where = contactConditions(caller.teamId, q);
  // Newest first breaks ties by id in the same direction, along contacts_team_created_idx (team,
  // created_at, id): a CSV part's rows share one created_at, and a tie broken the other way sorted every
  // contact of the instant before the page (test/api/contacts-page-reads).
  const order =
    q.sort === "name"
      ? [asc(LAST_NAME_FOLDED), asc(FIRST_NAME_FOLDED), asc(contacts.id)]
      : q.sort === "score"
        ? [desc(contacts.score), asc(contacts.id)]
        : [desc(contacts.createdAt), desc(contacts.id)];
  // One D1 round trip for the page, its total and the list filtered on (a batch), not two.
  const [rows, total, list] = await d.batch([
    d
      .select({ ...getTableColumns(contacts), suppression: suppressionOf() })
      .from(contacts)
      .where(where)
      .orderBy(...order)
      .limit(q.per_page)
      .offset((q.page - 1) * q.per_page),
    contactTotal(d, caller.teamId, isFiltered(q), where),
    theList(d, caller.teamId, q.list_id),
  ]);
  if (q.list_id && !list.length) throw notFound("List");
  return { contacts: rows, total: total[0]?.n ?? 0 };
}

/** Ids of every contact matching the filters ("select all matching"), at most MAX_SELECTION; too_many says when more match. */
export async function matchingContactIds(
  d: Db,
  caller: Caller,
  q: ContactFilter,
): Promise<{ ids: string[]; total: number; too_many: boolean }> {
  const where = contactConditions(caller.teamId, q);
  const [rows, total, list] = await d.batch([
    d.select({ id: contacts.id }).from(contacts).where(where).orderBy(asc(contacts.id)).limit(MAX_SELECTION),
    contactTotal(d, caller.teamId, isFiltered(q), where),
    theList(d, caller.teamId, q.list_id),
  ]);
  if (q.list_id && !list.length) throw notFound("List");
  const n = total[0]?.n ?? 0;
  return { ids: rows.map((r) => r.id), total: n, too_many: n > MAX_SELECTION };
}

/** The team's contact stages in their order. */
export function contactStagesOf(d: Db, teamId: string) {
  return d
    .select({ id: contactStages.id, name: contactStages.name, category: contactStages.category, position: contactStages.position })
    .from(contactStages)
    .where(eq(contactStages.teamId, teamId))
    .orderBy(asc(contactStages.position));
}

/**
 * The sequences a contact is in (only those the caller may see), newest first, with its status in each, and
 * whether the caller may act on the run there (pause, resume, finish, remove: the enrollment actions' sequence.edit).
 */
export async function contactSequences(d: Db, caller: Caller, contactId: string) {
  const ct = await contactFor(d, caller, contactId);
  // The contact as the engine reads it when a step falls due (loadContactStates), beside the runs: a run of a
  // contact it won't email says so (explain's contactBlock), not "Active" with its next send.
  const [state, rows] = await Promise.all([
    loadContactStates(d, caller.teamId, [ct.id]).then((m) => m.get(ct.id)),
    d
      .select({
        id: enrollments.id,
        sequence_id: enrollments.sequenceId,
        name: sequences.name,
        active: sequences.active,
        archivedAt: sequences.archivedAt,
        status: enrollments.status,
        reason: enrollments.reason,
        current_step: enrollments.currentStep,
        next_due_at: enrollments.nextDueAt,
        added_at: enrollments.createdAt,
        mailboxStatus: mailboxes.status,
        mailboxReason: mailboxes.statusReason,
        mailboxHeld: sql<number | null>`${sql.raw(mailboxHeldSql('"mailboxes"'))}`,
        stepType: steps.type,
        ownerId: sequences.ownerId,
        share: sequenceShares.access,
      })
      .from(enrollments)
      .innerJoin(sequences, eq(sequences.id, enrollments.sequenceId))
      .leftJoin(sequenceShares, and(eq(sequenceShares.sequenceId, sequences.id), eq(sequenceShares.userId, caller.userId)))
      .leftJoin(mailboxes, eq(mailboxes.id, enrollments.mailboxId))
      .leftJoin(steps, and(eq(steps.sequenceId, enrollments.sequenceId), eq(steps.position, enrollments.currentStep)))
      .where(and(eq(enrollments.teamId, caller.teamId), eq(enrollments.contactId, ct.id), visibleSequence(caller, enrollments.sequenceId)))
      .orderBy(desc(enrollments.createdAt), asc(enrollments.id))
      .limit(200),
  ]);
  // What the sequence's contacts tab says of the same run (explain): "Mailbox is disconnected", not "Queued".
  return rows.map(({ archivedAt, mailboxStatus, mailboxReason, mailboxHeld, stepType, ownerId, share, ...r }) => {
    const why = explain(
      {
        reason: r.reason,
        status: String(r.status),
        mailboxStatus,
        mailboxReason,
        mailboxHeld: !!mailboxHeld,
        emailStep: !stepType || isEmailStep(stepType),
        contactBlock: blockingReason(state, !stepType || isEmailStep(stepType)),
      },
      { active: !!r.active, archivedAt },
    );
    return {
      ...r,
      active: !!r.active,
      status: String(r.status),
      reason: why.reason,
      reason_text: why.text,
      can_edit: sequenceAllows(caller, "sequence.edit", ownerId, share),
    };
  });
}

/** The domain of an address (what a contact's domain is taken from when none is given). */
const domainOf = (email: string | null | undefined) => email?.split("@")[1] ?? null;

/**
 * The status of an address a user typed, when they give none: we haven't checked it, so "unverified" (adding
 * warns), or "unavailable" without one. One rule for creating and editing a contact. The Apollo facade gives
 * `given` "verified" (Apollo keeps a customer's address as verified, "user managed").
 */
const statusOfGivenEmail = (email: string | null, given: EmailStatus = "unverified") => (email ? given : ("unavailable" as const));

type EmailStatus = NonNullable<ContactInput["email_status"]>;

/** How a caller's contacts are written: `newEmailStatus`, a new address's status when the input names none. */
export interface ContactWriteOptions {
  newEmailStatus?: EmailStatus;
}

/** Create a contact. With `dedupe`, an existing contact with the same email is returned instead. */
export async function createContact(
  d: Db,
  caller: Caller,
  input: ContactInput,
  o: ContactWriteOptions & { dedupe?: boolean; source?: string } = {},
) {
  authorize(caller, "contact.edit");
  // A new contact is the caller's; creating it for someone else is giving it to them (contact.reassign, as on
  // an edit): a member or a standard key creating contacts owned by others got round that rule.
  if (input.owner_id && input.owner_id !== caller.userId) assertContact(caller, "contact.reassign", null, input.owner_id);
  await checkRefs(d, caller, input);
  const email = input.email?.trim().toLowerCase() || null;
  if (o.dedupe && email) {
    const existing = await contactByEmail(d, caller.teamId, email);
    if (existing) {
      if (input.list_names?.length) await addToLists(d, caller.teamId, await ensureLists(d, caller, input.list_names), [existing.id]);
      return { id: existing.id, created: false };
    }
  }
  // A deleted contact's suppression (unsubscribed, bounced, Do Not Contact) outlives it: the address isn't
  // saved again, whichever way in (the API, Apollo's facade).
  await assertNotSuppressed(d, caller.teamId, email);
  const stage = input.stage_id ?? (await openStageId(d, caller.teamId));
  const id = newId();
  const t = now();
  await d.insert(contacts).values({
    id,
    teamId: caller.teamId,
    ownerId: input.owner_id ?? caller.userId,
    stageId: stage,
    firstName: input.first_name ?? "",
    lastName: input.last_name ?? "",
    title: input.title ?? null,
    company: input.company ?? null,
    domain: input.domain ?? domainOf(email),
    email,
    emailStatus: input.email_status ?? statusOfGivenEmail(email, o.newEmailStatus),
    phone: input.phone ?? null,
    linkedinUrl: input.linkedin_url ?? null,
    city: input.city ?? null,
    country: input.country ?? null,
    timeZone: input.time_zone ?? null,
    customFields: Object.fromEntries(Object.entries(input.custom_fields ?? {}).filter((e): e is [string, string] => e[1] !== null)),
    source: o.source ?? "api",
    createdAt: t,
    updatedAt: t,
  });
  if (o.dedupe && email) {
    // Two creates of one address at once (a client's retry over a slow answer) both found none above: the
    // contact made first (ids grow) is the one both answer with, and this one is taken back.
    const [first] = await d
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(eq(contacts.teamId, caller.teamId), sql`lower(${contacts.email}) = ${email}`, isNull(contacts.deletedAt)))
      .orderBy(asc(contacts.id))
      .limit(1);
    if (first && first.id !== id) {
      // Its "created" change goes with it: a change workflow must not find a contact that never was.
      await d.batch([
        d.delete(contactChanges).where(and(eq(contactChanges.contactId, id), eq(contactChanges.teamId, caller.teamId))),
        d.delete(contacts).where(and(eq(contacts.id, id), eq(contacts.teamId, caller.teamId))),
      ]);
      if (input.list_names?.length) await addToLists(d, caller.teamId, await ensureLists(d, caller, input.list_names), [first.id]);
      return { id: first.id, created: false };
    }
  }
  if (input.list_names?.length) await addToLists(d, caller.teamId, await ensureLists(d, caller, input.list_names), [id]);
  return { id, created: true };
}

/** The contact columns a ContactInput sets (list_names is membership, not a column). */
function patchOf(input: ContactInput): Partial<typeof contacts.$inferInsert> {
  const p: Partial<typeof contacts.$inferInsert> = {};
  if (input.first_name !== undefined) p.firstName = input.first_name;
  if (input.last_name !== undefined) p.lastName = input.last_name;
  if (input.email !== undefined) p.email = input.email === null ? null : input.email.trim().toLowerCase();
  if (input.email_status !== undefined) p.emailStatus = input.email_status;
  if (input.title !== undefined) p.title = input.title;
  if (input.company !== undefined) p.company = input.company;
  if (input.domain !== undefined) p.domain = input.domain;
  if (input.phone !== undefined) p.phone = input.phone;
  if (input.linkedin_url !== undefined) p.linkedinUrl = input.linkedin_url;
  if (input.city !== undefined) p.city = input.city;
  if (input.country !== undefined) p.country = input.country;
  if (input.time_zone !== undefined) p.timeZone = input.time_zone;
  if (input.owner_id !== undefined) p.ownerId = input.owner_id;
  if (input.stage_id !== undefined) p.stageId = input.stage_id;
  return p;
}

export async function updateContact(env: Env, d: Db, caller: Caller, id: string, input: ContactInput, o: ContactWriteOptions = {}) {
  const current = await getContact(d, caller, id);
  assertContact(caller, "contact.edit", current.ownerId);
  // Giving a contact to someone else is its owner's or an admin's call (services/access.ts).
  const ownerChanged = input.owner_id !== undefined && input.owner_id !== current.ownerId;
  if (ownerChanged) assertContact(caller, "contact.reassign", current.ownerId, input.owner_id);
  // The owner is checked only when it changes: a form sending back the owner it has (one since disabled) still saves.
  const refs = await checkRefs(d, caller, { stage_id: input.stage_id, owner_id: ownerChanged ? input.owner_id : undefined });
  // A new address must not be a suppressed one (the contact's own, unchanged, may be).
  const email = input.email === undefined ? undefined : input.email?.trim().toLowerCase() || null;
  const emailChanged = email !== undefined && email !== (current.email?.toLowerCase() ?? null);
  if (emailChanged) await assertNotSuppressed(d, caller.teamId, email);
  if (refs.stage?.category === "dnc")
    await refuseLockedRuns(d, caller, await doNotContactRuns(d, caller.teamId, [id]), "moving them to Do Not Contact", [id]);
  // The address is where a sequence's queued and next emails go, and its status whether they go at all: only
  // the editors of every sequence the contact is running in may change them. Otherwise a member with a view
  // share (or none) of another's sequence could redirect its emails to an address of their own.
  const emailStatusChanged = input.email_status !== undefined && input.email_status !== current.emailStatus;
  if (emailChanged || emailStatusChanged)
    await refuseLockedRuns(
      d,
      caller,
      await openRunsOf(d, caller.teamId, [id]),
      "changing their email address",
      [id],
      "would change where its emails go",
    );
  const merged = input.custom_fields && { ...current.customFields, ...input.custom_fields };
  if (merged && customFieldCount(merged) > MAX_CUSTOM_FIELDS) throw tooManyCustomFields(customFieldCount(merged));
  const customPatch = JSON.stringify(input.custom_fields ?? {});
  const done = await d
    .update(contacts)
    .set({
      ...patchOf(input),
      ...(emailChanged && {
        // What was known of the old address isn't of the new one: its status (a typed address is unchecked,
        // a cleared one unavailable), and its bounce (the bounced address stays on the suppression list, and
        // the new one isn't on it, checked above), so the contact can be added again.
        email,
        emailStatus: input.email_status ?? statusOfGivenEmail(email, o.newEmailStatus),
        ...(email && { bouncedAt: null }),
        // A domain taken from the old address follows the new one; one given or set apart stays.
        ...(email &&
          input.domain === undefined &&
          (!current.domain || current.domain === domainOf(current.email?.toLowerCase())) && {
            domain: domainOf(email),
          }),
      }),
      // Merged: the fields named change (null removes one), the others stay (RFC 7396, SQLite's json_patch).
      ...(input.custom_fields && { customFields: sql`json_patch(${contacts.customFields}, ${customPatch})` }),
      updatedAt: now(),
    })
    .where(
      and(
        eq(contacts.id, id),
        eq(contacts.teamId, caller.teamId),
        isNull(contacts.deletedAt),
        // The limit again in the write: two edits at once each checked the fields read before either wrote.
        input.custom_fields
          ? sql`(SELECT count(*) FROM json_each(json_patch(${contacts.customFields}, ${customPatch}))) <= ${MAX_CUSTOM_FIELDS}`
          : undefined,
      ),
    )
    .returning({ id: contacts.id });
  if (!done.length) {
    const again = await getContact(d, caller, id);
    throw tooManyCustomFields(customFieldCount({ ...again.customFields, ...input.custom_fields }));
  }
  if (refs.stage && refs.stage.id !== current.stageId) await auditStage(d, caller, [id], refs.stage, current.stageId);
  if (ownerChanged) await auditOwner(d, caller, [id], refs.owner, current.ownerId);
  const fields = editedFields(current, input);
  if (fields.length) await auditEach(d, caller, "contact.edit", "contact", [{ targetId: id, details: { fields } }]);
  if (input.list_names?.length) await addToLists(d, caller.teamId, await ensureLists(d, caller, input.list_names), [id]);
  if (refs.stage?.category === "dnc") await finishDoNotContactRuns(env, d, caller.teamId, [id]);
}

/** The API names of the fields an edit really changes (not owner and stage: audited apart), custom fields as custom.<key>. */
function editedFields(current: ContactRow, input: ContactInput): string[] {
  const patch = patchOf(input);
  const fields = (Object.keys(patch) as (keyof typeof patch)[])
    .filter((k) => k !== "ownerId" && k !== "stageId" && patch[k] !== (k === "email" ? (current.email?.toLowerCase() ?? null) : current[k]))
    .map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  const custom = Object.entries(input.custom_fields ?? {})
    .filter(([k, v]) => (current.customFields[k] ?? null) !== v)
    .map(([k]) => `custom.${k}`);
  return [...fields, ...custom];
}

/** Move contacts to a stage; a Do-Not-Contact stage takes them out of their sequences (and is checked at send time). */
export async function updateStages(
  env: Env,
  d: Db,
  caller: Caller,
  contactIds: readonly string[],
  stageId: string,
): Promise<{ updated: number; not_found: string[]; runs_ended: number }> {
  authorize(caller, "contact.edit");
  const stage = (await checkRefs(d, caller, { stage_id: stageId })).stage!;
  const ids = [...new Set(contactIds)];
  // Do Not Contact ends their runs in every sequence they are in: refused first when one is not the caller's to edit.
  if (stage.category === "dnc")
    await refuseLockedRuns(d, caller, await doNotContactRuns(d, caller.teamId, ids), "moving them to Do Not Contact", ids);
  // RETURNING tells which ids were really changed: unknown, deleted and other teams' ids are reported, not counted.
  const changed = await inChunks(ids, async (chunk) => {
    const rows = await d
      .update(contacts)
      .set({ stageId, updatedAt: now() })
      .where(teamRowsById(contacts, caller.teamId, chunk, contacts.deletedAt))
      .returning({ id: contacts.id });
    await auditStage(
      d,
      caller,
      rows.map((r) => r.id),
      stage,
    );
    return rows;
  });
  const done = new Set(changed.map((r) => r.id));
  const runs_ended = stage.category === "dnc" ? await finishDoNotContactRuns(env, d, caller.teamId, [...done]) : 0;
  return { updated: done.size, not_found: ids.filter((i) => !done.has(i)), runs_ended };
}

/** What moving contacts to a stage would do (previewStages): nothing is written. */
export interface StagePreview {
  /** The live contacts of the caller's team among the ids: those the move would change. */
  contacts: number;
  not_found: string[];
  /** Do Not Contact: the open sequence runs it would end (theirs and their address's other contacts'), and whose. */
  runs_ending: number;
  contacts_with_runs: number;
  /** Of contacts_with_runs, those not chosen: other live contacts with the same address (Do Not Contact holds for it). */
  other_contacts: number;
}

/**
 * updateStages' preview, for its confirmation to say what will happen before the click: the same rights (the
 * contact.edit rule, the stage is the team's, and for Do Not Contact the refusal when a run is in a sequence
 * the caller can't edit, as a 403 with the action's own words), the same runs (doNotContactRuns), read in
 * chunks of ids under D1's bound-parameter limit; it writes nothing.
 */
export async function previewStages(d: Db, caller: Caller, contactIds: readonly string[], stageId: string): Promise<StagePreview> {
  authorize(caller, "contact.edit");
  const stage = (await checkRefs(d, caller, { stage_id: stageId })).stage!;
  const ids = [...new Set(contactIds)];
  const live = await inChunks(ids, (chunk) =>
    d
      .select({ id: contacts.id })
      .from(contacts)
      .where(teamRowsById(contacts, caller.teamId, chunk, contacts.deletedAt)),
  );
  const found = new Set(live.map((r) => r.id));
  const not_found = ids.filter((i) => !found.has(i));
  if (stage.category !== "dnc") return { contacts: found.size, not_found, runs_ending: 0, contacts_with_runs: 0, other_contacts: 0 };
  // The action's own check, on the same ids (a foreign or deleted id has no open run of the team to count).
  const open = await doNotContactRuns(d, caller.teamId, ids);
  await refuseLockedRuns(d, caller, open, "moving them to Do Not Contact", ids);
  // Counted from the live contacts only, as the move ends runs of those it changed: a deleted contact's address
  // reaches its live twins' runs, which the move leaves running.
  const ending = not_found.length ? await doNotContactRuns(d, caller.teamId, [...found]) : open;
  const whose = new Set(ending.map((e) => e.contactId));
  return {
    contacts: found.size,
    not_found,
    runs_ending: new Set(ending.map((e) => e.id)).size,
    contacts_with_runs: whose.size,
    other_contacts: [...whose].filter((id) => !found.has(id)).length,
  };
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
  /** add_to_list: contacts that were in the list already (not in `updated`). */
  already_in_list?: number;
  /** change_stage: contacts whose open sequence runs it ended (Do Not Contact; their address's other contacts too). */
  runs_ended?: number;
}

/**
 * One action over many contacts of the caller's team. Reassigning is checked contact by contact
 * (contact.reassign: the contact's owner or an admin; a member may take an unowned one): the ones
 * refused are reported and left unchanged, the others are changed. Deleting marks the contacts
 * deleted (the engine never emails a deleted contact) and takes them out of every list.
 */
export async function bulkContacts(env: Env, d: Db, caller: Caller, contactIds: readonly string[], a: BulkAction): Promise<BulkResult> {
  authorize(caller, "contact.edit");
  const ids = [...new Set(contactIds)];
  if (a.action === "change_stage") return { ...(await updateStages(env, d, caller, ids, a.stage_id)), refused: [] };
  const rows = await inChunks(ids, (chunk) =>
    d
      .select({ id: contacts.id, ownerId: contacts.ownerId })
      .from(contacts)
      .where(teamRowsById(contacts, caller.teamId, chunk, contacts.deletedAt)),
  );
  const found = new Map(rows.map((r) => [r.id, r.ownerId]));
  const not_found = ids.filter((i) => !found.has(i));
  const refused: BulkResult["refused"] = [];
  let targets = ids.filter((i) => found.has(i));
  const t = now();
  if (a.action === "change_owner") {
    const { owner } = await checkRefs(d, caller, { owner_id: a.owner_id });
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
    // Each write requires the owner it was decided on (read above): another owner change between the read
    // and the write made, say, a member's take of an unowned contact overwrite the colleague who took it first.
    const byOwner = new Map<string | null, string[]>();
    for (const id of targets) byOwner.set(found.get(id) ?? null, [...(byOwner.get(found.get(id) ?? null) ?? []), id]);
    const changed = new Set<string>();
    for (const [was, ids] of byOwner) {
      const rows = await inChunks(ids, (chunk) =>
        d
          .update(contacts)
          .set({ ownerId: a.owner_id, updatedAt: t })
          // IS matches an unowned contact too; the + keeps SQLite on the ids (not contacts_team_owner_idx, every contact of that owner).
          // Live ones only: a contact deleted since the read is left alone (refused below), not given an owner and audited.
          .where(and(teamRowsById(contacts, caller.teamId, chunk, contacts.deletedAt), sql`+${contacts.ownerId} IS ${was}`))
          .returning({ id: contacts.id }),
      );
      for (const r of rows) changed.add(r.id);
      // Only the contacts whose owner this changes.
      if (was !== a.owner_id)
        await auditOwner(
          d,
          caller,
          rows.map((r) => r.id),
          owner,
        );
    }
    for (const id of targets)
      if (!changed.has(id))
        refused.push({ contact_id: id, message: "Its owner changed while this ran (or it was deleted); it was left as it is now" });
    return { updated: changed.size, refused, not_found };
  }
  if (a.action === "add_to_list") {
    const list = await d.query.lists.findFirst({
      columns: { id: true },
      where: (l, { and: all, eq: is }) => all(is(l.id, a.list_id), is(l.teamId, caller.teamId)),
    });
    if (!list) throw notFound("List");
    // Contacts already in the list are counted apart: "25 added" when none was new was false. Counted at
    // the insert (a contact deleted since the read is neither), and a list deleted since answers 404.
    const { added, live } = await addToList(d, caller.teamId, list.id, targets, { mustExist: true });
    return { updated: added, already_in_list: live - added, refused, not_found };
  }
  await inChunks(targets, async (chunk) => {
    await d.batch([
      d
        .update(contacts)
        .set({ deletedAt: t, updatedAt: t })
        .where(teamRowsById(contacts, caller.teamId, chunk)),
      d.delete(listMembers).where(and(eq(listMembers.teamId, caller.teamId), inList(listMembers.contactId, chunk))),
    ]);
    return [];
  });
  return { updated: targets.length, refused, not_found };
}

/** Apollo's contacts/search: words in name, email, company or title; any of several stages and lists; a page of ids and the total. */
export async function searchContactIds(
  d: Db,
  teamId: string,
  q: {
    q?: string | null;
    stageIds?: readonly string[];
    listIds?: readonly string[];
    /** Contacts in any of these sequences (any status but removed, as Apollo lists them); the caller checks it may see them. */
    sequenceIds?: readonly string[];
    sort: "last_name" | "updated_at" | "created_at";
    ascending: boolean;
    page: number;
    perPage: number;
  },
): Promise<{ ids: string[]; total: number }> {
  const where = and(
    eq(contacts.teamId, teamId),
    isNull(contacts.deletedAt),
    q.q
      ? or(
          containsFolded(sql`${contacts.firstName} || ' ' || ${contacts.lastName}`, q.q),
          containsFolded(contacts.email, q.q),
          containsFolded(contacts.company, q.q),
          containsFolded(contacts.title, q.q),
        )
      : undefined,
    q.stageIds?.length ? inList(contacts.stageId, q.stageIds) : undefined,
    q.listIds?.length
      ? sql`exists (select 1 from ${listMembers} m where m.contact_id = ${contacts.id} and ${inList(sql`m.list_id`, q.listIds)})`
      : undefined,
    q.sequenceIds?.length
      ? sql`exists (select 1 from ${enrollments} e where e.contact_id = ${contacts.id} and e.team_id = ${teamId} and e.status <> 'removed' and ${inList(sql`e.sequence_id`, q.sequenceIds)})`
      : undefined,
  );
  // By last name, then first name, accent- and case-blind as the Contacts page: down contacts_team_folded_name_idx (either way) to the page.
  const cols =
    q.sort === "last_name" ? [LAST_NAME_FOLDED, FIRST_NAME_FOLDED] : [q.sort === "updated_at" ? contacts.updatedAt : contacts.createdAt];
  const [rows, total] = await d.batch([
    d
      .select({ id: contacts.id })
      .from(contacts)
      .where(where)
      // Ties by id in the sort's direction: down contacts_team_created_idx without sorting an instant's contacts.
      .orderBy(...[...cols, contacts.id].map((c) => (q.ascending ? asc(c) : desc(c))))
      .limit(q.perPage)
      .offset((q.page - 1) * q.perPage),
    contactTotal(d, teamId, Boolean(q.q || q.stageIds?.length || q.listIds?.length || q.sequenceIds?.length), where),
  ]);
  return { ids: rows.map((r) => r.id), total: total[0]?.n ?? 0 };
}
