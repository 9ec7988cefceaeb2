import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env";

/**
 * MailboxDO — one per mailbox. Owns the mailbox's send ledger and capacity (invariants 3 and 4):
 * reserve before the transport is called, settle after.
 */
export class MailboxDO extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    });
  }

  async ping(): Promise<string> {
    return "mailbox";
  }
}
