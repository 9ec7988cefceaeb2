import { now } from "./clock";

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
