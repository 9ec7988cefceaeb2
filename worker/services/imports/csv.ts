import { parse as parseSync } from "csv-parse/sync";
import { parse as parseStream, CsvError } from "csv-parse/stream";
import { Buffer } from "node:buffer";
import { ApiError } from "../../lib/errors";
import { knownColumns, looksLikeHeader } from "./mapping";

// Reading uploaded CSV files with csv-parse (a streaming parser; no hand-written CSV grammar here).
// The parser works on bytes: fields come out as latin1 strings (one char per byte) and are decoded
// here, one field at a time: a file read as Windows-1252 (some byte of it is not valid UTF-8) still takes
// each field that is valid UTF-8 as UTF-8, so one stray Windows-1252 byte (a file edited in two programs)
// doesn't turn every accented name of the file into mojibake ("JosÃ©"), and nothing is saved as mojibake.

/** Largest file accepted. */
export const MAX_IMPORT_BYTES = 50 * 1024 * 1024;
/** Most data rows (blank rows not counted) one file may hold. */
export const MAX_IMPORT_ROWS = 100_000;
/** Columns a file may have: each is mapped (or ignored) one by one, and a mapping lists every column. */
export const MAX_IMPORT_COLUMNS = 500;
/** Most data rows per queue part: each part is a byte range of the stored file, read on its own. */
export const PART_ROWS = 5000;
/**
 * Most bytes per part (a part is also cut here before PART_ROWS): saving holds a part's bytes, its
 * parsed cells and its rows as written, several times its size, in a 128 MB isolate. Cut by rows only,
 * 5,000 rows of a 300-column export (9 KB a row) made a 45 MB part that could never be saved.
 */
/**
 * UTF-16 text with no byte order mark: in the first 512 bytes every other byte (the odd ones for
 * little-endian, the even ones for big-endian) is zero, as text in Latin letters is. Such a file was
 * called binary data, which sent people looking for the wrong fix.
 */
function utf16WithoutBom(head: Uint8Array): boolean {
  const n = Math.min(head.length, 512) & ~1;
  if (n < 4) return false;
  const zeroAt = (start: number) => {
    for (let i = start; i < n; i += 2) if (head[i] !== 0) return false;
    return true;
  };
  return zeroAt(1) || zeroAt(0);
}

export const PART_BYTES = 4 * 1024 * 1024;
/** Longest record (bytes) before the file is treated as not CSV. */
const MAX_RECORD_BYTES = 256 * 1024;
/** How much of the file is looked at to pick the delimiter (and to find a header below lines of notes). */
const SNIFF_BYTES = 64 * 1024;
/** How many records, from the first, may be notes before the header. */
const HEADER_SEARCH_RECORDS = 10;

export const DELIMITERS = [",", ";", "\t", "|"] as const;
export type Delimiter = (typeof DELIMITERS)[number];
export const ENCODINGS = ["utf-8", "windows-1252"] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** One part of the file: data rows starting at spreadsheet row `row`, bytes [from, to). */
export interface Part {
  from: number;
  to: number;
  row: number;
}

export interface Scan {
  delimiter: Delimiter;
  encoding: Encoding;
  /** Raw (latin1) header cells and the first data rows, decoded on demand with the chosen encoding. */
  rawHeaders: string[];
  rawSample: string[][];
  rowCount: number;
  blankRows: number;
  parts: Part[];
  /** Bytes before the header: a UTF-8 BOM, Excel's "sep=" line and lines of notes (findPreamble). */
  skipBytes: number;
  /** Lines of notes skipped before the header (LinkedIn's Connections export has 3). */
  skippedLines: number;
}

const invalid = (message: string, details: Record<string, unknown> = {}) => new ApiError("invalid_file", message, details);

