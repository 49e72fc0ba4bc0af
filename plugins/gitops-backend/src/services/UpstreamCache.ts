import { CacheService } from '@backstage/backend-plugin-api';
import { GitopsError } from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';

/** An upstream answer, or why there is none; both are cached. */
export type Cached<T> = { value: T } | { error: GitopsError };

/** Decoded answers kept in this process, so a warm read does not parse JSON again. */
const MEMO_ENTRIES = 500;

/**
 * Upstream answers through Backstage's cache service (memory, or Redis shared by
 * replicas), failures included so a down instance is not hammered; identical
 * concurrent loads share one upstream call. A small in-process memo in front keeps the
 * decoded objects for the same time to live.
 */
export class UpstreamCache {
  private readonly inflight = new Map<string, Promise<Cached<unknown>>>();
  private readonly memo = new Map<
    string,
    { expires: number; answer: Cached<unknown> }
  >();

  constructor(private readonly cache: CacheService) {}

  async get<T>(
    key: string,
    ttlMs: number,
    load: () => Promise<T>,
  ): Promise<Cached<T>> {
    const memoized = this.memo.get(key);
    if (memoized && memoized.expires > Date.now())
      return memoized.answer as Cached<T>;

    const shared = (await this.cache.get(key)) as Cached<T> | undefined;
    if (shared !== undefined) {
      // Its remaining time to live is unknown here: keep it for half of the full one.
      this.remember(key, shared, ttlMs / 2);
      return shared;
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
        await this.cache.set(key, answer as any, { ttl: ttlMs });
        this.remember(key, answer, ttlMs);
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
    const memoized = this.memo.get(key);
    if (
      !memoized ||
      memoized.expires <= Date.now() ||
      !('value' in memoized.answer)
    ) {
      return undefined;
    }
    return memoized.answer.value as T;
  }

  private remember(key: string, answer: Cached<unknown>, ttlMs: number) {
    this.memo.delete(key);
    this.memo.set(key, { expires: Date.now() + ttlMs, answer });
    // Maps keep insertion order: the first key is the oldest.
    if (this.memo.size > MEMO_ENTRIES) {
      this.memo.delete(this.memo.keys().next().value!);
    }
  }
}
