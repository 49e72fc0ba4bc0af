import { useCallback, useEffect, useRef, useState } from 'react';

export interface PollingState<T> {
  value?: T;
  error?: Error;
  loading: boolean;
  /** Loads again now. */
  retry: () => void;
}

/**
 * Loads `load` now and again every `intervalMs` (or as long as it says for the last
 * answer) while the page is visible; after a failure the next try waits twice as long
 * (up to `maxBackoffMs`). Keeps showing the last answer while reloading.
 */
export function usePolling<T>(
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number | ((last: T | undefined) => number),
  maxBackoffMs = 5 * 60 * 1000,
): PollingState<T> {
  const [state, setState] = useState<{
    value?: T;
    error?: Error;
    loading: boolean;
  }>({
    loading: true,
  });
  const [round, setRound] = useState(0);
  const failures = useRef(0);
  const last = useRef<T>();
  // Read when scheduling: a new interval applies from the next wait, without a reload.
  const interval = useRef(intervalMs);
  interval.current = intervalMs;

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;

    const schedule = () => {
      const every =
        typeof interval.current === 'number'
          ? interval.current
          : interval.current(last.current);
      const delay = Math.min(every * 2 ** failures.current, maxBackoffMs);
      timer = setTimeout(() => {
        if (document.visibilityState === 'visible') setRound(r => r + 1);
        else schedule(); // hidden: check again later, load nothing
      }, delay);
    };

    load(controller.signal).then(
      value => {
        if (controller.signal.aborted) return;
        failures.current = 0;
        last.current = value;
        setState({ value, loading: false });
        schedule();
      },
      error => {
        if (controller.signal.aborted) return;
        failures.current++;
        setState(previous => ({
          value: previous.value,
          error,
          loading: false,
        }));
        schedule();
      },
    );
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [load, maxBackoffMs, round]);

  // Coming back to the tab refreshes at once.
  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible') setRound(r => r + 1);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, []);

  const retry = useCallback(() => setRound(r => r + 1), []);
  return { ...state, retry };
}
