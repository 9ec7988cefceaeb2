import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = ReturnType<typeof db>;

/** Drizzle over the D1 binding. Cheap to create; call per request. */
export function db(d1: D1Database) {
  return drizzle(d1, { schema });
}

type Stmt = Parameters<Db["batch"]>[0][number];

/** `d.batch` for a list built at run time (D1's batch is its only transaction). */
export async function runBatch(d: Db, stmts: Stmt[]): Promise<void> {
  if (stmts.length) await d.batch(stmts as [Stmt, ...Stmt[]]);
}
