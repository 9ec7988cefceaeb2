import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env";

/**
 * SequenceDO — one per sequence. Owns its sequence's enrollment transitions (the single writer,
 * invariant 1 and 2) and the timer table of due steps behind one alarm.
 */
export class SequenceDO extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    });
  }

  /** Health probe used by tests and the status screen. */
  async ping(): Promise<string> {
    return "sequence";
  }
}
