import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = ReturnType<typeof db>;

/** Drizzle over the D1 binding. Cheap to create; call per request. */
export function db(d1: D1Database) {
  return drizzle(d1, { schema });
}
