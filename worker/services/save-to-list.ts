import { and, eq, isNull, sql } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { inChunks, inList, listParam, notIndexed, teamRowsById } from "../db/in-list";
import { contacts } from "../db/schema";
import type { Caller } from "../env";
import { now } from "../lib/clock";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { authorize } from "./access";
import { liveContactsOfPeople, loadFacts } from "./add-contacts/candidates";
import { evaluate } from "./add-contacts/validate";
import { balanceOf, holdRef, holdStatements, settleJobStatements } from "./credits";
import { openStageId } from "./contacts";
import { DEFAULT_WATERFALL } from "./enrichment";
import { ensureLists, getList } from "./lists";
import { suppressionReasons } from "./suppressions";

/** Most people one "Save to list" takes at once (one transaction). */
export const MAX_SAVE = 1000;

export type SaveSkip = "suppressed" | "not_found" | "insufficient_credits";

export interface SaveResult {
  list: { id: string; name: string };
  /** People saved as new contacts now. */
  saved: number;
  /**
   * People the team had already saved (by person or by email), or whose email another person of this save
   * has: added to the list as that contact, at no charge.
   */
  already_saved: number;
  /** People not saved, each with why. */
  skipped: { person_id: string; reasons: SaveSkip[] }[];
  /** Credits charged: 1 per net-new person saved with a verified email (invariant 6). */
  credits_charged: number;
  /** The record of this save (Credits page): a job of kind save_to_list. */
  job_id: string | null;
  contact_ids: string[];
}

/**
 * "Save to list" from the People page, without a sequence: checked people become contacts and join a
 * list. The add-contacts rules apply: each person is checked by the pipeline's own validation (a
 * suppressed address or an unknown person is skipped with its reason); a person the team already saved
 * (same person, or a live contact with the same email) is that contact, at no charge; a net-new person
 * with a verified email costs 1 credit, charged once. The new contacts are one D1 transaction: the
 * hold for the maximum, the contacts (each only if nobody saved that person first: the unique (team,
 * person) index and a NOT EXISTS in the same statement), their list memberships, a completed job row
 * recording what was used (the Credits page's "Saved to lists"), and the settlement that returns the
 * rest. A retry, or saving a person twice, finds them saved and charges nothing.
 */
