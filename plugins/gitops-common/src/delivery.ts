/**
 * What a version carries (the app-repository commits between two versions) and how a
 * service delivers (the four DORA figures).
 */
import type { GitopsError } from './types';

/**
 * Where the app-repository commit of an image version was found: the image's
 * `org.opencontainers.image.revision` label, the tag itself being a commit SHA (the
 * templates tag images with the short SHA), or a release tag of the app repository.
 *
 * @public
 */
export type VersionCommitOrigin = 'image-label' | 'commit-tag' | 'release-tag';

/**
 * An image version and the app-repository commit it was built from.
 *
 * @public
 */
export interface VersionCommit {
  version: string;
  /** Full commit SHA; absent when no source named one. */
  sha?: string;
  origin?: VersionCommitOrigin;
}

/**
 * One commit of a change log.
 *
 * @public
 */
export interface ChangeLogCommit {
  sha: string;
  /** The first line of its message. */
  subject: string;
  author?: string;
  /** ISO 8601: when it was committed. */
  date?: string;
  /** The commit on the Git host's web UI, when it has one. */
  url?: string;
  /** The pull (merge) request it merged or was squashed from. */
  pullRequest?: number;
  /** Issue keys its message names (`ABC-123`, `#45`). */
  issueKeys: string[];
}

/**
 * A pull or merge request whose changes a change log carries.
 *
 * @public
 */
export interface ChangeLogPullRequest {
  number: number;
  title: string;
  author?: string;
  url?: string;
}

/**
 * The app-repository commits between two versions: what a promotion ships.
 *
 * @public
 */
export interface ChangeLog {
  /** The app repository (no credentials). */
  repository: string;
  from: VersionCommit;
  to: VersionCommit;
  /**
   * `ahead`: `to` has commits `from` lacks (they ship); `behind`: the reverse (a
   * rollback: they leave); `same`: one commit; `diverged`: both have commits of their
   * own (`commits` are `to`'s); `unknown`: a commit could not be found (see `error`).
   */
  direction: 'ahead' | 'behind' | 'same' | 'diverged' | 'unknown';
  /** Newest first, at most the cap (`gitops.changeLog.maxCommits`, 250 by default). */
  commits: ChangeLogCommit[];
  /** Every commit between, also those past the cap. */
  total: number;
  pullRequests: ChangeLogPullRequest[];
  issueKeys: string[];
  /** The comparison on the Git host's web UI, when it has one. */
  compareUrl?: string;
  /** Why the commits could not be listed. */
  error?: GitopsError;
}

/**
 * DORA performance band, as the Accelerate State of DevOps report (2023) defines them.
 *
 * @public
 */
export type DoraBand = 'elite' | 'high' | 'medium' | 'low';

/**
 * The four DORA figures of one service (or several: a team, the fleet) in one
 * environment over a window. A figure without data has no value and no band.
 *
 * @public
 */
export interface DoraFigures {
  environment: string;
  windowDays: number;
  /** ISO 8601 start and end of the window. */
  from: string;
  to: string;
  /** Deployments (Argo CD syncs that changed what runs) in the window. */
  deployments: number;
  deploymentFrequency: { perDay: number; band?: DoraBand };
  /** Commit time → running in the environment, over every commit that shipped. */
  leadTime: {
    commits: number;
    medianHours?: number;
    p90Hours?: number;
    band?: DoraBand;
  };
  /**
   * Deployments followed, within `gitops.dora.failureWindowHours`, by a rollback, a
   * failed sync or a Degraded state: `failed / deployments`.
   */
  changeFailureRate: { failed: number; rate?: number; band?: DoraBand };
  /** Failure → Healthy again. `open`: failures not restored yet. */
  timeToRestore: {
    restored: number;
    open: number;
    medianHours?: number;
    band?: DoraBand;
  };
  /** Per week of the window, oldest first: for a trend chart. */
  trend: Array<{ weekStart: string; deployments: number; failed: number }>;
}

/**
 * An entity's DORA figures.
 *
 * @public
 */
export interface EntityDora extends DoraFigures {
  entityRef: string;
}

/**
 * Every annotated entity's DORA figures, and each owner's over its entities.
 *
 * @public
 */
export interface FleetDora {
  environment: string;
  windowDays: number;
  entities: Array<{
    entityRef: string;
    title?: string;
    owner?: string;
    figures: DoraFigures;
  }>;
  teams: Array<{ owner: string; entities: number; figures: DoraFigures }>;
}
