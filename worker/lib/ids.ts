import { now } from "./clock";
import { sha256Hex } from "./crypto";

/**
 * The counter after an id's time, started at random per isolate on the first id (Workers refuse
 * random numbers in global scope, where this module is loaded).
 */
let counter = -1;

/**
 * 24 lowercase hex characters, the shape of Apollo's ids (MongoDB ObjectIds), so migrated
 * integrations keep working: 4 bytes of seconds since 1970, a 3-byte counter, 5 random bytes.
 * Time and counter in front is what matters to us: ids made one after the other sort one after the
 * other, so a batch of inserts adds to the end of each index keyed by id (a few pages written at its
 * commit) instead of a page per row scattered over the index.
 */
export function newId(): string {
  const b = new Uint8Array(12);
  const seconds = Math.floor(now() / 1000);
  counter = counter < 0 ? crypto.getRandomValues(new Uint32Array(1))[0]! & 0xffffff : (counter + 1) & 0xffffff;
  b[0] = (seconds >>> 24) & 0xff;
  b[1] = (seconds >>> 16) & 0xff;
  b[2] = (seconds >>> 8) & 0xff;
  b[3] = seconds & 0xff;
  b[4] = counter >>> 16;
  b[5] = (counter >>> 8) & 0xff;
  b[6] = counter & 0xff;
  crypto.getRandomValues(b.subarray(7));
  return toHex(b);
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const x of bytes) s += x.toString(16).padStart(2, "0");
  return s;
}

/** A URL-safe random secret of `bytes` bytes (session tokens, API keys, CSRF tokens). */
export function randomToken(bytes = 32): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/**
 * An id the same inputs always give, for rows a queue message may make again on redelivery (the same
 * row, not a second one), in `seq` order under its parent: the parent id's second (the first 8 hex),
 * `seq` (6 hex), then 10 hex of a hash of the parent and `parts`. A job's or an import's rows thus go
 * to the end of each id-keyed index in the order they are made, like `newId`'s.
 */
export async function orderedIdFrom(parentId: string, seq: number, ...parts: (string | number)[]): Promise<string> {
  const hash = await sha256Hex([parentId, seq, ...parts].join(":"));
  return parentId.slice(0, 8) + (seq % 0x1000000).toString(16).padStart(6, "0") + hash.slice(0, 10);
}
