/**
 * CSV cells for every export: a cell that a spreadsheet would run as a formula is prefixed with a
 * quote (CSV injection), and cells with quotes, commas, semicolons, tabs or line breaks are quoted.
 * Semicolons and tabs too: Excel in locales whose list separator is ";" (German, French) splits an
 * unquoted cell there, so `x;=HYPERLINK(…)` would become a second cell that is a formula.
 */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? "" : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",;\t\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (CRLF-terminated, RFC 4180) of formula-safe cells. */
export const csvLine = (cells: readonly unknown[]) => cells.map(csvCell).join(",") + "\r\n";
