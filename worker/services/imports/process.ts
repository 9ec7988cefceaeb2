import { and, eq, inArray, isNull, sql, type SQL } from "drizzle-orm";
import { suppressionMatches, suppressionWords } from "../suppressions";
import { bulkInsertSql, packRows, type Row } from "../../db/bulk";
import { batchSql, db, type Db } from "../../db/client";
import { inChunks, inList } from "../../db/in-list";
import { contacts, contactStages, importRows, imports, lists, users } from "../../db/schema";
import { openRunsOf, sequencesCantEdit } from "../contacts";
import type { Caller, Env } from "../../env";
import { now } from "../../lib/clock";
import { orderedIdFrom } from "../../lib/ids";
import type { QueueMessage } from "../../queue/messages";
import { decodeField, parsePart, type Delimiter, type Encoding } from "./csv";
import { mappingOf, settingsOf } from "./imports";
import { cleanHeaders, mapRow, rowKey, type MappedRow } from "./mapping";

// Saving an import's contacts, part by part (a byte range of the file in R2, at most PART_ROWS rows and PART_BYTES),
// up to PARTS_PER_MESSAGE parts per queue message. Parts run one after the other: each one's writes and
// the import's progress are one D1 batch, guarded by `parts_done`, so a redelivered part does nothing twice.

/**
 * Parts one message saves before handing on: the queue's wait between two messages (its batch
 * timeout) cost more than a part, and each part is dropped before the next is read (memory: one part).
 */
const PARTS_PER_MESSAGE = 10;

const UPDATABLE = [
  "first_name",
  "last_name",
  "title",
  "company",
  "domain",
  "industry",
  "city",
  "country",
  "time_zone",
  "phone",
  "linkedin_url",
] as const;
const UPDATABLE_COLUMNS = {
  first_name: contacts.firstName,
  last_name: contacts.lastName,
  title: contacts.title,
  company: contacts.company,
  domain: contacts.domain,
  industry: contacts.industry,
  city: contacts.city,
  country: contacts.country,
  time_zone: contacts.timeZone,
  phone: contacts.phone,
  linkedin_url: contacts.linkedinUrl,
} satisfies Record<(typeof UPDATABLE)[number], unknown>;

/**
 * A matched contact's custom fields after this row, by the import's match setting (fill the missing
 * ones, overwrite, or leave them); null when nothing changes.
 */
function mergeCustom(
  mine: Record<string, string>,
  theirs: Record<string, string>,
  match: "fill" | "overwrite" | "leave",
): Record<string, string> | null {
  if (match === "leave") return null;
  const next = { ...mine };
  let changed = false;
  for (const [k, v] of Object.entries(theirs)) {
    if (next[k] === v || (match === "fill" && next[k])) continue;
    next[k] = v;
    changed = true;
  }
  return changed ? next : null;
}

/**
 * Of these contacts, those with an open run (scheduled, active, paused, held) in a sequence the importer (the
 * import's user, as their role is now) can't edit: an address this import would give them is left as it is.
 */
async function runsImporterCantEdit(d: Db, imp: typeof imports.$inferSelect, contactIds: readonly string[]): Promise<Set<string>> {
  const locked = new Set<string>();
  if (!contactIds.length) return locked;
  const u = await d
    .select({ role: users.role })
    .from(users)
    .where(and(eq(users.id, imp.userId), eq(users.teamId, imp.teamId)))
    .get();
  if (u?.role === "admin") return locked;
  const caller: Caller = { teamId: imp.teamId, userId: imp.userId, role: "member", via: "session" };
  const open = await openRunsOf(d, imp.teamId, contactIds);
  const cantEdit = await sequencesCantEdit(
    d,
    caller,
    open.map((e) => e.sequenceId),
  );
  for (const e of open) if (cantEdit.has(e.sequenceId)) locked.add(e.contactId);
  return locked;
}

