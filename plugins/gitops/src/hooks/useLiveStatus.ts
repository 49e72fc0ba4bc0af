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
 * `channel`; where the signals plugin is not installed, every `pollMs` instead.
 */
export function useLiveStatus<T>(
  load: (signal: AbortSignal) => Promise<T>,
  channel: string,
  pollMs: number,
): PollingState<T> & { live: boolean } {
  const { lastSignal, isSignalsAvailable } =
    useSignal<GitopsStatusSignal>(channel);
  const state = usePolling(
    load,
    isSignalsAvailable ? SIGNALLED_RELOAD_MS : pollMs,
  );
  const { retry } = state;
  useEffect(() => {
    if (lastSignal) retry();
  }, [lastSignal, retry]);
  return { ...state, live: isSignalsAvailable };
}
