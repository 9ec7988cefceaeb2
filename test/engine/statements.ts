import { runInDurableObject } from "cloudflare:test";
import { mailboxStub } from "../../durable-objects/engine";
import { env } from "../helpers";

/** What a statement's cursor counts once it has been read (rows read and written by SQLite). */
export type Counted = { rowsRead: number; rowsWritten: number };
type Exec = (q: string, ...b: unknown[]) => Counted;

/**
 * Calls `seen` with every statement any Durable Object runs (SequenceDO and MailboxDO share
 * SqlStorage's prototype) until the returned function is called, which puts `exec` back. `cursor`
 * counts its rows as the caller reads it: read its counts after the call that ran the statement.
 */
export async function watchStatements(seen: (q: string, binds: unknown[], cursor: Counted) => void): Promise<() => void> {
  const sqlOf = await runInDurableObject(mailboxStub(env, "statements-probe"), (_o, state) => state.storage.sql);
  const proto = Object.getPrototypeOf(sqlOf) as { exec: Exec };
  const exec = proto.exec;
  proto.exec = function (this: unknown, q: string, ...b: unknown[]) {
    const cursor = exec.call(this, q, ...b);
    seen(q, b, cursor);
    return cursor;
  };
  return () => {
    proto.exec = exec;
  };
}

/** A statement on one line, for matching. */
export const oneLine = (q: string) => q.replace(/\s+/g, " ").trim();

/** Every statement the objects run while `fn` runs, each on one line. */
export async function statementsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const ran: string[] = [];
  const restore = await watchStatements((q) => ran.push(oneLine(q)));
  try {
    await fn();
  } finally {
    restore();
  }
  return ran;
}
