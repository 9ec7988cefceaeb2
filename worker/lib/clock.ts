/**
 * The one clock. Everything time-dependent reads `now()` from here so tests can run weeks of
 * sending in seconds (DESIGN.md "Time"). Tests call `setClock` inside the Workers runtime; the
 * Worker and its Durable Objects share the isolate in tests, so they see the same clock.
 */
let offsetMs = 0;
let frozenAt: number | null = null;

export function now(): number {
  return frozenAt ?? Date.now() + offsetMs;
}

/** Freeze time at `ms` (tests). */
export function setClock(ms: number): void {
  frozenAt = ms;
}

/** Move time forward (tests). */
export function advanceClock(ms: number): void {
  if (frozenAt !== null) frozenAt += ms;
  else offsetMs += ms;
}

export function resetClock(): void {
  frozenAt = null;
  offsetMs = 0;
}
