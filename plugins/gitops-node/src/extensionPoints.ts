import { createExtensionPoint } from '@backstage/backend-plugin-api';
import type {
  GitopsErrorCode,
  RevisionMetadata,
} from '@gitops-backstage/plugin-gitops-common';

/**
 * The parts of an Argo CD Application (argoproj.io/v1alpha1) the plugin reads; sources
 * return the objects as Argo CD's API does.
 *
 * @public
 */
export interface ArgoApplication {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    /** Changes with every change of the Application (Kubernetes' own). */
    resourceVersion?: string;
  };
  spec: {
    project: string;
    source?: ArgoApplicationSource;
    sources?: ArgoApplicationSource[];
    destination: { server?: string; name?: string; namespace?: string };
    syncPolicy?: { automated?: { enabled?: boolean } | null };
  };
  status?: {
    sync?: { status?: string; revision?: string; revisions?: string[] };
    health?: { status?: string; message?: string };
    operationState?: {
      phase: string;
      message?: string;
      startedAt?: string;
      finishedAt?: string;
    };
    summary?: { images?: string[] };
    history?: Array<{
      id: number;
      revision?: string;
      revisions?: string[];
      deployedAt: string;
      deployStartedAt?: string;
      initiatedBy?: { username?: string; automated?: boolean };
    }>;
    resources?: Array<{
      group?: string;
      version?: string;
      kind?: string;
      namespace?: string;
      name?: string;
    }>;
  };
}

/** @public */
export interface ArgoApplicationSource {
  repoURL: string;
  targetRevision?: string;
  path?: string;
  chart?: string;
  ref?: string;
  helm?: { valueFiles?: string[]; releaseName?: string };
}

/**
 * Which Applications to list: by label selector or by names, narrowed by projects and
 * the Applications' namespace.
 *
 * @public
 */
export type ApplicationQuery =
  | { selector: string; projects: string[]; appNamespace?: string }
  | { names: string[]; appNamespace?: string };

/**
 * Thrown by a live-state source that cannot answer; `code` tells the user why.
 *
 * @public
 */
export class GitopsSourceError extends Error {
  constructor(readonly code: GitopsErrorCode, message: string) {
    super(message);
    this.name = 'GitopsSourceError';
  }
}

/**
 * Where the live state of Argo CD Applications comes from: the Argo CD REST API of one
 * instance, the Application custom resources of one cluster, or anything a module adds.
 *
 * @public
 */
