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
