/**
 * Whether a statement only reads: a SELECT, or a WITH that inserts, updates, deletes or replaces
 * nothing. Only a read may be run twice (the D1 counter) or sent before the caller is known to be
 * who they were (db/riding-check.ts); anything else counts as a write. The replace() function (a
 * name folded of its accents, db/contains.ts foldSql) is no REPLACE statement: it made the People
 * search's WITH a write, which then waited for the session check on a round trip of its own.
 */
export const isReadSql = (text: string) =>
  /^\s*select\b/i.test(text) || (/^\s*with\b/i.test(text) && !/\b(insert|update|delete)\b|\breplace\b(?!\s*\()/i.test(text));
