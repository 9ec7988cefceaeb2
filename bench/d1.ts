import { bulkInsertSql, type Row } from "../worker/db/bulk";
import { batchSql, db } from "../worker/db/client";
import { env } from "../test/helpers";

/** One count from D1 (`SELECT count(*) n ...`). */
export const count = async (q: string, ...b: unknown[]) =>
  (await env.DB.prepare(q)
    .bind(...b)
    .first<{ n: number }>())!.n;

/** The benches' raw-insert floors: rows inserted as the app does (one bulk statement per 900 KB, 50 per batch). */
export async function insertAll(table: string, columns: string[], rows: Row[]) {
  const stmts = bulkInsertSql(table, columns, rows, "");
  for (let i = 0; i < stmts.length; i += 50) await batchSql(db(env.DB), stmts.slice(i, i + 50));
}
