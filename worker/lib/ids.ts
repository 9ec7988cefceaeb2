/** 24 lowercase hex characters: the shape of Apollo's ids, so migrated integrations keep working. */
export function newId(): string {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
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
