import { createEffect, createSignal, on, onCleanup } from "solid-js";

/**
 * A read that follows fast-changing local state (filters being typed, options being toggled): waits
 * `delay` ms after the last change, aborts the request it replaces, and keeps the previous answer on
 * screen while the next one loads (no Suspense flash). `key` must be JSON-serialisable; returning null
 * means "nothing to load".
 */
export function createLiveFetch<K, T>(key: () => K | null, fetcher: (k: K, signal: AbortSignal) => Promise<T>, delay = 250) {
  const [data, setData] = createSignal<T>();
  const [loading, setLoading] = createSignal(false);
  const [error, setError] = createSignal<unknown>();
  /** The key the shown `data` answers; differs from the current one while a change is pending. */
  const [dataKey, setDataKey] = createSignal<string | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ctrl: AbortController | undefined;
  let current: string | null = null;

  const run = async (k: K, json: string) => {
    ctrl?.abort();
    const mine = new AbortController();
    ctrl = mine;
    setLoading(true);
    try {
      const v = await fetcher(k, mine.signal);
      if (mine.signal.aborted) return;
      setData(() => v);
      setDataKey(json);
      setError(undefined);
    } catch (err) {
      if (mine.signal.aborted) return;
      setError(err);
    } finally {
      if (ctrl === mine) setLoading(false);
    }
  };

  createEffect(
    on(
      () => {
        const k = key();
        return k === null ? null : JSON.stringify(k);
      },
      (json, prev) => {
        current = json;
        clearTimeout(timer);
        if (json === null) {
          ctrl?.abort();
          setLoading(false);
          return;
        }
        const k = JSON.parse(json) as K;
        setLoading(true);
        // The first load goes at once; later changes wait until typing pauses.
        if (prev === undefined || delay === 0) void run(k, json);
        else timer = setTimeout(() => void run(k, json), delay);
      },
    ),
  );
  onCleanup(() => {
    clearTimeout(timer);
    ctrl?.abort();
  });

  return {
    data,
    loading,
    error,
    /** True when the shown data answers the current key (nothing pending). */
    fresh: () => current !== null && dataKey() === current && !loading(),
    refetch: () => {
      if (current !== null) void run(JSON.parse(current) as K, current);
    },
  };
}