type Outcome = {
  row: number;
  key: string | null;
  contactId: string | null;
  outcome: "created" | "updated" | "matched" | "error" | "duplicate";
  column: string | null;
  value: string | null;
  reason: string | null;
  /** This row gave its address to an email-less contact it met by name and company (counted as imports.filled). */
  filled?: true;
};

/** The row note of a contact met by name and company and given the row's address: in the report, not a warning. */
export const FILLED_NOTE =
  "Matched by name and company to an existing contact with no email address: this address was filled in (no new contact)";

export async function savePart(env: Env, msg: Extract<QueueMessage, { kind: "import_part" }>, d: Db = db(env.DB)) {
  let at: Part = msg;
  for (let n = 0; n < PARTS_PER_MESSAGE; n++) {
    // Read again before each part: the guard (parts_done) is what makes a redelivery do nothing.
    const imp = await d.query.imports.findFirst({ where: eq(imports.id, msg.importId) });
    if (!imp || imp.status !== "saving") return; // done already, or not saving
    if (imp.partsDone !== at.part) {
      // This message tried again after some of its parts were saved (a later one failed, or handing on to
      // the next message did): the first part not saved yet gets a message of its own. Returning alone left
      // the import "saving" forever, with nothing queued to go on.
      const resume = imp.parts[imp.partsDone];
      if (n === 0 && resume && imp.partsDone > msg.part && imp.partsDone <= msg.part + PARTS_PER_MESSAGE)
        await env.JOBS.send({ kind: "import_part", importId: msg.importId, part: imp.partsDone, ...resume });
      return;
    }
    if (!(await saveOnePart(env, d, imp, at))) return;
    const next = imp.parts[at.part + 1]!;
    at = { part: at.part + 1, from: next.from, to: next.to, row: next.row };
  }
  await env.JOBS.send({ kind: "import_part", importId: msg.importId, ...at });
}

type Part = Pick<Extract<QueueMessage, { kind: "import_part" }>, "part" | "from" | "to" | "row">;

