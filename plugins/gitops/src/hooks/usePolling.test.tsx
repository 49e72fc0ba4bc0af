import { act, renderHook } from '@testing-library/react';
import { usePolling } from './usePolling';

describe('usePolling', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reloads every interval, backs off after failures, and recovers', async () => {
    const outcomes = ['ok', 'fail', 'fail', 'ok', 'ok'];
    const calls: number[] = [];
    const load = jest.fn(async () => {
      calls.push(Date.now());
      const outcome = outcomes.shift();
      if (outcome === 'fail') throw new Error('down');
      return outcome;
    });
    const { result } = renderHook(() => usePolling(load, 1000));
    await act(async () => {});
    expect(result.current.value).toBe('ok');

    const advance = async (ms: number) => {
      await act(async () => {
        jest.advanceTimersByTime(ms);
      });
    };
    await advance(1000); // → fail
    expect(result.current.error?.message).toBe('down');
    expect(result.current.value).toBe('ok'); // the last answer stays
    expect(load).toHaveBeenCalledTimes(2);
    await advance(1999); // backoff: 2 s after one failure
    expect(load).toHaveBeenCalledTimes(2);
    await advance(1); // → fail
    expect(load).toHaveBeenCalledTimes(3);
    await advance(3999); // 4 s after two failures
    expect(load).toHaveBeenCalledTimes(3);
    await advance(1); // → ok
    expect(load).toHaveBeenCalledTimes(4);
    expect(result.current.error).toBeUndefined();
    await advance(1000); // back to the interval
    expect(load).toHaveBeenCalledTimes(5);
  });

  it('loads nothing while the page is hidden', async () => {
    const load = jest.fn(async () => 'ok');
    renderHook(() => usePolling(load, 1000));
    await act(async () => {});
    Object.defineProperty(document, 'visibilityState', {
      value: 'hidden',
      configurable: true,
    });
    try {
      await act(async () => {
        jest.advanceTimersByTime(5000);
      });
      expect(load).toHaveBeenCalledTimes(1);
    } finally {
      Object.defineProperty(document, 'visibilityState', {
        value: 'visible',
        configurable: true,
      });
    }
  });
});
