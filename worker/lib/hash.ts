/**
 * FNV-1a over UTF-16 code units, as an unsigned 32-bit integer: the one cheap, stable hash used where a
 * value must spread evenly and deterministically (A/B variants, send spreading, the enrichment stand-in).
 */
export function fnv1a(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