/** Saves one part; true when there is a next part to save. */
async function saveOnePart(env: Env, d: Db, imp: typeof imports.$inferSelect, msg: Part): Promise<boolean> {
  const obj = await env.IMPORTS.get(imp.r2Key, { range: { offset: msg.from, length: msg.to - msg.from } });
  if (!obj) {
    await d
      .update(imports)
      .set({ status: "failed", error: "The uploaded file is no longer stored; upload it again", updatedAt: now() })
      .where(eq(imports.id, imp.id));
    return false;
  }
  const records = parsePart(new Uint8Array(await obj.arrayBuffer()), imp.delimiter as Delimiter);
  const encoding = imp.encoding as Encoding;
  const { headers } = cleanHeaders(imp.rawHeaders.map((h) => decodeField(h, encoding) ?? h));
  const mapping = mappingOf(imp);
  const settings = settingsOf(imp);
  const t = now();

  // Rows as they will be saved, or the reason they won't be.
  const out: Outcome[] = [];
  const good: { n: number; row: MappedRow; key: string }[] = [];
  records.forEach((cells, i) => {
    const n = msg.row + i;
    if (cells.every((c) => c.trim() === "")) return; // a blank row (counted at upload)
    const fail = (column: string | null, value: string | null, reason: string) =>
      out.push({ row: n, key: null, contactId: null, outcome: "error", column, value: value?.slice(0, 500) ?? null, reason });
    const extra = cells.slice(headers.length).filter((c) => c.trim() !== "");
    if (extra.length)
      return fail(
        null,
        null,
        `This row has ${cells.length} values but the header has ${headers.length} columns (an unquoted delimiter inside a value?)`,
      );
    const decoded = cells.map((c) => decodeField(c, encoding));
    const bad = decoded.findIndex((c) => c === null);
    if (bad >= 0)
      return fail(headers[bad] ?? null, null, "Not valid UTF-8 text: choose the Windows-1252 encoding, or save the file as CSV UTF-8");
    const m = mapRow(decoded as string[], headers, mapping);
    if ("problem" in m) return fail(m.problem.column || null, m.problem.value || null, m.problem.reason);
    good.push({ n, row: m.row, key: rowKey(m.row) });
  });

  // Duplicates inside the file: the first row of a key wins (earlier parts are already in import_rows).
  const keys = [...new Set(good.map((g) => g.key))];
  const earlierRows = await inChunks(keys, (part) =>
    d
      .select({ key: importRows.key, row: sql<number>`min(${importRows.row})` })
      .from(importRows)
      .where(
        and(eq(importRows.importId, imp.id), inArray(importRows.outcome, ["created", "updated", "matched"]), inList(importRows.key, part)),
      )
      .groupBy(importRows.key),
  );
  const earlier = new Map(earlierRows.map((r) => [r.key!, r.row]));
  // An email-less row is also the same contact as an earlier row of this part with an email and the
  // same name and company: that row's contact is not in D1 yet for the match by name below to find
  // (an earlier part's is), so "bob@x.io,Bob,Smith,Acme" then ",Bob,Smith,Acme" made Bob twice.
  const byNameHere = new Map<string, number>();
  const nameKey = (r: MappedRow) => (r.company ? rowKey({ ...r, email: null }) : null);
  const unique: typeof good = [];
  for (const g of good) {
    const first = earlier.get(g.key) ?? (g.row.email ? undefined : byNameHere.get(g.key));
    if (first !== undefined)
      out.push({
        row: g.n,
        key: g.key,
        contactId: null,
        outcome: "duplicate",
        column: null,
        value: g.row.email ?? `${g.row.first_name} ${g.row.last_name}`,
        reason: `Same contact as row ${first}`,
      });
    else {
      earlier.set(g.key, g.n);
      const name = nameKey(g.row);
      if (name && !byNameHere.has(name)) byNameHere.set(name, g.n);
      unique.push(g);
    }
  }

  // The team's contacts with these emails, whatever their case (the oldest one when several share an
  // address), through contacts_team_email_idx (team, lower(email), deleted_at). Not sorted in SQL: an
  // ORDER BY created_at made SQLite walk the team's whole created-at index for every part instead.
  const emails = unique.flatMap((g) => (g.row.email ? [g.row.email] : []));
  const matches = await inChunks(emails, (part) =>
    d
      .select({
        id: contacts.id,
        email: contacts.email,
        createdAt: contacts.createdAt,
        customFields: contacts.customFields,
        ...UPDATABLE_COLUMNS,
      })
      .from(contacts)
      .where(and(eq(contacts.teamId, imp.teamId), inList(sql`lower(${contacts.email})`, part), isNull(contacts.deletedAt))),
  );
  const existing = new Map<string, (typeof matches)[number]>();
  for (const r of matches) {
    const k = String(r.email).toLowerCase();
    const had = existing.get(k);
    if (!had || r.createdAt < had.createdAt || (r.createdAt === had.createdAt && r.id < had.id)) existing.set(k, r);
  }
  // Rows without an email meet the team's live contacts by first name + last name + company, whatever
  // their case (the oldest one when several match), through contacts_team_name_company_idx: matched by
  // email only, the same email-less file imported twice made every one of its people twice. The names go
  // as one JSON value (D1's 100 bound parameters) and are compared by SQLite's lower() on both sides.
  type Found = (typeof matches)[number];
  const cols = sql.raw(UPDATABLE.map((f) => `c.${f}`).join(", "));
  const nameMatches = async (rows: MappedRow[], emailless: boolean) => {
    const found = new Map<number, Found>();
    if (!rows.length) return found;
    const hits = await d.all<Omit<Found, "customFields"> & { customFields: string; i: number }>(sql`
      SELECT j.key AS i, c.id, c.email, c.created_at AS createdAt, c.custom_fields AS customFields, ${cols}
        FROM json_each(${JSON.stringify(rows.map((r) => [r.first_name, r.last_name, r.company]))}) j
        CROSS JOIN contacts c
       WHERE c.team_id = ${imp.teamId}
         AND lower(c.first_name) = lower(json_extract(j.value, '$[0]'))
         AND lower(c.last_name) = lower(json_extract(j.value, '$[1]'))
         AND lower(c.company) = lower(json_extract(j.value, '$[2]'))
         AND c.deleted_at IS NULL ${emailless ? sql`AND c.email IS NULL` : sql``}`);
    for (const { i, ...r } of hits) {
      const had = found.get(i);
      const row = { ...r, customFields: JSON.parse(r.customFields || "{}") as Record<string, string> };
      if (!had || row.createdAt < had.createdAt || (row.createdAt === had.createdAt && row.id < had.id)) found.set(i, row);
    }
    return found;
  };
  const nameless = unique.filter((g) => !g.row.email);
  const byName = new Map<string, Found>();
  for (const [i, f] of await nameMatches(
    nameless.map((g) => g.row),
    false,
  ))
    byName.set(nameless[i]!.key, f);
  // A row with an email no contact has is still the person the team knows by name alone (an email-less
  // contact with the same first name, last name and company), who is given the address: matched by
  // email alone, "Cara Diaz, Beta Inc" then "cara@beta.io, Cara Diaz, Beta Inc" made Cara twice.
  // Not under "leave": giving an existing contact an address is changing it, which that mode says not to do.
  const seekers = settings.match === "leave" ? [] : unique.filter((g) => g.row.email && !existing.has(g.row.email) && nameKey(g.row));
  const emaillessByName = new Map<string, Found>();
  for (const [i, f] of await nameMatches(
    seekers.map((g) => g.row),
    true,
  ))
    emaillessByName.set(nameKey(seekers[i]!.row)!, f);
  const lockedForImporter = await runsImporterCantEdit(d, imp, [...new Set([...emaillessByName.values()].map((f) => f.id))]);
  // A deleted contact's suppression outlives it: its address is not imported again (invariant 5).
  const suppressed = await suppressionMatches(
    d,
    imp.teamId,
    emails.filter((e) => !existing.has(e.toLowerCase())),
  );
  const ownerEmails = [...new Set(unique.flatMap((g) => (g.row.owner_email ? [g.row.owner_email] : [])))];
  // Active users only: a disabled user can't work the contacts given to them.
  const ownerRows = ownerEmails.length
    ? await d
        .select({ id: users.id, email: sql<string>`lower(${users.email})` })
        .from(users)
        .where(and(eq(users.teamId, imp.teamId), inList(sql`lower(${users.email})`, ownerEmails), isNull(users.disabledAt)))
    : [];
  const owners = new Map(ownerRows.map((r) => [r.email, r.id]));
  // The default owner, checked again for every part as the Owner column's are: chosen at upload or
  // mapping, they may have been disabled since (before saving, or while its parts run). Then the
  // uploader, if active, else nobody; each contact saved so is counted and reported with a warning.
  const chosen = settings.owner_id || imp.userId;
  const candidates = await d
    .select({ id: users.id, name: users.name, email: users.email, disabledAt: users.disabledAt })
    .from(users)
    .where(and(eq(users.teamId, imp.teamId), inList(users.id, [...new Set([chosen, imp.userId])])));
  const activeUser = (id: string) => candidates.find((u) => u.id === id && u.disabledAt === null);
  const who = (id: string) => {
    const u = candidates.find((c) => c.id === id);
    return u ? `${u.name} (${u.email})` : "the chosen owner";
  };
  const defaultOwner = activeUser(chosen)?.id ?? activeUser(imp.userId)?.id ?? null;
  const ownedBy = defaultOwner ? `owned by ${who(defaultOwner)}` : "left without an owner";
  // Said on each contact the default owner would have had (invariant 10: never given away silently).
  const defaultGone = defaultOwner === chosen ? null : `${who(chosen)} is not an active user of this team`;
  const chosenEmail = candidates.find((u) => u.id === chosen)?.email ?? chosen;
  const ownerColumn = headers[mapping.indexOf("owner_email")] ?? "Owner";
  // The list, checked again for every part as the owner is: deleted after saving began (between parts, or
  // while a failed import waited to be saved again), this part's contacts are saved into no list, each
  // with a warning saying so. Stopping at it left a failed import stuck: its settings can't change.
  const list = settings.list_id
    ? await d
        .select({ id: lists.id })
        .from(lists)
        .where(and(eq(lists.id, settings.list_id), eq(lists.teamId, imp.teamId)))
        .get()
    : undefined;
  const listName = settings.list_name ? ` '${settings.list_name}'` : "";
  const listGone =
    settings.list_id && !list
      ? `The list${listName} this import adds its contacts to was deleted after saving began; this contact is in no list`
      : null;
  const stage = await d
    .select({ id: contactStages.id })
    .from(contactStages)
    .where(and(eq(contactStages.teamId, imp.teamId), eq(contactStages.category, "open")))
    .orderBy(contactStages.position)
    .get();

  const inserts: Row[] = [];
  // By contact: rows of this part that meet one contact (by email, by name, or given its address) each
  // build on what the ones before them wrote, and it is written once.
  const updates = new Map<string, Row>();
  const same = new Map<string, Found>();
  const one = (f: Found | undefined) => f && (same.get(f.id) ?? (same.set(f.id, f), f));
  // Contacts given an email by this part (one address each), and this part's new email-less contacts by name.
  const given = new Set<string>();
  const newNameless = new Map<string, (string | number | null)[]>();
  for (const g of unique) {
    const r = g.row;
    let found = one(r.email ? existing.get(r.email) : byName.get(g.key));
    let lockedReason: string | null = null;
    let filled = false;
    const name = nameKey(r);
    if (r.email && !found && name && !suppressed.has(r.email.toLowerCase())) {
      const here = newNameless.get(name);
      if (here) {
        // This part's own new contact: the insert takes the address and fills what it lacks from this row.
        const ins = here;
        newNameless.delete(name);
        ins[13] = r.email;
        ins[14] = "unverified";
        const fill: [number, string | null][] = [
          [6, r.title],
          [8, r.domain],
          [9, r.industry],
          [10, r.city],
          [11, r.country],
          [12, r.time_zone],
          [15, r.phone],
          [16, r.linkedin_url],
        ];
        for (const [at, v] of fill) if (ins[at] === null && v) ins[at] = v;
        ins[19] = JSON.stringify({ ...r.custom_fields, ...(JSON.parse(ins[19] as string) as Record<string, string>) });
        out.push({
          row: g.n,
          key: g.key,
          contactId: ins[0] as string,
          outcome: "updated",
          column: null,
          value: listGone ? settings.list_name : null,
          reason: listGone,
        });
        continue;
      }
      const known = one(emaillessByName.get(name));
      if (known && lockedForImporter.has(known.id)) {
        // Still this person (no second contact), but their address stays as it is: an address given to a
        // contact running in a sequence the importer can't edit is where that sequence's emails would go,
        // which only its editors decide (as updateContact refuses). Said on the row as a warning.
        found = known;
        lockedReason = `${r.first_name} ${r.last_name} is in a sequence you can't edit, so their email address was left empty; ask the sequence's owner or an admin to add it`;
      } else if (known && !given.has(known.id)) {
        found = known;
        found.email = r.email;
        given.add(found.id);
        filled = true;
      }
    }
    if (found) {
      const next = UPDATABLE.map((f) => {
        const mine = found[f];
        // A domain guessed from the email is no fact about an existing contact: "fill" and "overwrite" bring only a website given in the file.
        const theirs = f === "domain" && r.domain_from_email ? null : r[f];
        if (settings.match === "leave" || !theirs) return mine;
        return settings.match === "overwrite" || !mine ? theirs : mine;
      });
      const custom = mergeCustom(found.customFields, r.custom_fields, settings.match);
      // An address filled in is a change even when an earlier row of the part already queued this contact's
      // update (without it): that update is rebuilt here with the address, or the address was never written.
      const changed =
        next.some((v, i) => v !== found[UPDATABLE[i]!]) || custom !== null || filled || (given.has(found.id) && !updates.has(found.id));
      UPDATABLE.forEach((f, i) => ((found as Record<string, unknown>)[f] = next[i]));
      if (custom) found.customFields = custom;
      if (changed) updates.set(found.id, [found.id, ...next, JSON.stringify(found.customFields), given.has(found.id) ? found.email : null]);
      out.push({
        row: g.n,
        key: g.key,
        contactId: found.id,
        outcome: changed ? "updated" : "matched",
        column: lockedReason || filled ? "email" : null,
        value: lockedReason || filled ? r.email : listGone ? settings.list_name : null,
        reason: [lockedReason, filled && FILLED_NOTE, listGone].filter(Boolean).join(". ") || null,
        ...(filled && { filled: true as const }),
      });
      continue;
    }
    const suppression = r.email ? suppressed.get(r.email.toLowerCase()) : undefined;
    if (suppression) {
      out.push({
        row: g.n,
        key: g.key,
        contactId: null,
        outcome: "error",
        column: "email",
        value: r.email,
        // A blocked domain was never this address's own entry: "again" is for an address suppressed before.
        reason: `${suppressionWords(suppression)}: ${suppression.domain ? "not imported" : "not imported again"}`,
      });
      continue;
    }
    // By row number: redelivered, a part makes the same contacts again, in the file's order.
    const id = await orderedIdFrom(imp.id, g.n, "import");
    const named = r.owner_email ? owners.get(r.owner_email) : undefined;
    const owner = named ?? defaultOwner;
    const insert: (string | number | null)[] = [
      id,
      imp.teamId,
      owner,
      stage?.id ?? null,
      r.first_name,
      r.last_name,
      r.title,
      r.company,
      r.domain,
      r.industry,
      r.city,
      r.country,
      r.time_zone,
      r.email,
      r.email ? "unverified" : "unavailable",
      r.phone,
      r.linkedin_url,
      0,
      "csv",
      JSON.stringify(r.custom_fields),
      t,
      t,
    ];
    inserts.push(insert);
    if (!r.email && name) newNameless.set(name, insert);
    const unknownOwner = r.owner_email && !named;
    const ownerReason = unknownOwner
      ? `Owner '${r.owner_email}' is not an active user of this team${defaultGone ? `, and the default owner ${defaultGone}` : ""}; ${ownedBy}`
      : !named && defaultGone
        ? `The default owner ${defaultGone}; ${ownedBy}`
        : null;
    out.push({
      row: g.n,
      key: g.key,
      contactId: id,
      outcome: "created",
      column: unknownOwner ? ownerColumn : null,
      value: unknownOwner ? r.owner_email : ownerReason ? chosenEmail : listGone ? settings.list_name : null,
      reason: [ownerReason, listGone].filter(Boolean).join(". ") || null,
    });
  }

  const writes: SQL[] = [
    ...bulkInsertSql(
      "contacts",
      [
        "id",
        "team_id",
        "owner_id",
        "stage_id",
        "first_name",
        "last_name",
        "title",
        "company",
        "domain",
        "industry",
        "city",
        "country",
        "time_zone",
        "email",
        "email_status",
        "phone",
        "linkedin_url",
        "score",
        "source",
        "custom_fields",
        "created_at",
        "updated_at",
      ],
      inserts,
    ),
    ...bulkInsertSql(
      "import_rows",
      ["import_id", "row", "team_id", "key", "contact_id", "outcome", "column", "value", "reason"],
      out.map((o) => [imp.id, o.row, imp.teamId, o.key, o.contactId, o.outcome, o.column, o.value, o.reason]),
    ),
  ];
  if (updates.size) {
    // Then the address given to an email-less contact met by name (unless one was given to it meanwhile).
    const mail = `json_extract(j.value, '$[${UPDATABLE.length + 2}]')`;
    const set = sql.raw(
      [...UPDATABLE, "custom_fields"].map((f, i) => `${f} = json_extract(j.value, '$[${i + 1}]')`).join(", ") +
        `, email = coalesce(contacts.email, ${mail}), email_status = CASE WHEN contacts.email IS NULL AND ${mail} IS NOT NULL THEN 'unverified' ELSE contacts.email_status END`,
    );
    // Packed by size, not by count: 2,000 rows with custom columns went past D1's 2 MB per bound value.
    for (const part of packRows([...updates.values()].map((u) => JSON.stringify(u)))) {
      writes.push(
        // `+team_id`: each row by its id. Without statistics SQLite drove this join from the team's
        // contacts (every one of them against the whole list); the team check stays a filter.
        sql`UPDATE contacts SET ${set}, updated_at = ${t} FROM json_each(${part}) AS j WHERE contacts.id = json_extract(j.value, '$[0]') AND +contacts.team_id = ${imp.teamId}`,
      );
    }
  }
  if (settings.list_id && list) {
    const members = [...new Set(out.flatMap((o) => (o.contactId ? [o.contactId] : [])))].map((c): Row => [
      settings.list_id,
      c,
      imp.teamId,
      t,
    ]);
    writes.push(...bulkInsertSql("list_members", ["list_id", "contact_id", "team_id", "added_at"], members));
    // Deleted between the check above and this batch: no members left behind for a list that is gone.
    writes.push(
      sql`DELETE FROM list_members WHERE list_id = ${list.id} AND team_id = ${imp.teamId} AND NOT EXISTS (SELECT 1 FROM lists WHERE lists.id = ${list.id})`,
    );
  }
  const last = msg.part + 1 >= imp.parts.length;
  // Progress (and the end) in the same batch as the part's rows, by this part's own counts: the guard on
  // parts_done lets exactly one run of a part through, so the counts grow once per part.
  const count = (...kinds: Outcome["outcome"][]) => out.filter((o) => kinds.includes(o.outcome)).length;
  const progress = sql`
    UPDATE imports SET parts_done = ${msg.part + 1}, status = ${last ? "ready" : "saving"}, updated_at = ${t},
           saved = saved + ${count("created", "updated", "matched")}, created = created + ${count("created")},
           updated = updated + ${count("updated")}, failed = failed + ${count("error", "duplicate")},
           filled = filled + ${out.filter((o) => o.filled).length},
           warned = warned + ${out.filter((o) => o.contactId && o.reason && (!o.filled || listGone)).length}
     WHERE imports.id = ${imp.id} AND imports.parts_done = ${msg.part} AND imports.status = 'saving'`;
  await batchSql(d, [...writes, progress]);
  return !last;
}

/** A part that failed every retry: the import fails saying where; the rows saved so far stay. */
export async function failImport(env: Env, importId: string, part: number, d: Db = db(env.DB)) {
  await d
    .update(imports)
    .set({ status: "failed", error: `Saving stopped at part ${part + 1}; save again to continue`, updatedAt: now() })
    // Only while that part is still the next one: a copy dead-lettered after the cron sent the part
    // again (and it saved) would fail an import that has moved on.
    .where(and(eq(imports.id, importId), eq(imports.status, "saving"), eq(imports.partsDone, part)));
}
