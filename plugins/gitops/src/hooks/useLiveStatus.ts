import { GitopsStatusSignal } from '@gitops-backstage/plugin-gitops-common';
import { useSignal } from '@backstage/plugin-signals-react';
import { useCallback, useEffect, useRef } from 'react';
import { PollingState, usePolling } from './usePolling';

/**
 * With signals, a reload this often at most: only a safety net for a signal lost
 * while the browser's connection was down.
 */
export const SIGNALLED_RELOAD_MS = 5 * 60_000;

/**
 * With signals, the first answer is loaded again this soon, once: the signals
 * connection subscribes after the first load starts, and a change in between would
 * otherwise wait for the safety net.
 */
export const SUBSCRIBED_CATCH_UP_MS = 3_000;

/**
 * Loads a status and loads it again whenever the backend signals a change on
 * `channel`. Where either side cannot signal (no signals plugin in the app, or the
 * answer is not `signalled`: the backend does not watch or has no signals backend),
 * every `pollMs` instead.
 */
export function useLiveStatus<T extends { signalled?: boolean }>(
  load: (signal: AbortSignal) => Promise<T>,
  channel: string,
  pollMs: number,
): PollingState<T> & { live: boolean } {
  const { lastSignal, isSignalsAvailable } =
    useSignal<GitopsStatusSignal>(channel);
  const live = (answer?: T) => isSignalsAvailable && !!answer?.signalled;
  const loads = useRef(0);
  const counted = useCallback(
    (signal: AbortSignal) => {
      loads.current++;
      return load(signal);
    },
    [load],
  );
  const state = usePolling(counted, answer => {
    if (!live(answer)) return pollMs;
    return loads.current === 1 ? SUBSCRIBED_CATCH_UP_MS : SIGNALLED_RELOAD_MS;
  });
  const { retry } = state;
  useEffect(() => {
    if (lastSignal) retry();
  }, [lastSignal, retry]);
  return { ...state, live: live(state.value) };
}
