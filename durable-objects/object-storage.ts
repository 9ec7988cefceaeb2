/**
 * What the engine's objects share about their own SQLite storage (`ctx.storage.sql`): a `meta`
 * key/value table, numbered migrations recorded in it, and the one way to patch a row by key.
 */

/** A value for the object's SQLite storage. */
export type Cell = SqlStorageValue;

export function readMeta(sql: SqlStorage, key: string): string | null {
  return sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ?? null;
}

export function writeMeta(sql: SqlStorage, key: string, value: string): void {
  sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value);
}

export function deleteMeta(sql: SqlStorage, key: string): void {
  sql.exec("DELETE FROM meta WHERE key = ?", key);
}

/**
 * Runs the migrations this storage has not run yet, in order; `steps[i]` brings the schema from
 * version i to i + 1, and the version is recorded after each step. Called from the constructor inside
 * `blockConcurrencyWhile`, so no call sees a half-migrated table.
 */
export function migrate(sql: SqlStorage, steps: readonly ((sql: SqlStorage) => void)[]): void {
  sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const from = Number(readMeta(sql, "schema") ?? 0);
  for (let v = from; v < steps.length; v++) {
    steps[v]!(sql);
    writeMeta(sql, "schema", String(v + 1));
  }
}

/**
 * `UPDATE table SET <patch> WHERE <key>`; returns the rows written. Column names come from the
 * objects' own typed row interfaces (never from input); values are bound.
 */
export function patchRow<R>(
  sql: SqlStorage,
  table: string,
  patch: Partial<R>,
  where: Record<string, Cell>,
  extraSet: Record<string, Cell> = {},
): number {
  const set = { ...(patch as Record<string, Cell>), ...extraSet };
  const keys = Object.keys(set);
  if (!keys.length) return 0;
  const conds = Object.keys(where);
  return sql.exec(
    `UPDATE ${table} SET ${keys.map((k) => `${k} = ?`).join(", ")} WHERE ${conds.map((k) => `${k} = ?`).join(" AND ")}`,
    ...keys.map((k) => set[k] ?? null),
    ...conds.map((k) => where[k] ?? null),
  ).rowsWritten;
}
