import type { RawCommit } from './commitMessages';

/** The commits between two commits of an app repository, as its host lists them. */
export interface CommitComparison {
  /** `ahead`: `to` has commits `from` lacks; `behind`: the reverse; see ChangeLog. */
  direction: 'ahead' | 'behind' | 'same' | 'diverged';
  /** Newest first, at most the `max` asked for: `to`'s own, or `from`'s when behind. */
  commits: RawCommit[];
  /** Every commit between, also those past `max`. */
  total: number;
  compareUrl?: string;
  /** A pull request's page, from its number. */
  pullRequestUrl?: (number: number) => string;
}

/**
 * Reads an app repository's commits on one kind of Git host (GitHub's API, GitLab's,
 * plain Git over smart HTTP). Failures are GitopsSourceErrors naming the repository.
 */
export interface CommitSource {
  supports(repoURL: string): boolean;
  /** The full SHA of `ref`, a (short) commit SHA or a tag; undefined when it has none. */
  resolve(
    repoURL: string,
    ref: { commit: string } | { tag: string },
    signal: AbortSignal,
  ): Promise<string | undefined>;
  compare(
    repoURL: string,
    from: string,
    to: string,
    max: number,
    signal: AbortSignal,
  ): Promise<CommitComparison>;
}

/** Which way two commits lie: whether each has commits the other lacks. */
export function directionOf(
  toHasMore: boolean,
  fromHasMore: boolean,
): CommitComparison['direction'] {
  if (toHasMore && fromHasMore) return 'diverged';
  if (toHasMore) return 'ahead';
  return fromHasMore ? 'behind' : 'same';
}
