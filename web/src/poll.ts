import { createEffect, onCleanup, untrack } from "solid-js";

/**
 * Calls `again` (a query's revalidate) every `every()` ms while `every()` answers a number; stops when
 * it answers null and starts again when it answers a number anew; stops on unmount. The next call is
 * timed from the last, not from a changed answer, so an answer that repeats itself or a read that
 * fails doesn't stop it.
 */
export function pollWhile(every: () => number | null, again: () => unknown) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  const tick = () => {
    const ms = untrack(every);
    timer =
      ms === null || disposed
        ? undefined
        : setTimeout(() => {
            void again();
            tick();
          }, ms);
  };
  createEffect(() => {
    if (every() !== null && timer === undefined) tick();
  });
  onCleanup(() => {
    disposed = true;
    clearTimeout(timer);
  });
}
