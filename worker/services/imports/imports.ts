import { z } from "@hono/zod-openapi";
import { and, asc, count, desc, eq, gt, inArray, isNotNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { inChunks, inList } from "../../db/in-list";
import { importRows, imports, jobs } from "../../db/schema";
import type { Caller, Env } from "../../env";
import { now } from "../../lib/clock";
import { csvLine } from "../../lib/csv";
import { ApiError, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { importFor, listFor, teamUser, visibleImports } from "../access";
import { ensureLists } from "../lists";
import {
  decodeField,
  DELIMITERS,
  ENCODINGS,
  MAX_IMPORT_BYTES,
  MAX_IMPORT_COLUMNS,
  parsePart,
  scanCsv,
  type Delimiter,
  type Encoding,
} from "./csv";
import {
  autoMap,
  cleanHeaders,
  CUSTOM_FIELD,
  customKeys,
  FIELD_NAMES,
  IMPORT_FIELDS,
  MAPPING_CHOICES,
  mapRow,
  mappingProblem,
  MAX_CUSTOM_FIELDS,
  type Mapping,
} from "./mapping";

export type ImportRow = typeof imports.$inferSelect;

/** Where each part of the file starts: bytes [from, to), first record on spreadsheet row `row`. */
export type ImportPart = { from: number; to: number; row: number };

export const settingsOf = (row: ImportRow) => row.settings as unknown as ImportSettings;
export const mappingOf = (row: ImportRow) => row.mapping as Mapping;

/**
 * How an import's rows meet the team's existing contacts (matched by email; a row without one by first
 * name + last name + company, whatever their case), whom new ones belong to, which list they join.
 * No .default() here: an upload sets every one (createImport), and in a PATCH (ImportPatch) zod would
 * fill a default in for each key left out, resetting the list and the owner when only `match` changed.
 */
export const ImportSettings = z
  .object({
    match: z.enum(["fill", "overwrite", "leave"]).openapi({
      description:
        "An existing contact with the same email (for a row without one: the same first name, last name and company): fill its empty fields, overwrite them, or leave it unchanged",
    }),
    owner_id: z
      .string()
      .max(64)
      .nullable()
      .openapi({ description: "Owner of new contacts (default: you); an Owner column overrides it per row" }),
    list_id: z.string().max(64).nullable().openapi({ description: "Add every imported contact to this list" }),
    list_name: z.string().trim().min(1).max(120).nullable().openapi({ description: "Or to a new list of this name" }),
  })
  .openapi("ImportSettings");
export type ImportSettings = z.infer<typeof ImportSettings>;

export const ImportPatch = z
  .object({
    mapping: z
      .array(z.enum(MAPPING_CHOICES).nullable())
      .max(MAX_IMPORT_COLUMNS)
      .optional()
      .openapi({
        description: `Per column (in order): the contact field it fills, "${CUSTOM_FIELD}" to keep it on each contact as a custom field ({{custom.<key>}} in templates), or null to ignore it`,
      }),
    encoding: z.enum(ENCODINGS).optional().openapi({ description: "How the file's text is encoded (detected at upload)" }),
    delimiter: z.enum(DELIMITERS).optional().openapi({
      description: "What separates the values (detected at upload); changing it reads the file again and maps its headers anew",
    }),
    settings: ImportSettings.partial().optional(),
  })
  .openapi("ImportPatch");

const decodeAll = (cells: string[], enc: Encoding) => cells.map((c) => decodeField(c, enc) ?? "\uFFFD");

/** The import as the API shows it: headers, mapping, settings, a preview of the first rows as they will be saved, progress. */
export function presentImport(row: ImportRow) {
  const encoding = row.encoding as Encoding;
  const { headers, warnings } = cleanHeaders(decodeAll(row.rawHeaders, encoding));
  const mapping = mappingOf(row);
  const sample = row.rawSample.map((cells) => {
    const decoded = cells.map((c) => decodeField(c, encoding));
    if (decoded.some((c) => c === null))
      return {
        ok: false as const,
        reason: "Not valid UTF-8 text: choose the Windows-1252 encoding, or save the file as CSV UTF-8",
        contact: null,
      };
    const m = mapRow(decoded as string[], headers, mapping);
    return "row" in m
      ? { ok: true as const, reason: null, contact: m.row }
      : { ok: false as const, reason: `${m.problem.column ? `${m.problem.column}: ` : ""}${m.problem.reason}`, contact: null };
  });
  const problem = mappingProblem(mapping);
  return {
    id: row.id,
    file_name: row.fileName,
    size_bytes: row.sizeBytes,
    status: row.status,
    row_count: row.rowCount,
    blank_rows: row.blankRows,
    headers,
    header_warnings: row.skippedLines
      ? [`Skipped ${row.skippedLines} line${row.skippedLines === 1 ? "" : "s"} before the header`, ...warnings]
      : warnings,
    delimiter: row.delimiter,
    encoding,
    mapping,
    custom_keys: customKeys(headers, mapping),
    mapping_problem: problem?.message ?? null,
    settings: settingsOf(row),
    sample,
    progress: { parts: row.parts.length, parts_done: row.partsDone },
    saved: row.saved,
    created: row.created,
    updated: row.updated,
    failed: row.failed,
    warned: row.warned,
    filled: row.filled,
    error: row.error,
    summary: summary(row),
    user_id: row.userId,
    created_at: row.createdAt,
  };
}

/** The caller's imports (admins: the team's), newest first. */
export async function listImports(d: Db, caller: Caller, page: number, perPage: number) {
  const where = and(eq(imports.teamId, caller.teamId), visibleImports(caller));
  const [rows, total] = await d.batch([
    d
      .select()
      .from(imports)
      .where(where)
      .orderBy(desc(imports.createdAt), asc(imports.id))
      .limit(perPage)
      .offset((page - 1) * perPage),
    d.select({ n: count() }).from(imports).where(where),
  ]);
  return { imports: rows, total: total[0]?.n ?? 0 };
}

const importById = async (d: Db, id: string) => (await d.query.imports.findFirst({ where: eq(imports.id, id) }))!;

/** One sentence: what saving did, or why it saved nobody. */
function summary(row: ImportRow): string | null {
  if (row.status !== "ready") return null;
  if (row.saved === 0)
    return row.failed > 0
      ? `No contacts saved: every one of the ${row.failed} rows has a problem (see the error report)`
      : "No contacts saved: the file has no data rows";
  // Those met by name and company and given their address are said apart from the other updates (they
  // were counted as updated alone, so a filled-in contact read as any other change): the four add up to saved.
  const filled = row.filled ? `, ${row.filled} matched by name and company (address filled in)` : "";
  const parts = [
    `${row.saved} contacts ready (${row.created} new, ${row.updated - row.filled} updated${filled}, ${row.saved - row.created - row.updated} unchanged)`,
  ];
  if (row.failed) parts.push(`${row.failed} rows not imported (see the error report)`);
  // One count for both warnings (each row's reason in the report says which): an Owner, or the default owner,
  // not active (another owner or none), or the import's list deleted after saving began (in no list).
  if (row.warned)
    parts.push(
      `${row.warned} contacts saved with a warning: given another owner or none (their Owner, or the default owner, is not an active user of this team), or in no list (the import's list was deleted while saving); see the error report`,
    );
  return parts.join("; ");
}

/**
 * Stores an uploaded CSV in R2 after one streaming pass over it (encoding, delimiter, header, row
 * count and part offsets; 413 past the limits before reading the rest), and maps its headers.
 */
export async function createImport(env: Env, d: Db, caller: Caller, file: File): Promise<ImportRow> {
  if (file.size > MAX_IMPORT_BYTES) {
    throw new ApiError(
      "payload_too_large",
      `A file can be at most ${MAX_IMPORT_BYTES / 1024 / 1024} MB; this one is ${(file.size / 1024 / 1024).toFixed(1)} MB`,
      { limit_bytes: MAX_IMPORT_BYTES, fix: "Split the file, or remove columns you don't need" },
    );
  }
  const scan = keptWithin(await scanCsv(file.stream()));
  const id = newId();
  const key = `imports/${caller.teamId}/${id}.csv`;
  await env.IMPORTS.put(key, file, {
    httpMetadata: { contentType: "text/csv" },
    customMetadata: { team: caller.teamId, user: caller.userId },
  });
  const { headers } = cleanHeaders(decodeAll(scan.rawHeaders, scan.encoding));
  const t = now();
  const settings: ImportSettings = { match: "fill", owner_id: null, list_id: null, list_name: null };
  // The file goes with its import: an insert that fails leaves no file in R2 that nothing points to.
  const removeFile = async (err: unknown) => {
    await env.IMPORTS.delete(key).catch((e: unknown) => console.error("removing an upload whose import failed", key, e));
    throw err;
  };
  return d
    .insert(imports)
    .values({
      id,
      teamId: caller.teamId,
      userId: caller.userId,
      fileName: (file.name || "contacts.csv").slice(0, 200),
      r2Key: key,
      sizeBytes: file.size,
      status: "uploaded",
      encoding: scan.encoding,
      delimiter: scan.delimiter satisfies Delimiter,
      rawHeaders: scan.rawHeaders,
      rawSample: scan.rawSample,
      mapping: autoMap(
        headers,
        scan.rawSample.map((r) => decodeAll(r, scan.encoding)),
      ),
      settings,
      parts: scan.parts,
      rowCount: scan.rowCount,
      blankRows: scan.blankRows,
      skippedLines: scan.skippedLines,
      createdAt: t,
      updatedAt: t,
    })
    .returning()
    .get()
    .catch(removeFile);
}

/**
 * Most bytes (UTF-8, as JSON) an import keeps of its header row and sample rows: they live in its D1 row,
 * which D1 holds to 2 MB. Control characters are stored as six bytes each (\u0001), so a crafted file of
 * 500 columns under the record limit made a sample of 7.5 MB: the upload failed with a 500.
 */
export const MAX_PREVIEW_BYTES = 1024 * 1024;

const jsonBytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).length;

/** The scan with as many sample rows as fit MAX_PREVIEW_BYTES beside its headers; 422 when not even the headers and one row do. */
function keptWithin<T extends { rawHeaders: string[]; rawSample: string[][] }>(scan: T): T {
  let used = jsonBytes(scan.rawHeaders);
  const sample: string[][] = [];
  for (const r of scan.rawSample) {
    const n = jsonBytes(r);
    if (used + n > MAX_PREVIEW_BYTES) break;
    used += n;
    sample.push(r);
  }
  if (used > MAX_PREVIEW_BYTES || (scan.rawSample.length > 0 && sample.length === 0))
    throw new ApiError(
      "invalid_file",
      `This file's ${used > MAX_PREVIEW_BYTES ? "header row is" : "rows are"} too wide to preview (more than ${MAX_PREVIEW_BYTES / 1024 / 1024} MB of text, counting control characters as stored): this does not look like a contacts file`,
      { limit_bytes: MAX_PREVIEW_BYTES, fix: "Remove the columns you don't need (or non-printing characters) and upload it again" },
    );
  return { ...scan, rawSample: sample };
}

/**
 * Changes the mapping, encoding, delimiter or settings of an import that has not been saved yet. A new
 * delimiter reads the stored file again: its columns, sample and parts change with it,
 * and so does the automatic mapping unless the patch brings one for the new columns.
 */
export async function updateImport(
  env: Env,
  d: Db,
  caller: Caller,
  row: ImportRow,
  patch: z.infer<typeof ImportPatch>,
): Promise<ImportRow> {
  if (row.status !== "uploaded" && row.status !== "failed")
    throw new ApiError("conflict", "This import's contacts are already saved; upload the file again to change its mapping");
  // Part of the file saved already: the rest must be read and saved by the same rules, or the same person
  // comes in twice (another key column), into another list, with other fields. Saving again finishes it.
  if (row.status === "failed" && row.partsDone > 0) {
    const current = settingsOf(row);
    const changes = [
      patch.mapping && JSON.stringify(patch.mapping) !== JSON.stringify(row.mapping) ? "mapping" : null,
      patch.encoding && patch.encoding !== row.encoding ? "encoding" : null,
      patch.delimiter && patch.delimiter !== row.delimiter ? "delimiter" : null,
      ...Object.entries(patch.settings ?? {}).map(([k, v]) =>
        JSON.stringify(v) !== JSON.stringify((current as Record<string, unknown>)[k]) ? `settings.${k}` : null,
      ),
    ].filter((c): c is string => !!c);
    if (changes.length)
      throw new ApiError(
        "conflict",
        "Part of this file is already saved with its current mapping and settings; save it again as it is to finish, or upload the file again to change them",
        { fields: changes },
      );
  }
  // Cells are stored as raw bytes and decoded when read, so only a new delimiter needs a new pass.
  const rescan = !!patch.delimiter && patch.delimiter !== row.delimiter;
  if (rescan && row.status === "failed")
    throw new ApiError(
      "conflict",
      "Part of this file is already saved with its current reading; upload the file again to read it differently",
    );
  const scanned = rescan
    ? await rescanImport(env, row, {
        delimiter: (patch.delimiter ?? row.delimiter) as Delimiter,
        encoding: (patch.encoding ?? row.encoding) as Encoding,
      })
    : null;
  const columns = (scanned?.rawHeaders ?? row.rawHeaders).length;
  if (patch.mapping && patch.mapping.length !== columns) {
    throw new ApiError("validation_failed", "The mapping must have one entry per column", {
      fields: [{ field: "mapping", message: `Give ${columns} entries (one per column), null for columns to ignore` }],
    });
  }
  if (patch.mapping) {
    const seen = new Set<string>();
    for (const f of patch.mapping) {
      if (!f || f === CUSTOM_FIELD) continue;
      if (seen.has(f))
        throw new ApiError("validation_failed", `Two columns are mapped to ${IMPORT_FIELDS[f].label}`, {
          fields: [{ field: "mapping", message: `Map only one column to ${IMPORT_FIELDS[f].label}` }],
        });
      seen.add(f);
    }
    if (patch.mapping.filter((f) => f === CUSTOM_FIELD).length > MAX_CUSTOM_FIELDS) {
      throw new ApiError("validation_failed", `At most ${MAX_CUSTOM_FIELDS} columns can be kept as custom fields`, {
        fields: [{ field: "mapping", message: `Keep at most ${MAX_CUSTOM_FIELDS} columns as custom fields` }],
      });
    }
  }
  const settings = { ...settingsOf(row), ...(patch.settings ?? {}) };
  await checkSettings(d, caller, settings);
  // Only as read: a save that started meanwhile (or a part saved since) keeps the mapping, reading and
  // settings it started with. Unguarded, a PATCH landing after the save began rewrote them under the
  // parts still to run (another delimiter's byte ranges, another list, another key column).
  const updated = await d
    .update(imports)
    .set({
      ...(scanned ?? {}),
      mapping: patch.mapping ?? scanned?.mapping ?? row.mapping,
      encoding: patch.encoding ?? row.encoding,
      settings,
      updatedAt: now(),
    })
    .where(and(eq(imports.id, row.id), eq(imports.status, row.status), eq(imports.partsDone, row.partsDone)))
    .returning()
    .get();
  if (!updated)
    throw new ApiError("conflict", "This import started saving meanwhile; its mapping and settings can no longer change", {
      import_id: row.id,
    });
  return updated;
}

/** The stored file read again (one streaming pass, as at upload) with the chosen delimiter and encoding. */
async function rescanImport(env: Env, row: ImportRow, choose: { delimiter: Delimiter; encoding: Encoding }) {
  const obj = await env.IMPORTS.get(row.r2Key);
  if (!obj) throw new ApiError("conflict", "The uploaded file is no longer stored; upload it again");
  const scan = keptWithin(await scanCsv(obj.body, choose));
  const { headers } = cleanHeaders(decodeAll(scan.rawHeaders, scan.encoding));
  return {
    delimiter: scan.delimiter,
    encoding: scan.encoding,
    rawHeaders: scan.rawHeaders,
    rawSample: scan.rawSample,
    parts: scan.parts,
    rowCount: scan.rowCount,
    blankRows: scan.blankRows,
    skippedLines: scan.skippedLines,
    mapping: autoMap(
      headers,
      scan.rawSample.map((r) => decodeAll(r, scan.encoding)),
    ),
  };
}

async function checkSettings(d: Db, caller: Caller, s: ImportSettings) {
  if (s.owner_id) await teamUser(d, caller, s.owner_id, "settings.owner_id");
  if (s.list_id) await listFor(d, caller, s.list_id, "contact.edit");
}

/**
 * How long a saving import may go without progress before it counts as stalled: its next part is sent
 * again (by the cron, or by saving it again) and another import of its team may start saving. A part
 * saves in seconds and its retries back off for a few minutes (worker/queue/consumer.ts), so this
 * much quiet means its message was lost (a send that failed after the status changed, a request cut
 * short between the two). A part sent twice is harmless: each part is guarded by parts_done.
 */
export const SAVING_QUIET_MS = 10 * 60_000;

/** SQL: another import of `row`'s team is saving and has made progress within SAVING_QUIET_MS of `t`. */
const otherSaving = (row: Pick<ImportRow, "id" | "teamId">, t: number) =>
  sql`EXISTS (SELECT 1 FROM imports o WHERE o.team_id = ${row.teamId} AND o.status = 'saving' AND o.id <> ${row.id}
              AND o.updated_at > ${t - SAVING_QUIET_MS})`;

/**
 * Sends again the next part of a saving import quiet since SAVING_QUIET_MS (invariant 10: the
 * reconciler of an import left saving with nothing queued). Claimed by moving updated_at from the value
 * read, so two ticks (or a tick and a save) send it once per quiet period; a send that fails gives the
 * claim back, so the next tick tries again. The import as claimed, or null when it isn't quiet (or was
 * claimed, or moved on, meanwhile).
 */
export async function resendQuietImport(env: Env, d: Db, row: ImportRow, t: number): Promise<ImportRow | null> {
  if (row.status !== "saving" || row.updatedAt >= t - SAVING_QUIET_MS) return null;
  const part = row.parts[row.partsDone];
  if (!part) return null;
  const claimed = await d
    .update(imports)
    .set({ updatedAt: t })
    .where(
      and(
        eq(imports.id, row.id),
        eq(imports.status, "saving"),
        eq(imports.partsDone, row.partsDone),
        eq(imports.updatedAt, row.updatedAt),
        // One import of a team saves at a time (saveImport): another may have started while this one
        // was quiet, and both at once would each create the contacts they share. It waits its turn.
        sql`NOT ${otherSaving(row, t)}`,
      ),
    )
    .returning()
    .get();
  if (!claimed) return null;
  try {
    await env.JOBS.send({ kind: "import_part", importId: row.id, part: row.partsDone, from: part.from, to: part.to, row: part.row });
  } catch (err) {
    await d
      .update(imports)
      .set({ updatedAt: row.updatedAt })
      .where(and(eq(imports.id, row.id), eq(imports.updatedAt, t), eq(imports.partsDone, row.partsDone)));
    throw err;
  }
  return claimed;
}

/** Cron: saving imports quiet since SAVING_QUIET_MS go on from their next part, each on its own (one failing doesn't stop the rest). */
export async function resumeQuietImports(env: Env, d: Db, t: number = now()): Promise<void> {
  const quiet = await d
    .select()
    .from(imports)
    .where(and(eq(imports.status, "saving"), lt(imports.updatedAt, t - SAVING_QUIET_MS)))
    .orderBy(asc(imports.updatedAt))
    .limit(50);
  const failures: unknown[] = [];
  for (const row of quiet) {
    try {
      await resendQuietImport(env, d, row, t);
    } catch (err) {
      console.error("resuming a quiet import failed", row.id, err);
      failures.push(err);
    }
  }
  if (failures.length) throw new AggregateError(failures, `${failures.length} quiet imports could not be resumed`);
}

/**
 * Starts saving an import's contacts: checks the mapping (422 naming the missing field), creates the
 * new list if asked, then queues the first part (parts run one after the other, so the first row of
 * a duplicate email wins). Saving twice is harmless: a saved import, or one saving with recent
 * progress, is answered as it is; one saving but quiet since SAVING_QUIET_MS has its next part sent again.
 */
export async function saveImport(env: Env, d: Db, caller: Caller, row: ImportRow): Promise<ImportRow> {
  // Saving again a saving import that went quiet (its part message lost) sends that part again.
  if (row.status === "saving") return (await resendQuietImport(env, d, row, now())) ?? row;
  if (row.status === "ready") return row;
  const problem = mappingProblem(mappingOf(row));
  if (problem) throw new ApiError("validation_failed", problem.message, { fields: [problem] });
  const settings = { ...settingsOf(row) };
  // Saved part-way, an import keeps its settings (updateImport refuses to change them): a default owner
  // disabled since would be a 422 it could never get past. Its parts check the owner again and give
  // the contacts to the uploader (or nobody) with a warning, as for an Owner column naming no active user.
  // So for its list: deleted since, it would be a 404 for ever. Its remaining parts save their contacts
  // into no list, each with a warning (the contacts are what the user imports; a list re-created under
  // the old name would undo the deletion). A list still there is checked as before.
  const resumed = row.partsDone > 0;
  await checkSettings(d, caller, resumed ? { ...settings, owner_id: null, list_id: null } : settings);
  if (resumed && settings.list_id)
    await listFor(d, caller, settings.list_id, "contact.edit").catch((e: unknown) => {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    });
  const t = now();
  // One import of a team saves at a time: two at once each look up an address, find no contact and both
  // create one (the same person twice, then in a sequence twice). One that has made no progress for
  // SAVING_QUIET_MS is not waited for (a part saves in seconds).
  const started = await d
    .update(imports)
    .set({ status: "saving", settings, error: null, updatedAt: t })
    .where(and(eq(imports.id, row.id), inArray(imports.status, ["uploaded", "failed"]), sql`NOT ${otherSaving(row, t)}`))
    .returning()
    .get();
  if (!started) {
    const current = await importById(d, row.id);
    if (current.status === "uploaded" || current.status === "failed")
      throw new ApiError("conflict", "Another import of your team is being saved right now; save this one when it is done");
    return current;
  }
  // A new list is made only once this import holds the team's saving: made first, a 409 (another import
  // saving) left an empty list behind. Failing to make it gives the claim back, as it was.
  if (settings.list_name && !settings.list_id) {
    try {
      settings.list_id = (await ensureLists(d, caller, [settings.list_name]))[0] ?? null;
    } catch (e) {
      await d
        .update(imports)
        .set({ status: row.status, error: row.error, updatedAt: now() })
        .where(and(eq(imports.id, row.id), eq(imports.status, "saving"), eq(imports.partsDone, started.partsDone)));
      throw e;
    }
    if (settings.list_id) {
      await d.update(imports).set({ settings }).where(eq(imports.id, row.id));
      started.settings = settings;
    }
  }
  // A failed import resumes at the part it stopped at.
  const part = started.partsDone;
  const p = started.parts[part]!;
  await env.JOBS.send({ kind: "import_part", importId: row.id, part, from: p.from, to: p.to, row: p.row });
  return started;
}

/**
 * The error report: every row not imported (or saved with a warning, or that filled in the address of a
 * contact met by name and company: each has a reason, FILLED_NOTE for those), with its row number, column,
 * value and reason, then the row's own cells under the file's headers (read again from R2, only for the
 * parts that have such rows, one part at a time), so the user can fix the rows and upload the report
 * itself. Formula-safe CSV. The rows are read across the whole import, 1,000 at a time in row order
 * (the import_rows key): read part by part, a 100-part import with errors in one part read D1 101 times.
 */
export async function* errorReport(env: Env, d: Db, row: ImportRow): AsyncGenerator<string> {
  const encoding = row.encoding as Encoding;
  const { headers } = cleanHeaders(decodeAll(row.rawHeaders, encoding));
  yield csvLine(["row", "column", "value", "reason", ...headers]);
  const PAGE = 1000;
  let at = -1; // the part whose records are held
  let records: string[][] = [];
  let after = 0;
  for (;;) {
    const rows = await d
      .select({ row: importRows.row, column: importRows.column, value: importRows.value, reason: importRows.reason })
      .from(importRows)
      .where(
        and(
          eq(importRows.importId, row.id),
          // Rows not imported, rows saved with a warning (their reason says what was done instead), and rows that filled in an address.
          or(inArray(importRows.outcome, ["error", "duplicate"]), isNotNull(importRows.reason)),
          gt(importRows.row, after),
        ),
      )
      .orderBy(importRows.row)
      .limit(PAGE);
    const lines: string[] = [];
    for (const r of rows) {
      // The part holding this row: parts are in row order, and so are the rows.
      let i = Math.max(at, 0);
      while (i + 1 < row.parts.length && row.parts[i + 1]!.row <= r.row) i++;
      const part = row.parts[i];
      if (part && i !== at) {
        records = await partRecords(env, row, part);
        at = i;
      }
      lines.push(
        csvLine([
          r.row,
          r.column ?? "",
          r.value ?? "",
          r.reason ?? "",
          ...decodeAll(part ? (records[r.row - part.row] ?? []) : [], encoding),
        ]),
      );
    }
    if (lines.length) yield lines.join("");
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.row;
  }
}

/** One part's records as stored in R2 (none when the file is gone: the report keeps its reasons). */
async function partRecords(env: Env, row: ImportRow, part: ImportPart): Promise<string[][]> {
  const obj = await env.IMPORTS.get(row.r2Key, { range: { offset: part.from, length: part.to - part.from } });
  return obj ? parsePart(new Uint8Array(await obj.arrayBuffer()), row.delimiter as Delimiter) : [];
}

/**
 * Deletes an import's data: its stored header and sample rows, its per-row outcomes, then the file in R2.
 * The contacts it saved stay (they are the team's contacts now). Refused (409) while it is saving, or
 * while an add-contacts job that takes its contacts from it has not run yet (it would add nobody).
 * Both are checked by the D1 write itself, in one batch, and the file goes only after it: removed
 * first, a 409 (a save or a job that started after the import was read) left an import whose file was
 * gone. A failure or crash after the write leaves only the file, which nothing reads any more (every
 * read of it goes through its import): it is logged with its key (imports/<team>/<id>.csv), and the
 * cron's sweepOrphanImportFiles removes it a day later; no import is ever left pointing at a missing file.
 */
export async function deleteImport(env: Env, d: Db, row: ImportRow): Promise<void> {
  const waitingJob = sql`EXISTS (SELECT 1 FROM jobs WHERE jobs.team_id = ${row.teamId}
    AND jobs.status IN ('preparing', 'scheduled', 'queued', 'running') AND json_extract(jobs.source, '$.import_id') = ${row.id})`;
  const [, gone] = await d.batch([
    d
      .delete(importRows)
      .where(
        and(
          eq(importRows.importId, row.id),
          eq(importRows.teamId, row.teamId),
          sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status = 'saving')`,
          sql`NOT ${waitingJob}`,
        ),
      ),
    d
      .delete(imports)
      .where(and(eq(imports.id, row.id), eq(imports.teamId, row.teamId), sql`${imports.status} <> 'saving'`, sql`NOT ${waitingJob}`))
      .returning({ id: imports.id }),
  ]);
  if (!gone.length) throw await whyNotDeleted(d, row);
  try {
    await env.IMPORTS.delete(row.r2Key);
  } catch (err) {
    console.error("the file of a deleted import is still in R2; remove it from the bucket", row.r2Key, err);
  }
}

/**
 * Why the guarded delete removed nothing: saving, a waiting add-contacts job, or deleted meanwhile.
 * Read after the delete, so neither may hold any more (the save or the job ended in between): then
 * the refusal says so and asks for another try, never blames a job that is not there.
 */
export async function whyNotDeleted(d: Db, row: ImportRow): Promise<ApiError> {
  const [current, waiting] = await d.batch([
    d
      .select({ status: imports.status })
      .from(imports)
      .where(and(eq(imports.id, row.id), eq(imports.teamId, row.teamId))),
    d
      .select({ id: jobs.id })
      .from(jobs)
      .where(
        and(
          eq(jobs.teamId, row.teamId),
          inArray(jobs.status, ["preparing", "scheduled", "queued", "running"]),
          sql`json_extract(${jobs.source}, '$.import_id') = ${row.id}`,
        ),
      )
      .limit(1),
  ]);
  if (!current.length) return notFound("Import");
  if (current[0]!.status === "saving")
    return new ApiError("conflict", "This import's contacts are being saved; delete it when saving is done", { import_id: row.id });
  if (waiting[0])
    return new ApiError("conflict", "An add-contacts job still takes its contacts from this import; delete it once the job is done", {
      import_id: row.id,
      job_id: waiting[0].id,
    });
  return new ApiError("conflict", "This import was being saved or used by an add-contacts job just now; try deleting it again", {
    import_id: row.id,
  });
}

/** The sample file: every supported column, in the words the mapping recognises, with one example row. */
export function sampleCsv(): string {
  const example: Record<string, string> = {
    email: "ada@example.com",
    first_name: "Ada",
    last_name: "Lovelace",
    full_name: "",
    company: "Analytical Engines Ltd",
    domain: "example.com",
    title: "Head of Engineering",
    phone: "+44 20 7946 0000",
    linkedin_url: "https://www.linkedin.com/in/ada-example",
    industry: "Software",
    city: "London",
    country: "United Kingdom",
    time_zone: "Europe/London",
    owner_email: "",
  };
  const cols = FIELD_NAMES.filter((f) => f !== "full_name");
  const header = cols.map((f) => IMPORT_FIELDS[f].synonyms[0]!.replace(/\b\w/g, (ch) => ch.toUpperCase()));
  // Our own text, no user data: written as is (RFC 4180 quoting only). Through csvLine's formula guard the
  // phone "+44 …" went out as "'+44 …" and came back in that way when the sample was uploaded.
  const cell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const line = (cells: string[]) => cells.map(cell).join(",") + "\r\n";
  return line(header) + line(cols.map((f) => example[f]!));
}

/** An import used as an add-contacts source: the caller's (or an admin's), with its contacts saved. */
export async function importReady(d: Db, caller: Caller, importId: string) {
  const row = await importFor(d, caller, importId);
  if (row.status !== "ready") {
    throw new ApiError(
      "conflict",
      row.status === "saving"
        ? "This import's contacts are still being saved; add them when it is ready"
        : "Save this import's contacts first (POST /api/imports/{id}/save)",
      { import_id: importId, status: row.status },
    );
  }
  return row;
}

/**
 * The custom field keys the team's saved imports keep on contacts (`{{custom.<key>}}` in templates),
 * newest import first, each once. Custom fields only come from CSV imports, so reading the imports'
 * mappings (a handful of rows) finds them without scanning every contact's JSON.
 */
export async function teamCustomFieldKeys(d: Db, teamId: string, limit = 100): Promise<string[]> {
  const rows = await d
    .select({ rawHeaders: imports.rawHeaders, encoding: imports.encoding, mapping: imports.mapping })
    .from(imports)
    .where(
      and(
        eq(imports.teamId, teamId),
        inArray(imports.status, ["saving", "ready"]),
        sql`instr(${imports.mapping}, ${`"${CUSTOM_FIELD}"`}) > 0`,
      ),
    )
    .orderBy(desc(imports.createdAt))
    .limit(200);
  const keys = new Set<string>();
  for (const r of rows) {
    const { headers } = cleanHeaders(decodeAll(r.rawHeaders, r.encoding as Encoding));
    for (const k of customKeys(headers, r.mapping as Mapping)) if (k && keys.size < limit) keys.add(k);
  }
  return [...keys];
}

/**
 * How old a file under imports/ must be before the sweep may remove it: an upload puts its file, then inserts
 * its import in the same request, so a file with no import that is a day old will never get one.
 */
export const ORPHAN_FILE_AGE_MS = 86_400_000;

/** An import's file key as createImport makes it: imports/<team>/<import id>.csv. */
const IMPORT_KEY = /^imports\/[^/]+\/([^/]+)\.csv$/;

/**
 * Cron: removes files under imports/ that no import points to, older than ORPHAN_FILE_AGE_MS. They are left by
 * a crash between deleteImport's D1 write and its R2 delete, or between an upload's put and its insert (or a
 * failed delete of either). A tick lists at most `pages` pages of `pageSize` keys and goes on next tick after
 * the last key it listed (kept in the bucket under sweep-cursors/, outside the prefix: the cron has no other
 * store), so a large bucket is covered over several ticks and no tick reads it all. Each page is one D1 read
 * (the imports by primary key, from the ids in the keys); a key of another shape is not ours to judge and stays.
 */
export async function sweepOrphanImportFiles(
  env: Env,
  d: Db,
  o: { prefix?: string; pageSize?: number; pages?: number } = {},
): Promise<{ listed: number; deleted: string[] }> {
  const prefix = o.prefix ?? "imports/";
  const cursorKey = `sweep-cursors/${prefix}`;
  const cutoff = now() - ORPHAN_FILE_AGE_MS;
  const from = (await (await env.IMPORTS.get(cursorKey))?.text()) || undefined;
  let after = from;
  let listed = 0;
  const deleted: string[] = [];
  for (let p = 0; p < (o.pages ?? 3); p++) {
    const page = await env.IMPORTS.list({ prefix, limit: o.pageSize ?? 1000, ...(after ? { startAfter: after } : {}) });
    listed += page.objects.length;
    const old = page.objects.flatMap((obj) => {
      const id = IMPORT_KEY.exec(obj.key)?.[1];
      return id && obj.uploaded.getTime() < cutoff ? [{ key: obj.key, id }] : [];
    });
    if (old.length) {
      const rows = await inChunks(
        old.map((f) => f.id),
        (chunk) => d.select({ r2Key: imports.r2Key }).from(imports).where(inList(imports.id, chunk)),
      );
      const kept = new Set(rows.map((r) => r.r2Key));
      const orphans = old.filter((f) => !kept.has(f.key)).map((f) => f.key);
      if (orphans.length) {
        await env.IMPORTS.delete(orphans);
        deleted.push(...orphans);
        console.log("removed import files no import points to", orphans);
      }
    }
    after = page.truncated ? page.objects.at(-1)?.key : undefined;
    if (!after) break;
  }
  // Where the next tick starts: after the last key listed, or from the top once the prefix was listed to its end.
  if (after) await env.IMPORTS.put(cursorKey, after);
  else if (from) await env.IMPORTS.delete(cursorKey);
  return { listed, deleted };
}
