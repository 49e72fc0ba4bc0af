import { GitopsStatusSignal } from '@gitops-backstage/plugin-gitops-common';
import { useSignal } from '@backstage/plugin-signals-react';
import { useEffect } from 'react';
import { PollingState, usePolling } from './usePolling';

/**
 * With signals, a reload this often at most: only a safety net for a signal lost
 * while the browser's connection was down.
 */
export const SIGNALLED_RELOAD_MS = 5 * 60_000;

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
  const state = usePolling(load, answer =>
    live(answer) ? SIGNALLED_RELOAD_MS : pollMs,
  );
  const { retry } = state;
  useEffect(() => {
    if (lastSignal) retry();
  }, [lastSignal, retry]);
  return { ...state, live: live(state.value) };
}
