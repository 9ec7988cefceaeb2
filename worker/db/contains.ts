import { sql, type SQL, type SQLWrapper } from "drizzle-orm";

/**
 * Text search ("name contains …") goes through here, never LIKE: D1 refuses LIKE and GLOB patterns
 * longer than 50 bytes ("pattern too complex"), so a long search answered 500. instr() has no such
 * limit and no wildcards to escape; lower() folds ASCII case as LIKE does. A NULL column never matches.
 */
export function contains(column: SQLWrapper, text: string): SQL {
  return sql`instr(lower(${column}), lower(${text})) > 0`;
}

/** Raw-SQL form: `containsSql("c.email", "?2")` → `instr(lower(c.email), lower(?2)) > 0`. */
export const containsSql = (column: string, param: string) => `instr(lower(${column}), lower(${param})) > 0`;

/**
 * Accent- and case-blind text: the Latin letters with a mark that names and companies hold most (French,
 * German, Spanish, Portuguese, Nordic, Polish, Czech, Hungarian, Turkish), upper and lower case, to their
 * plain lower-case letters ("É" → "e", "ß" → "ss", "Ø" → "o"). SQLite's lower() folds A–Z only and D1 has
 * no ICU, so "élodie", "MÜLLER" or "societe" found no Élodie Müller of Société Générale. People search
 * folds through FTS5's unicode61 tokenizer (remove_diacritics), which a "contains" search can't use.
 * D1 parses an expression at most 100 deep and each letter is one nested replace(), so the list is
 * these 77 (leaving room for the filters around them) and not every Latin letter: a rarer one (Ì, ď,
 * Ŧ) is not folded.
 */
const FOLDED = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿß" + "ÀÁÂÄÅÆÇÈÉÊËÎÏÑÓÔÖØÚÜ" + "ąćčęěğıłńőřśşšůűźżž" + "ČŁŚŠŽŻŘİ";
const SPECIAL: Record<string, string> = { ß: "ss", æ: "ae", Æ: "ae", ø: "o", Ø: "o", ł: "l", Ł: "l", ı: "i" };
export const FOLDS: readonly (readonly [string, string])[] = [...FOLDED].map((ch) => [
  ch,
  SPECIAL[ch] ?? ch.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase(),
]);

/**
 * FOLDS and 19 rarer letters, for the name order alone (contacts_team_folded_name_idx): an ORDER BY term
 * stands alone, with no filters around it, so it takes 97 replaces before D1's depth of 100 (96 here, one
 * spare), where a search's must leave room for its filters (77; FOLDS with these 19 failed every contacts
 * search). A name begins with a capital, and lower() leaves a capital with a mark as it is, which sorts
 * after Z: these are the capitals that begin names (Ìñigo, Ýmir, Şahin, Ďurica, Ťapák,
 * Ćwik, Őry) and the Czech ď ť ň. Still left out: capitals that only follow the first letter (ĄĘĚĞŃŮ).
 */
const SORT_FOLDED = "ÃÌÍÒÕÙÛÝďťňĎŤŇŞĆŹŐŰ";
export const SORT_FOLDS: readonly (readonly [string, string])[] = [
  ...FOLDS,
  ...[...SORT_FOLDED].map((ch) => [ch, ch.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()] as const),
];

/**
 * SQL of `expr` (already lower()ed) with accents taken off: the replaces run only for text holding a
 * character outside ASCII (its length in bytes then differs), so most rows cost one comparison.
 * Deterministic, so an index may hold it; a query reaches that index only with the same text.
 */
export function foldSql(expr: string, folds: readonly (readonly [string, string])[] = FOLDS): string {
  let chain = expr;
  for (const [from, to] of folds) chain = `replace(${chain}, '${from}', '${to}')`;
  return `CASE WHEN length(${expr}) = length(CAST(${expr} AS BLOB)) THEN ${expr} ELSE ${chain} END`;
}

/** `foldSql` as drizzle SQL around `value` (a column or a bound value), lower()ed first. */
export function folded(value: SQLWrapper | string, folds: readonly (readonly [string, string])[] = FOLDS): SQL {
  return sql.join(
    foldSql("\u0000", folds)
      .split("\u0000")
      .map((p) => sql.raw(p)),
    sql`lower(${value})`,
  );
}

/** `contains`, accent-blind as well ("societe" finds "Société"): the typed text is folded here, bound once. */
export function containsFolded(column: SQLWrapper, text: string): SQL {
  return sql`instr(${folded(column)}, ${fold(text)}) > 0`;
}

/** `text` as `folded` makes it in SQL (A–Z lower-cased, then FOLDS), for values compared with a folded index. */
export function fold(text: string): string {
  let s = text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (!/[^\x00-\x7f]/.test(s)) return s;
  for (const [from, to] of FOLDS) s = s.split(from).join(to);
  return s;
}
