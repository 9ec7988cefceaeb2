import { z } from "@hono/zod-openapi";

/**
 * CSV cells for every export: a cell that a spreadsheet would run as a formula is prefixed with a
 * quote (CSV injection), and cells with quotes, commas, semicolons, tabs or line breaks are quoted.
 * Semicolons and tabs too: Excel in locales whose list separator is ";" (German, French) splits an
 * unquoted cell there, so `x;=HYPERLINK(…)` would become a second cell that is a formula.
 */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? "" : String(v);
  // A cell that already looks guarded ('+44) is guarded again (''+44), so unguardCell gives every cell back as it was.
  if (GUARDED.test(s)) s = `'${s}`;
  return /[",;\t\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** What csvCell guards: a cell starting with a character a spreadsheet runs as a formula, after any quotes. */
const GUARDED = /^'*[=+\-@\t\r]/;

/**
 * An uploaded cell as it was before csvCell's guard (one place with it, its exact inverse): a report we wrote,
 * fixed and uploaded again, gave contacts phone numbers like `'+44 20 …`. Only a quote before what the guard
 * covers is dropped: `'hello` was never guarded and stays as it is.
 */
export const unguardCell = (s: string) => (s.startsWith("'") && GUARDED.test(s.slice(1)) ? s.slice(1) : s);

/** One CSV line (CRLF-terminated, RFC 4180) of formula-safe cells. */
export const csvLine = (cells: readonly unknown[]) => cells.map(csvCell).join(",") + "\r\n";

/** The OpenAPI answer of every CSV download (`csvDownload`). */
export const csvFile = (description = "A CSV file (UTF-8 with a byte order mark), as an attachment") => ({
  description,
  content: { "text/csv": { schema: z.string() } },
});

/**
 * `attachment` with the file's name (RFC 6266). `filename` is ASCII with only letters, digits, "_", "."
 * and "-" (anything else becomes "_": no quote, backslash or line break can break out of the header);
 * when that changed the name (a user's "Kunden Müller.csv"), `filename*=UTF-8''…` carries it whole, and
 * browsers use that one.
 */
export function attachment(name: string): string {
  const fallback = name.replace(/[^\w.-]+/g, "_");
  if (fallback === name) return `attachment; filename="${name}"`;
  // Control characters and path separators never reach a saved file's name; the rest percent-encoded
  // outside RFC 8187's attr-char (encodeURIComponent leaves ' ( ) * as they are).
  // A lone surrogate (a name cut mid-character) would make encodeURIComponent throw.
  const clean = name.replace(/[\x00-\x1f\x7f/\\]+|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "_");
  const whole = encodeURIComponent(clean).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${whole}`;
}

/** A UTF-8 byte order mark (see csvDownload). */
const BOM = "\uFEFF";

/**
 * Every CSV download: `text/csv; charset=utf-8` as an attachment named `name`, starting with a UTF-8
 * byte order mark (without it Excel on Windows reads the file as ANSI and garbles "Müller"). A string
 * body goes out whole; an async iterable of CSV text (lines or pages of lines) streams, the next piece
 * read only when the reader wants more, so a 100,000-row export never sits in memory and a slow
 * download never has every page queued. A download given up midway stops the iterable (`return()`).
 */
export function csvDownload(name: string, body: string | AsyncIterable<string>): Response {
  const headers = { "content-type": "text/csv; charset=utf-8", "content-disposition": attachment(name) };
  if (typeof body === "string") return new Response(BOM + body, { headers });
  const enc = new TextEncoder();
  const it = body[Symbol.asyncIterator]();
  let head = BOM;
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      // Until something is enqueued (or the end): a pull that enqueues nothing is not called again.
      for (;;) {
        const n = await it.next();
        if (n.done) {
          if (head) ctl.enqueue(enc.encode(head));
          return ctl.close();
        }
        if (!n.value) continue;
        ctl.enqueue(enc.encode(head + n.value));
        head = "";
        return;
      }
    },
    async cancel() {
      await it.return?.();
    },
  });
  return new Response(stream, { headers });
}
