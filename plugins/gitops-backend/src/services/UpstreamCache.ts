import { CacheService } from '@backstage/backend-plugin-api';
import { GitopsError } from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';

/** An upstream answer, or why there is none; both are cached. */
export type Cached<T> = { value: T } | { error: GitopsError };

/**
 * Upstream answers through Backstage's cache service (memory, or Redis shared by
 * replicas), failures included so a down instance is not hammered; identical
 * concurrent loads share one upstream call.
 */
export class UpstreamCache {
  private readonly inflight = new Map<string, Promise<Cached<unknown>>>();

  constructor(private readonly cache: CacheService) {}

  async get<T>(
    key: string,
    ttlMs: number,
    load: () => Promise<T>,
  ): Promise<Cached<T>> {
    const hit = (await this.cache.get(key)) as Cached<T> | undefined;
    if (hit !== undefined) return hit;
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
        return answer;
      })().finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }
}