export interface GitopsLiveStateSource {
  /** Unique and stable, e.g. the Argo CD instance name; `argocd/instance-name` selects it. */
  readonly id: string;
  /** Base URL of the Argo CD UI for links to Applications, when there is one. */
  readonly frontendUrl?: string;
  /**
   * The namespace a name without `argocd/app-namespace` is looked up in, when the source
   * knows it; otherwise a name matches in any namespace an index of the source holds.
   */
  readonly applicationNamespace?: string;
  /**
   * The Applications matching the query. Throws {@link GitopsSourceError} when the
   * source cannot answer; the caller keeps other sources' answers.
   */
  listApplications(
    query: ApplicationQuery,
    options?: {
      signal?: AbortSignal;
      /**
       * Only what a fleet view needs (names, labels, project, sources, destination,
       * sync, health, operation phase, images): sources may leave out history.
       */
      summary?: boolean;
    },
  ): Promise<ArgoApplication[]>;
  /** One live resource of an Application (for Argo Rollouts progress), when supported. */
  getResource?(
    application: { name: string; namespace?: string },
    resource: {
      group: string;
      version: string;
      kind: string;
      namespace: string;
      name: string;
    },
    options?: { signal?: AbortSignal },
  ): Promise<unknown>;
  /**
   * Runs one of Argo CD's resource actions (e.g. a Rollout's `resume` or `abort`) on a
   * live resource of the Application, when supported.
   */
  runResourceAction?(
    application: { name: string; namespace?: string },
    resource: {
      group: string;
      version: string;
      kind: string;
      namespace: string;
      name: string;
    },
    action: string,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /**
   * Starts a sync of the Application to its target revision (Argo CD's sync), when
   * supported. Answers the Application as it is then.
   */
  syncApplication?(
    application: { name: string; namespace?: string },
    options?: { signal?: AbortSignal },
  ): Promise<ArgoApplication>;
  /** Compares the Application with Git now (Argo CD's refresh), when supported. */
  refreshApplication?(
    application: { name: string; namespace?: string },
    options?: { signal?: AbortSignal },
  ): Promise<ArgoApplication>;
  /** Rolls the Application back to a history entry (Argo CD's rollback), when supported. */
  rollbackApplication?(
    application: { name: string; namespace?: string },
    historyId: number,
    options?: { signal?: AbortSignal },
  ): Promise<ArgoApplication>;
  /**
   * Every Application of the source as it changes, when supported: a `snapshot` of all
   * of them first and again after each reconnect (it repairs whatever a gap missed),
   * then one event per change; `disconnected` while the source cannot be watched (the
   * iterable keeps reconnecting until `signal` aborts). Items are not checked: the
   * caller checks each on its own.
   */
  watchApplications?(options: {
    signal: AbortSignal;
  }): AsyncIterable<ApplicationWatchEvent>;
  /** Author, date and message of a config-repository commit, when supported. */
  getRevisionMetadata?(
    application: { name: string; namespace?: string },
    revision: string,
    options?: { signal?: AbortSignal },
  ): Promise<RevisionMetadata>;
}

/**
 * What {@link GitopsLiveStateSource.watchApplications} yields.
 *
 * @public
 */
export type ApplicationWatchEvent =
  | { type: 'snapshot'; applications: unknown[] }
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; application: unknown }
  | { type: 'disconnected'; error: GitopsSourceError };

/**
 * Lets a backend module add live-state sources to the GitOps backend plugin.
 *
 * @public
 */
export interface GitopsLiveStateSourcesExtensionPoint {
  addLiveStateSource(...sources: GitopsLiveStateSource[]): void;
}

/**
 * @public
 */
export const gitopsLiveStateSourcesExtensionPoint =
  createExtensionPoint<GitopsLiveStateSourcesExtensionPoint>({
    id: 'gitops.live-state-sources',
  });

/**
 * A change to one values file of a config repository: `edit` turns the file's text at
 * the branch head into the new text (the caller keeps comments and formatting). A
 * writer re-reads and re-applies it when someone else wrote first. When `edit` throws,
 * the writer writes nothing (no commit, branch or pull request) and fails.
 *
 * @public
 */
export interface ValuesFileChange {
  repoURL: string;
  /** The branch the environment's Application follows. */
  branch: string;
  /** Path of the values file in the repository. */
  file: string;
  edit: (before: string) => string;
  /**
   * More files of the same repository and branch edited in the same commit: a
   * promotion that moves a chart's version (in its Application manifest) and the
   * image (in the values file) at once. The commit happens only if every edit applies.
   */
  alsoEdit?: FileEdit[];
  /** Commit message; its first line is the title of a pull request. */
  message: string;
  author: { name: string; email: string };
}

/**
 * What a pull (or merge) request carries besides the change.
 *
 * @public
 */
export interface PullRequestDetails {
  /** The new branch the change is committed to. */
  branch: string;
  title: string;
  body: string;
  /** SCM user logins and team slugs asked to review, where the SCM supports it. */
  reviewers: { users: string[]; teams: string[] };
}

/**
 * One more file a {@link ValuesFileChange} edits.
 *
 * @public
 */
export interface FileEdit {
  file: string;
  edit: (before: string) => string;
}

/**
 * The file before and after a write; `commit` is the new commit, absent when every
 * file already read as wanted (nothing was written).
 *
 * @public
 */
export interface ValuesFileWriteResult {
  before: string;
  after: string;
  /** The `alsoEdit` files before and after, in their order. */
  also?: FileWrite[];
  commit?: string;
  /** The opened pull or merge request. */
  pullRequestUrl?: string;
}

