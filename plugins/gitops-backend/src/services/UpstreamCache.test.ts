import { CacheService } from '@backstage/backend-plugin-api';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { FAILURE_TTL_MS, UpstreamCache } from './UpstreamCache';

/** Backstage's cache service, recording what is stored and for how long. */
function recordingCache() {
  const stored = new Map<string, { value: unknown; ttl?: number }>();
  const cache: CacheService = {
    get: async (key: string) => stored.get(key)?.value as any,
    set: async (key: string, value: unknown, options?: { ttl?: any }) => {
      stored.set(key, { value, ttl: options?.ttl });
    },
    delete: async (key: string) => {
      stored.delete(key);
    },
    withOptions: () => cache,
  };
  return { cache, stored };
}

const DAY = 24 * 60 * 60 * 1000;

describe('UpstreamCache', () => {
  it('keeps a failure for seconds, however long answers are kept', async () => {
    const { cache, stored } = recordingCache();
    const upstream = new UpstreamCache(cache);
    const answer = await upstream.get('revision:x', DAY, async () => {
      throw new GitopsSourceError('not-found', 'no such revision');
    });
    expect(answer).toEqual({
      error: { code: 'not-found', message: 'no such revision' },
    });
    expect(stored.get('revision:x')?.ttl).toBe(FAILURE_TTL_MS);
    await upstream.get('list:x', DAY, async () => 'answer');
    expect(stored.get('list:x')?.ttl).toBe(DAY);
  });

  it('holds answers loaded with shared: false (revision metadata, keyed by the caller) in a bounded LRU only', async () => {
    const { cache, stored } = recordingCache();
    const upstream = new UpstreamCache(cache);
    const loads: number[] = [];
    const get = (i: number) =>
      upstream.get(
        `revision:${i}`,
        DAY,
        async () => {
          loads.push(i);
          return { message: `commit ${i}` };
        },
        { shared: false },
      );

    for (let i = 0; i < 1000; i++) await get(i);
    expect(stored.size).toBe(0);
    // Revision 0 is used again: the least recently used is now revision 1.
    await get(0);
    await get(1000);
    loads.length = 0;
    await get(0);
    await get(1000);
    expect(loads).toEqual([]);
    await get(1);
    expect(loads).toEqual([1]);
  });
});