// Windows-1252 differs from Latin-1 in 0x80-0x9F (WHATWG maps the "iso-8859-1" label to windows-1252 too).
const CP1252: Record<number, string> = {
  0x80: "€",
  0x82: "‚",
  0x83: "ƒ",
  0x84: "„",
  0x85: "…",
  0x86: "†",
  0x87: "‡",
  0x88: "ˆ",
  0x89: "‰",
  0x8a: "Š",
  0x8b: "‹",
  0x8c: "Œ",
  0x8e: "Ž",
  0x91: "‘",
  0x92: "’",
  0x93: "“",
  0x94: "”",
  0x95: "•",
  0x96: "–",
  0x97: "—",
  0x98: "˜",
  0x99: "™",
  0x9a: "š",
  0x9b: "›",
  0x9c: "œ",
  0x9e: "ž",
  0x9f: "Ÿ",
};
const ASCII = /^[\x00-\x7f]*$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A latin1 field (one char per byte) as text: UTF-8 when its bytes are valid UTF-8; otherwise
 * Windows-1252 when the file is read as such, or null (not valid in the file's UTF-8). A field of real
 * Windows-1252 text is almost never valid UTF-8 (an accented letter is one byte ≥ 0x80 between ASCII ones).
 */
export function decodeField(raw: string, encoding: Encoding): string | null {
  if (ASCII.test(raw)) return raw;
  try {
    return utf8.decode(Buffer.from(raw, "latin1"));
  } catch {
    return encoding === "windows-1252" ? raw.replace(/[\x80-\x9f]/g, (ch) => CP1252[ch.charCodeAt(0)] ?? ch) : null;
  }
}

/** Longest cell kept in an import's sample (bytes). */
const SAMPLE_CELL_BYTES = 500;

/**
 * A raw (latin1) cell cut to at most `max` bytes without splitting a UTF-8 character: cut inside one,
 * the preview said "Not valid UTF-8" of a valid file. Backs up over at most 3 continuation bytes.
 */
export function trimRaw(raw: string, max: number): string {
  if (raw.length <= max) return raw;
  let end = max;
  for (let k = 0; k < 3 && end > 0 && (raw.charCodeAt(end) & 0xc0) === 0x80; k++) end--;
  return raw.slice(0, end);
}

/**
 * Every line end ends a record, wherever it is in the file, for the upload's scan and for saving a part
 * alike. Left to detect it, csv-parse took the first line end it met for the whole input: the scan saw
 * the header's CRLF and read LF rows as one (while a part, starting after the header, saw LF), and the
 * LF the scan adds after a last line without one was not a line end, so that line kept its quotes.
 */
const RECORD_DELIMITERS = ["\r\n", "\n", "\r"];
/** How a file is read for its rows, the same when looking for the header below notes and when splitting it into parts. */
const scanOptions = (delimiter: Delimiter) => ({
  delimiter,
  encoding: "latin1" as const,
  record_delimiter: RECORD_DELIMITERS,
  relax_column_count: true,
  relax_quotes: true,
  skip_empty_lines: false,
  max_record_size: MAX_RECORD_BYTES,
});

/** The delimiter that splits the first lines into the most columns, consistently. */
function sniffDelimiter(head: Buffer): Delimiter {
  const best = sniffFirstLine(head);
  // No delimiter splits the first line: lines of notes before the header (one value each), when one
  // finds a header below them; otherwise "," as before.
  return best ?? DELIMITERS.find((d) => findPreamble(head, d)) ?? ",";
}

function sniffFirstLine(head: Buffer): Delimiter | null {
  // Only whole lines: cut after the last line break (a quoted field may still span the cut; relaxed parsing copes).
  const lastBreak = Math.max(head.lastIndexOf(10), head.lastIndexOf(13));
  const text = lastBreak > 0 ? head.subarray(0, lastBreak) : head;
  let best: { d: Delimiter; score: number } = { d: ",", score: -1 };
  for (const d of DELIMITERS) {
    let records: string[][];
    try {
      records = parseSync(text, {
        delimiter: d,
        encoding: "latin1",
        record_delimiter: RECORD_DELIMITERS,
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        to: 50,
      });
    } catch {
      continue;
    }
    const width = records[0]?.length ?? 0;
    if (width < 2) continue;
    const same = records.filter((r) => r.length === width).length;
    const score = same * 1000 + width;
    if (score > best.score) best = { d, score };
  }
  return best.score < 0 ? null : best.d;
}

/**
 * Lines of notes before the header, as LinkedIn's Connections export has ("Notes:", a paragraph about
 * missing addresses, a blank line): when the first record names no known column and a later one of the
 * first HEADER_SEARCH_RECORDS reads as a header (looksLikeHeader: two cells naming known columns), and every
 * record before it has fewer values than it, the bytes and lines before that header. The last condition
 * keeps a file whose own header names no known column as it was even when a data row of it happens to
 * (a data row is as wide as its header; notes are narrower). Null for an ordinary file: read as before.
 */
function findPreamble(head: Buffer, delimiter: Delimiter): { bytes: number; lines: number } | null {
  const records: { fields: string[]; bytes: number }[] = [];
  try {
    parseSync(head, {
      ...scanOptions(delimiter),
      to: HEADER_SEARCH_RECORDS,
      on_record: ((fields: string[], info: { bytes: number }) => {
        records.push({ fields, bytes: info.bytes });
        return null;
      }) as unknown as (record: string[], context: unknown) => null,
    });
  } catch {
    // The sniffed bytes end inside a record (an open quote): the records read before it still count.
  }
  const text = records.map((r) => r.fields.map((c) => decodeField(c, "windows-1252") ?? c));
  // A first line naming any known column is the header, as before (a one-column "Email" file).
  if (!text.length || knownColumns(text[0]!) > 0) return null;
  const at = text.findIndex(looksLikeHeader);
  if (at <= 0) return null;
  const header = records[at]!;
  if (!records.slice(0, at).every((r) => r.fields.length < header.fields.length)) return null;
  const bytes = records[at - 1]!.bytes;
  let lines = 0;
  for (let i = 0; i < bytes; i++) {
    if (head[i] === 10) lines++;
    else if (head[i] === 13 && head[i + 1] !== 10) lines++;
  }
  return { bytes, lines };
}

function looksBinary(b: Uint8Array): boolean {
  const n = Math.min(b.length, 8192);
  for (let i = 0; i < n; i++) if (b[i] === 0) return true;
  return false;
}

const isBlank = (r: string[]) => r.every((f) => f.trim() === "");

/**
 * One pass over the uploaded bytes, a chunk at a time: detects the encoding (UTF-8 unless some byte
 * sequence is not valid UTF-8, then Windows-1252), the delimiter and the header, counts the data
 * rows and notes where every part (PART_ROWS rows or PART_BYTES, whichever comes first) starts. Stops with 413 at the first row past the
 * limit, without reading the rest. Holds at most one chunk plus the rows of the sample.
 */
export async function scanCsv(
  stream: ReadableStream<Uint8Array>,
  choose: { encoding?: Encoding; delimiter?: Delimiter } = {},
): Promise<Scan> {
  const reader = stream.getReader();
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let done = false;
  // Gather the first SNIFF_BYTES to detect BOM, binary content and the delimiter.
  while (!done && pendingBytes < SNIFF_BYTES) {
    const r = await reader.read();
    if (r.done) done = true;
    else {
      const b = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      pending.push(b);
      pendingBytes += b.length;
    }
  }
  let head = Buffer.concat(pending);
  if (head.length === 0) throw invalid("The file is empty", { fix: "Export the contacts again with a header row and at least one row" });
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff) || utf16WithoutBom(head)) {
    throw invalid("The file is UTF-16 text; save it as CSV UTF-8 and upload it again", { fix: "In Excel: File → Save As → CSV UTF-8" });
  }
  if (looksBinary(head))
    throw invalid("This is not a CSV file: it holds binary data (a spreadsheet or an image renamed .csv?)", {
      fix: "Save it as CSV (comma delimited) or CSV UTF-8 and upload that",
    });
  const bomBytes = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  head = head.subarray(bomBytes);
  // Excel's "sep=;" first line (written by Excel and by exports meant for it) names the delimiter and
  // is not the header: read as one, every row had "more values than the header".
  const sepLine = /^sep=([,;\t|])\r?\n/i.exec(head.subarray(0, 8).toString("latin1"));
  head = head.subarray(sepLine?.[0].length ?? 0);
  const delimiter = choose.delimiter ?? (sepLine?.[1] as Delimiter | undefined) ?? sniffDelimiter(head);
  // Lines of notes before the header (LinkedIn's export): read as the header, the file had one column, "Notes:".
  const preamble = findPreamble(head, delimiter);
  head = head.subarray(preamble?.bytes ?? 0);
  // Bytes before the header: part offsets count them, the parser never sees them.
  const skipBytes = bomBytes + (sepLine?.[0].length ?? 0) + (preamble?.bytes ?? 0);

  // Encoding check runs over every byte as it streams past (stream mode keeps split sequences whole).
  const checker = new TextDecoder("utf-8", { fatal: true });
  let validUtf8 = true;
  const check = (b: Uint8Array, last: boolean) => {
    if (!validUtf8) return;
    try {
      checker.decode(b, { stream: !last });
    } catch {
      validUtf8 = false;
    }
  };

  let rawHeaders: string[] | null = null;
  const rawSample: string[][] = [];
  let rowCount = 0;
  let blankRows = 0;
  let record = 0; // records read, header included
  let lastBytes = 0;
  const parts: Part[] = [];
  let partRecords = 0; // records in the last part
  let tooMany = false;
  let totalBytes = 0;

  // Each record is counted inside the parser as it is read (`on_record`) and then dropped: none is
  // queued on the stream's readable side, so a record costs no stream read of its own.
  const onRecord = (fields: string[], info: { bytes: number }): null => {
    record++;
    if (!rawHeaders) {
      rawHeaders = fields;
      lastBytes = info.bytes;
      return null;
    }
    if (isBlank(fields)) blankRows++;
    else {
      rowCount++;
      if (rowCount > MAX_IMPORT_ROWS) {
        tooMany = true;
        throw new Error("too many rows");
      }
      if (rawSample.length < 5) rawSample.push(fields.map((f) => trimRaw(f, SAMPLE_CELL_BYTES)));
    }
    // A new part after PART_ROWS records (blank ones included: parts are byte ranges), or before the
    // record that would take the part past PART_BYTES.
    const part = parts[parts.length - 1];
    if (!part || partRecords === PART_ROWS || info.bytes + skipBytes - part.from > PART_BYTES) {
      parts.push({ from: lastBytes + skipBytes, to: 0, row: record });
      partRecords = 0;
    }
    partRecords++;
    lastBytes = info.bytes;
    parts[parts.length - 1]!.to = info.bytes + skipBytes;
    return null;
  };
  const parser = parseStream({
    ...scanOptions(delimiter),
    on_record: onRecord as unknown as (record: string[], context: unknown) => null,
  });
  const writer = parser.writable.getWriter();
  // Nothing is ever queued there; reading it lets the stream close.
  const consume = parser.readable.pipeTo(new WritableStream());
  consume.catch(() => undefined); // its error is the writer's too, handled below

  try {
    let lastByte = -1;
    const feed = async (b: Buffer, last: boolean) => {
      check(b, last);
      if (b.length) lastByte = b[b.length - 1]!;
      totalBytes += b.length;
      await writer.write(b);
    };
    await feed(head, done);
    while (!done && !tooMany) {
      const r = await reader.read();
      if (r.done) break;
      await feed(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength), false);
    }
    if (!tooMany) {
      check(new Uint8Array(0), true);
      // workerd's TransformStream drops a record emitted while flushing: end the last line ourselves.
      if (lastByte !== 10 && lastByte !== 13) await writer.write(Buffer.from("\n", "latin1"));
      await writer.close();
    }
    await consume;
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    if (tooMany) throw tooManyRows();
    if (err instanceof CsvError || (err as { code?: string })?.code?.startsWith?.("CSV_")) throw csvProblem(err as CsvError, record);
    throw err;
  }
  if (tooMany) {
    await reader.cancel().catch(() => undefined);
    throw tooManyRows();
  }
  if (!rawHeaders) throw invalid("The file is empty", { fix: "Export the contacts again with a header row and at least one row" });
  if (rowCount === 0) throw invalid("The file has a header row but no contacts below it", { fix: "Add at least one row under the header" });
  // (Assigned in the parser's callback, which TypeScript does not follow.)
  const columns = (rawHeaders as string[]).length;
  if (columns > MAX_IMPORT_COLUMNS)
    throw invalid(`This file has ${columns.toLocaleString("en-US")} columns; a file can have at most ${MAX_IMPORT_COLUMNS}`, {
      fix: "Delete the columns you don't need from the file (or check the delimiter) and upload it again",
      columns,
    });
  // The added line end is not in the stored file.
  for (const p of parts) p.to = Math.min(p.to, totalBytes + skipBytes);
  const encoding = choose.encoding ?? (validUtf8 ? "utf-8" : "windows-1252");
  return { delimiter, encoding, rawHeaders, rawSample, rowCount, blankRows, parts, skipBytes, skippedLines: preamble?.lines ?? 0 };
}

