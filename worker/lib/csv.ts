/**
 * CSV cells for every export: a cell that a spreadsheet would run as a formula is prefixed with a
 * quote (CSV injection), and cells with quotes, commas or line breaks are quoted.
 */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? "" : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (CRLF-terminated, RFC 4180) of formula-safe cells. */
export const csvLine = (cells: readonly unknown[]) => cells.map(csvCell).join(",") + "\r\n";
