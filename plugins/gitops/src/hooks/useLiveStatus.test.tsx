import { TestApiProvider } from '@backstage/test-utils';
import { SignalApi, signalApiRef } from '@backstage/plugin-signals-react';
import { act, renderHook } from '@testing-library/react';
import { ReactNode } from 'react';
import {
  SIGNALLED_RELOAD_MS,
  SUBSCRIBED_CATCH_UP_MS,
  useLiveStatus,
} from './useLiveStatus';

/** A signals API whose messages the test sends. */
function fakeSignals() {
  const subscribers = new Map<string, Array<(message: any) => void>>();
  const api: SignalApi = {
    subscribe(channel, onMessage) {
      const list = subscribers.get(channel) ?? [];
      list.push(onMessage as (message: any) => void);
      subscribers.set(channel, list);
      return {
        unsubscribe: () =>
          subscribers.set(
            channel,
            (subscribers.get(channel) ?? []).filter(s => s !== onMessage),
          ),
      };
    },
  };
  const send = (channel: string, message: object) =>
    (subscribers.get(channel) ?? []).forEach(s => s(message));
  return { api, send };
}

describe('useLiveStatus', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const advance = async (ms: number) => {
    await act(async () => {
      jest.advanceTimersByTime(ms);
    });
  };

  const withSignals = (api: SignalApi) =>
    function Wrapper({ children }: { children: ReactNode }) {
      return (
        <TestApiProvider apis={[[signalApiRef, api]]}>
          {children}
        </TestApiProvider>
      );
    };

  it('reloads on each signal of its channel, not on a timer, where both the app and the backend signal', async () => {
    const signals = fakeSignals();
    let n = 0;
    const load = jest.fn(async () => ({ n: ++n, signalled: true }));
    const { result } = renderHook(
      () => useLiveStatus(load, 'gitops:entity:component:default/a', 1000),
      { wrapper: withSignals(signals.api) },
    );
    await act(async () => {});
    expect(result.current.live).toBe(true);
    expect(result.current.value?.n).toBe(1);

    // Once, soon: a change before the subscription took hold is not missed.
    await advance(SUBSCRIBED_CATCH_UP_MS);
    expect(load).toHaveBeenCalledTimes(2);
    expect(result.current.value?.n).toBe(2);
    await advance(60_000); // no polling
    expect(load).toHaveBeenCalledTimes(2);

    await act(async () =>
      signals.send('gitops:entity:component:default/a', { changed: 'live' }),
    );
    await act(async () => {});
    expect(load).toHaveBeenCalledTimes(3);
    expect(result.current.value?.n).toBe(3);

    // Another entity's channel: nothing to do.
    await act(async () =>
      signals.send('gitops:entity:component:default/b', { changed: 'live' }),
    );
    await act(async () => {});
    expect(load).toHaveBeenCalledTimes(3);

    // The safety net for signals lost while disconnected.
    await advance(SIGNALLED_RELOAD_MS);
    expect(load).toHaveBeenCalledTimes(4);
  });

  it('polls where the signals plugin is not installed', async () => {
    const load = jest.fn(async () => ({ signalled: true }));
    const { result } = renderHook(() =>
      useLiveStatus(load, 'gitops:fleet', 1000),
    );
    await act(async () => {});
    expect(result.current.live).toBe(false);
    for (let i = 0; i < 3; i++) await advance(1000);
    expect(load).toHaveBeenCalledTimes(4);
  });

  it('polls, and still reloads on a signal, where the backend says it does not signal (no watch, or no signals backend)', async () => {
    const signals = fakeSignals();
    const load = jest.fn(async () => ({ signalled: false }));
    const { result } = renderHook(
      () => useLiveStatus(load, 'gitops:fleet', 1000),
      { wrapper: withSignals(signals.api) },
    );
    await act(async () => {});
    expect(result.current.live).toBe(false);
    for (let i = 0; i < 3; i++) await advance(1000);
    expect(load).toHaveBeenCalledTimes(4);

    await act(async () => signals.send('gitops:fleet', { changed: 'live' }));
    await act(async () => {});
    expect(load).toHaveBeenCalledTimes(5);
  });

  it('stops polling from the answer that says the backend signals, without loading again for it', async () => {
    const signals = fakeSignals();
    let signalled = false;
    const load = jest.fn(async () => ({ signalled }));
    const { result } = renderHook(
      () => useLiveStatus(load, 'gitops:fleet', 1000),
      { wrapper: withSignals(signals.api) },
    );
    await act(async () => {});
    signalled = true; // e.g. the backend restarted with the signals backend
    await advance(1000);
    expect(load).toHaveBeenCalledTimes(2);
    expect(result.current.live).toBe(true);
    await advance(60_000);
    expect(load).toHaveBeenCalledTimes(2);
  });
});