function tooManyRows() {
  return new ApiError("payload_too_large", `A file can hold at most ${MAX_IMPORT_ROWS.toLocaleString("en-US")} rows; this one has more`, {
    limit_rows: MAX_IMPORT_ROWS,
    fix: "Split the file into several files of at most 100,000 rows",
  });
}

function csvProblem(err: CsvError, records: number) {
  const line = (err as unknown as { lines?: number }).lines;
  if (err.code === "CSV_QUOTE_NOT_CLOSED") {
    return invalid(`A quote opened on row ${records + 1} is never closed, so the rest of the file would be one value`, {
      row: records + 1,
      line,
      fix: 'Close the quote ("), or remove it, and upload again',
    });
  }
  if (err.code === "CSV_MAX_RECORD_SIZE") {
    return invalid(`Row ${records + 1} is longer than ${MAX_RECORD_BYTES / 1024} KB: this does not look like a contacts file`, {
      row: records + 1,
      line,
      fix: "Check the file is a CSV export of contacts",
    });
  }
  return invalid(`The file can't be read as CSV at row ${records + 1}: ${err.message}`, { row: records + 1, line });
}

/** The records of one part (a byte range of the file, starting on a record boundary), as raw latin1 fields. */
export function parsePart(bytes: Uint8Array, delimiter: Delimiter): string[][] {
  return parseSync(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    ...scanOptions(delimiter),
  });
}
