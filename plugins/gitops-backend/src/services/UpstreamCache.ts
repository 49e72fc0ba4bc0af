import { CacheService } from '@backstage/backend-plugin-api';
import { GitopsError } from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { LRUCache } from 'lru-cache';

/** An upstream answer, or why there is none; both are cached. */
export type Cached<T> = { value: T } | { error: GitopsError };

/** Decoded answers kept in this process, least recently used dropped first. */
const MEMO_ENTRIES = 1000;

/**
 * A failure is kept this long at most, however long answers are kept: long enough
 * that a down instance is not hammered by every view, short enough that it is asked
 * again soon after it is back (and that a day-long cache, as of revision metadata,
 * does not keep a passing error for a day).
 */
export const FAILURE_TTL_MS = 5_000;

/**
 * Upstream answers through Backstage's cache service (memory, or Redis shared by
 * replicas), failures included (for at most {@link FAILURE_TTL_MS}) so a down instance
 * is not hammered; identical concurrent loads share one upstream call. A bounded
 * in-process LRU memo in front keeps the decoded objects for the same time to live;
 * answers loaded with `shared: false` live only there, so their number stays bounded.
 */
export class UpstreamCache {
  private readonly inflight = new Map<string, Promise<Cached<unknown>>>();
  private readonly memo = new LRUCache<string, { answer: Cached<unknown> }>({
    max: MEMO_ENTRIES,
  });

  constructor(private readonly cache: CacheService) {}

  async get<T>(
    key: string,
    ttlMs: number,
    load: () => Promise<T>,
    options: { shared?: boolean } = {},
  ): Promise<Cached<T>> {
    const shared = options.shared ?? true;
    const memoized = this.memo.get(key);
    if (memoized) return memoized.answer as Cached<T>;

    const stored = shared
      ? ((await this.cache.get(key)) as Cached<T> | undefined)
      : undefined;
    if (stored !== undefined) {
      // Its remaining time to live is unknown here: keep it for half of the full one.
      this.remember(key, stored, ttlOf(stored, ttlMs) / 2);
      return stored;
    }
    let pending = this.inflight.get(key) as Promise<Cached<T>> | undefined;
    if (!pending) {
      pending = (async () => {
        let answer: Cached<T>;
        try {
          answer = { value: await load() };
        } catch (error) {
          if (!(error instanceof GitopsSourceError)) throw error;
          answer = { error: { code: error.code, message: error.message } };
        }
        const ttl = ttlOf(answer, ttlMs);
        if (shared) await this.cache.set(key, answer as any, { ttl });
        this.remember(key, answer, ttl);
        return answer;
      })().finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Drops a cached answer (after an action changed what it describes). */
  async forget(key: string) {
    this.memo.delete(key);
    await this.cache.delete(key);
  }

  /** A value this process holds now, without loading anything. */
  peek<T>(key: string): T | undefined {
    const answer = this.memo.get(key)?.answer;
    return answer && 'value' in answer ? (answer.value as T) : undefined;
  }

  private remember(key: string, answer: Cached<unknown>, ttlMs: number) {
    // lru-cache takes whole milliseconds; a time to live under one is not kept.
    const ttl = Math.floor(ttlMs);
    if (ttl >= 1) this.memo.set(key, { answer }, { ttl });
    else this.memo.delete(key);
  }
}

/** How long an answer is kept: a failure at most {@link FAILURE_TTL_MS}. */
function ttlOf(answer: Cached<unknown>, ttlMs: number) {
  return 'error' in answer ? Math.min(ttlMs, FAILURE_TTL_MS) : ttlMs;
}