/** @public */
export interface FileWrite {
  file: string;
  before: string;
  after: string;
}

/**
 * Every file a change edits, the values file first.
 *
 * @public
 */
export function fileEditsOf(change: ValuesFileChange): FileEdit[] {
  return [{ file: change.file, edit: change.edit }, ...(change.alsoEdit ?? [])];
}

/**
 * The result of a write of `files` (in {@link fileEditsOf}'s order).
 *
 * @public
 */
export function writeResultOf(
  files: FileWrite[],
  commit?: string,
): ValuesFileWriteResult {
  const [main, ...also] = files;
  return {
    before: main.before,
    after: main.after,
    ...(also.length > 0 && { also }),
    ...(commit && { commit }),
  };
}

/**
 * Every file of a write, the values file first, before and after.
 *
 * @public
 */
export function filesOfWrite(
  change: ValuesFileChange,
  result: ValuesFileWriteResult,
): FileWrite[] {
  return [
    { file: change.file, before: result.before, after: result.after },
    ...(result.also ?? []),
  ];
}

/**
 * What became of the pull (merge) request opened from a branch: none was opened, it is
 * open, it was merged (`commit` is the commit that landed on the base branch), or it was
 * closed without merging.
 *
 * @public
 */
export type PullRequestState =
  | { state: 'none' }
  | { state: 'open'; url: string }
  | { state: 'merged'; url: string; commit: string }
  | { state: 'closed'; url: string };

/**
 * Writes values files of config repositories on one kind of SCM: GitHub, GitLab, any
 * smart-HTTP Git server, or what a module adds. Failures are {@link GitopsSourceError}s
 * naming the repository; a missing file is `not-found`.
 *
 * @public
 */
export interface ConfigRepoWriter {
  /** e.g. `github`, `gitlab`, `git`. */
  readonly id: string;
  /** Whether this writer handles the repository (by host, usually). */
  supports(repoURL: string): boolean;
  /** The file at the head of the branch. */
  read(
    location: { repoURL: string; branch: string; file: string },
    options?: { signal?: AbortSignal },
  ): Promise<string>;
  /** Commits the change straight to the branch, safely against concurrent writers. */
  commit(
    change: ValuesFileChange,
    options?: { signal?: AbortSignal },
  ): Promise<ValuesFileWriteResult>;
  /** Commits the change to a new branch and opens a pull request, when supported. */
  openPullRequest?(
    change: ValuesFileChange,
    pullRequest: PullRequestDetails,
    options?: { signal?: AbortSignal },
  ): Promise<ValuesFileWriteResult>;
  /**
   * The state of the pull request opened from `branch` (the `PullRequestDetails.branch`
   * of {@link ConfigRepoWriter.openPullRequest}), when supported: how promotions by pull
   * request are settled, after a restart too.
   */
  pullRequestState?(
    pullRequest: { repoURL: string; branch: string },
    options?: { signal?: AbortSignal },
  ): Promise<PullRequestState>;
  /**
   * The commit of `branch`, made since `since`, whose message has the line `trailer`
   * (`Promotion-Id: <id>`, which every promotion's commit carries), when supported:
   * how a commit whose writer was interrupted after its push is found again.
   */
  findCommit?(
    location: { repoURL: string; branch: string },
    trailer: string,
    since: Date,
  ): Promise<string | undefined>;
}

/**
 * Lets a backend module add config-repository writers; they are asked before the
 * built-in ones (GitHub, GitLab, then plain Git over smart HTTP).
 *
 * @public
 */
export interface GitopsConfigRepoWritersExtensionPoint {
  addConfigRepoWriter(...writers: ConfigRepoWriter[]): void;
}

/**
 * @public
 */
export const gitopsConfigRepoWritersExtensionPoint =
  createExtensionPoint<GitopsConfigRepoWritersExtensionPoint>({
    id: 'gitops.config-repo-writers',
  });