export async function savePeopleToList(
  d: Db,
  caller: Caller,
  personIds: readonly string[],
  target: { list_id?: string; list_name?: string },
): Promise<SaveResult> {
  authorize(caller, "contact.edit");
  const list = target.list_id
    ? await getList(d, caller, target.list_id)
    : await getList(d, caller, (await ensureLists(d, caller, [target.list_name ?? ""]))[0] ?? "");
  const ids = [...new Set(personIds)];
  const t = now();

  // Already saved: by person, or (a contact saved another way) by email. Deleted ones come back, unless
  // their address is suppressed (it outlives the contact: invariant 5): those are skipped and stay deleted.
  const saved = await inChunks(ids, (chunk) =>
    d
      .select({ id: contacts.id, personId: contacts.personId, email: contacts.email, deletedAt: contacts.deletedAt })
      .from(contacts)
      .where(and(eq(contacts.teamId, caller.teamId), inList(contacts.personId, chunk))),
  );
  const gone = saved.filter((r) => r.deletedAt !== null && r.email);
  const suppressedGone = await suppressionReasons(
    d,
    caller.teamId,
    gone.map((r) => r.email!),
  );
  // A live contact of the person (theirs, else one with their address: liveContactsOfPeople, as search
  // and the add pipeline resolve them) is the one saved; a deleted one of theirs comes back only when
  // there is none, or the address would have two live contacts (and a sequence could email it twice).
  const live = await liveContactsOfPeople(d, caller.teamId, ids);
  const skipped: SaveResult["skipped"] = [];
  const byPerson = new Map<string, string>(live);
  for (const r of saved) {
    if (live.has(r.personId!)) continue;
    if (r.deletedAt !== null && r.email && suppressedGone.has(r.email.toLowerCase()))
      skipped.push({ person_id: r.personId!, reasons: ["suppressed"] });
    else byPerson.set(r.personId!, r.id);
  }
  const kept = new Set(skipped.map((k) => k.person_id));
  const fresh = ids.filter((p) => !byPerson.has(p) && !kept.has(p));
  const facts = await loadFacts(
    d,
    caller.teamId,
    "",
    fresh.map((personId) => ({ personId, contactId: null })),
    t,
  );
  const byEmail = new Map<string, string>();
  const emails = [...new Set(facts.flatMap((f) => (f.email ? [f.email.toLowerCase()] : [])))];
  if (emails.length) {
    const rows = await inChunks(emails, (chunk) =>
      d
        .select({ id: contacts.id, email: contacts.email })
        .from(contacts)
        .where(
          and(
            eq(contacts.teamId, caller.teamId),
            isNull(contacts.deletedAt),
            sql`lower(${contacts.email}) IN (SELECT value FROM json_each(${listParam(chunk)}))`,
          ),
        ),
    );
    for (const r of rows) if (r.email) byEmail.set(r.email.toLowerCase(), r.id);
  }

  const existing = new Set<string>(byPerson.values());
  /** [new contact id, person id] of the people to save now, and how many of them cost a credit. */
  const toSave: [string, string][] = [];
  let maximum = 0;
  /** The person saved now for each address (lower case), and [person, that person] for the others with it. */
  const firstWith = new Map<string, string>();
  const sameAddress: [string, string][] = [];
  for (const f of facts) {
    const address = f.email?.toLowerCase();
    const dup = address ? byEmail.get(address) : undefined;
    if (dup) {
      existing.add(dup);
      continue;
    }
    // Two people of this save with one address are one contact, charged once: the address is what a
    // contact is known by (a second contact would be emailed twice by a sequence, and cost a second credit).
    const first = address ? firstWith.get(address) : undefined;
    if (first) {
      sameAddress.push([f.personId!, first]);
      continue;
    }
    // Validation as the pipeline does it; the warnings are about emailing, which saving doesn't do.
    const ev = await evaluate(f, {
      callerId: caller.userId,
      allowOtherOwners: true,
      skipValidation: true,
      overrides: {},
      enrich: false,
      providers: DEFAULT_WATERFALL,
      preview: true,
    });
    const skips = ev.skips.filter((s): s is "suppressed" | "not_found" => s === "suppressed" || s === "not_found");
    if (ev.outcome === "skipped") {
      skipped.push({ person_id: f.personId!, reasons: skips.length ? skips : ["not_found"] });
      continue;
    }
    toSave.push([newId(), f.personId!]);
    if (address) firstWith.set(address, f.personId!);
    maximum += ev.cost;
  }
  if (maximum > 0 && (await balanceOf(d, caller.teamId)) < maximum) {
    throw new ApiError("insufficient_credits", `Saving these people can cost up to ${maximum} credits; your balance is lower`, {
      maximum,
      fix: "Save fewer net-new people with verified emails, or buy credits",
    });
  }

  const jobId = toSave.length ? newId() : null;
  if (jobId) {
    const stage = await openStageId(d, caller.teamId);
    const rows = listParam(toSave.map(([cid, pid]) => `${cid}:${pid}`));
    const newIds = listParam(toSave.map(([cid]) => cid));
    const ref = holdRef(jobId);
    const paid = sql`(p.email_status <> 'verified' OR EXISTS (SELECT 1 FROM credit_ledger l WHERE l.team_id = ${caller.teamId} AND l.ref = ${ref}))`;
    const stmts = [
      ...(maximum > 0
        ? holdStatements(caller.teamId, ref, maximum, jobId, "save_to_list", `Held for saving people to “${list.name}”`)
        : []),
      // Each person once per team: the unique (team, person) index and NOT EXISTS; a verified one only under the hold.
      sql`INSERT OR IGNORE INTO contacts (id, team_id, person_id, owner_id, stage_id, first_name, last_name, title, company, domain, industry, employees,
                                          city, country, time_zone, email, email_status, linkedin_url, score, job_changed_at, source, created_at, updated_at)
          SELECT substr(j.value, 1, instr(j.value, ':') - 1), ${caller.teamId}, p.id, ${caller.userId}, ${stage}, p.first_name, p.last_name, p.title, p.company,
                 p.domain, p.industry, p.employees, p.city, p.country, p.time_zone, p.email, p.email_status, p.linkedin_url, p.score, p.job_changed_at,
                 'people_search', ${t}, ${t}
            FROM json_each(${rows}) j JOIN people p ON p.id = substr(j.value, instr(j.value, ':') + 1)
           WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.team_id = ${caller.teamId} AND c.person_id = p.id)
             -- Nor when a live contact has the address by now (another save, an import): that contact is theirs.
             AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.team_id = ${caller.teamId} AND lower(c.email) = lower(p.email) AND c.deleted_at IS NULL)
             AND ${paid}`,
      sql`INSERT INTO jobs (id, team_id, user_id, kind, sequence_id, source, options, status, run_at, total, processed, enrolled, warned, skipped,
                            credits_held, credits_used, created_at, started_at, finished_at)
          SELECT ${jobId}, ${caller.teamId}, ${caller.userId}, 'save_to_list', NULL, ${JSON.stringify({ kind: "save_to_list", list_ids: [list.id], people: ids.length, contacts: 0, search: null })},
                 ${JSON.stringify({ list_id: list.id })}, 'completed', ${t}, ${ids.length}, ${ids.length}, s.n, 0, ${ids.length} - s.n, h.held, s.v, ${t}, ${t}, ${t}
            FROM (SELECT count(*) AS n, coalesce(sum(email_status = 'verified'), 0) AS v FROM contacts WHERE +team_id = ${caller.teamId} AND id IN (SELECT value FROM json_each(${newIds}))) s,
                 -- What was held, not what was asked: a hold refused (another save took the balance first) holds nothing to give back.
                 (SELECT coalesce(-sum(amount), 0) AS held FROM credit_ledger WHERE team_id = ${caller.teamId} AND ref = ${ref} AND kind = 'hold') h`,
      sql`INSERT OR IGNORE INTO list_members (list_id, contact_id, team_id, added_at)
          SELECT ${list.id}, c.id, ${caller.teamId}, ${t} FROM contacts c WHERE +c.team_id = ${caller.teamId} AND c.id IN (SELECT value FROM json_each(${newIds}))`,
      ...settleJobStatements(jobId),
    ];
    await batchSql(d, stmts);
  }
  const created = jobId
    ? (
        await inChunks(
          toSave.map(([cid]) => cid),
          (chunk) =>
            d
              .select({ id: contacts.id })
              .from(contacts)
              .where(teamRowsById(contacts, caller.teamId, chunk)),
        )
      ).map((r) => r.id)
    : [];
  const createdSet = new Set(created);
  // A person saved by someone else between our read and our write (or whose address a contact took
  // meanwhile): that contact, at no charge. One not saved at all is a verified person the hold didn't
  // cover (the balance went to another save first).
  const lost = toSave.filter(([cid]) => !createdSet.has(cid)).map(([, pid]) => pid);
  if (lost.length) {
    const found = await liveContactsOfPeople(d, caller.teamId, lost, true);
    for (const pid of lost) {
      const cid = found.get(pid);
      if (cid) existing.add(cid);
      else skipped.push({ person_id: pid, reasons: ["insufficient_credits"] });
    }
  }
  // A person sharing the address of one saved now has that contact (already saved once it exists), or is
  // skipped for the same reasons when it wasn't saved.
  const whySkipped = new Map(skipped.map((k) => [k.person_id, k.reasons]));
  let sharing = 0;
  for (const [pid, first] of sameAddress) {
    const reasons = whySkipped.get(first);
    if (reasons) skipped.push({ person_id: pid, reasons });
    else sharing++;
  }
  if (existing.size) {
    // Saving brings a deleted contact of these people back.
    await inChunks([...existing], (chunk) =>
      d
        .update(contacts)
        .set({ deletedAt: null, updatedAt: t })
        .where(and(teamRowsById(contacts, caller.teamId, chunk), sql`${notIndexed(contacts.deletedAt)} IS NOT NULL`))
        .returning({ id: contacts.id }),
    );
  }
  if (existing.size) {
    await inChunks([...existing], (chunk) =>
      d.all(sql`INSERT OR IGNORE INTO list_members (list_id, contact_id, team_id, added_at)
                SELECT ${list.id}, value, ${caller.teamId}, ${t} FROM json_each(${listParam(chunk)}) WHERE true RETURNING contact_id`),
    );
  }
  const used = jobId ? ((await d.get<{ used: number }>(sql`SELECT credits_used AS used FROM jobs WHERE id = ${jobId}`))?.used ?? 0) : 0;
  return {
    list: { id: list.id, name: list.name },
    saved: created.length,
    already_saved: existing.size + sharing,
    skipped,
    credits_charged: used,
    job_id: jobId,
    contact_ids: [...created, ...existing],
  };
}
