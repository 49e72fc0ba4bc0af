/**
 * The GitOps backend's REST answers (see the plugin's openapi.yaml).
 */
import type { ChangeLog } from './delivery';

/**
 * Why a source (an Argo CD instance, a cluster) or a file could not answer.
 *
 * @public
 */
export type GitopsErrorCode =
  | 'unreachable'
  | 'timeout'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'rate-limited'
  | 'invalid-response'
  | 'invalid-annotation'
  | 'upstream-error';

/** @public */
export interface GitopsError {
  code: GitopsErrorCode;
  /** For people; never holds credentials. */
  message: string;
}

/**
 * A container image reference split in parts: `repository[:tag][@digest]`.
 *
 * @public
 */
export interface ImageReference {
  repository: string;
  tag?: string;
  digest?: string;
}

/** @public */
export interface DeploymentRecord {
  /** Argo CD history id. */
  id: number;
  /** The config-repository commit that was deployed. */
  revision: string;
  deployedAt: string;
  deployStartedAt?: string;
  initiatedBy?: { username?: string; automated?: boolean };
}

/**
 * Argo Rollouts progress of the Application's Rollout.
 *
 * @public
 */
export interface RolloutProgress {
  name: string;
  namespace?: string;
  /** Healthy | Progressing | Paused | Degraded */
  phase?: string;
  strategy: 'canary' | 'blueGreen';
  /** Canary: the current step (0-based; equals stepCount when done) of stepCount. */
  currentStepIndex?: number;
  stepCount?: number;
  canaryWeight?: number;
  stableWeight?: number;
  /** Blue/green: the ReplicaSet hashes behind the active and preview services. */
  activeSelector?: string;
  previewSelector?: string;
  /** Blue/green, while a new version waits behind the preview: its images, and the active ones. */
  previewImages?: string[];
  activeImages?: string[];
  /** Blue/green: where the preview answers, from the Ingress routing to the preview Service. */
  previewUrl?: string;
  /** Why it is paused (`CanaryPauseStep`, `BlueGreenPause`, …), as Argo Rollouts says. */
  pauseReasons?: string[];
  message?: string;
  /** Its update was aborted: traffic is back on stable until it is retried. */
  aborted?: boolean;
  /** The actions it takes now, as Argo CD's Rollout action discovery enables them. */
  actions: RolloutAction[];
}

/**
 * Argo CD's built-in Rollout actions the portal runs: `resume` (past a pause; a
 * blue/green preview is promoted), `promote-full` (every remaining step), `abort`
 * (back to stable) and `retry` (an aborted update again).
 *
 * @public
 */
export const ROLLOUT_ACTIONS = [
  'resume',
  'promote-full',
  'abort',
  'retry',
] as const;

/** @public */
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

/**
 * What Argo CD reports for one Application: what runs.
 *
 * @public
 */
export interface LiveState {
  /** Synced | OutOfSync | Unknown */
  syncStatus: string;
  /** The commit Argo CD compared with (the target revision, resolved). */
  comparedRevision?: string;
  /** Healthy | Progressing | Degraded | Suspended | Missing | Unknown */
  health: { status: string; message?: string };
  operation?: {
    /** Running | Terminating | Failed | Error | Succeeded */
    phase: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
  };
  /** The images of the running workloads (`status.summary.images`). */
  images: string[];
  /**
   * Argo CD syncs by itself when Git changes; it then refuses an API rollback, so a
   * rollback is a commit.
   */
  automatedSync: boolean;
  /** The last deployment, newest first in `history`. */
  deployed?: DeploymentRecord;
  history: DeploymentRecord[];
  rollout?: RolloutProgress;
}

/**
 * What the config repository says should run: the image in the Application's values
 * file at its target revision.
 *
 * @public
 */
export interface DesiredState {
  repoURL: string;
  targetRevision: string;
  /** Path of the values file in the repository. */
  valuesFile?: string;
  /** The repository of the values file when it is not the chart's (a `$ref/` file). */
  valuesRepoURL?: string;
  /** The branch (target revision) of the values file when it is not the chart's. */
  valuesTargetRevision?: string;
  /** The chart in the repository, for rendering it: its path and Argo CD's `helm.valueFiles`. */
  chart?: { path: string; valueFiles: string[]; releaseName?: string };
  /** The version to run; absent when there is none yet (see noVersionYet) or on error. */
  image?: ImageReference;
  /**
   * Set when the values files name the image's repository but no tag or digest yet (an
   * empty or absent `image.tag`): a new service before CI's first build of main. The
   * templates' charts render no workload then, so nothing runs and nothing should. Not
   * an error and not drift; a promotion from here is refused (409), a promotion into
   * here gives the environment its first version. `valuesFile` is the file a version
   * would be written to.
   */
  noVersionYet?: { repository: string };
  /** Why the desired state could not be read; live state is still shown. */
  error?: GitopsError;
}

/**
 * The chart of an Application whose source is a Helm chart repository (classic or
 * OCI), its versions side by side.
 *
 * @public
 */
export interface ChartVersions {
  /** The chart repository, as the Application names it. */
  repoURL: string;
  chart: string;
  /**
   * What Git asks for: the Application's `targetRevision`, a version or a semver
   * range (the Application manifest in the config repository).
   */
  wanted: string;
  /** The version `wanted` resolves to now, as Argo CD resolved it (its sync revision). */
  resolved?: string;
  /** The chart version deployed last (Argo CD's history). */
  running?: string;
  /** The newest release the chart repository offers (`gitops.chartRepositories`). */
  newest?: string;
  /**
   * Where the version lives: the Application's `targetRevision` in its manifest, in the
   * Git directory of the Application that deployed it (app of apps), as Argo CD's
   * resource tracking names it. Absent: the version is set in Argo CD only.
   */
  deployedBy?: { name: string; namespace?: string };
  /**
   * Where Git pins the version (the entity's `gitops/chart-version-at`): the
   * Application manifest's `targetRevision`, or a key of the values of the Application
   * that deployed it.
   */
  pinnedAt?: { kind: 'application' } | { kind: 'values'; key: string };
  /** The values files from Git the chart is rendered with, in Helm's order (`$ref/` files). */
  values?: Array<{ repoURL: string; targetRevision: string; path: string }>;
  /** Argo CD's `helm.releaseName`, when it is not the Application's name. */
  releaseName?: string;
  /** Why the repository's versions could not be read; the rest is still shown. */
  error?: GitopsError;
}

/**
 * One environment of an entity: one Argo CD Application.
 *
 * @public
 */
export interface EnvironmentStatus {
  environment: string;
  /** The Argo CD instance (or other live-state source) the Application lives in. */
  instance: string;
  application: {
    name: string;
    namespace: string;
    project: string;
    /** The Application in the Argo CD UI, when the instance has one. */
    url?: string;
  };
  live: LiveState;
  desired?: DesiredState;
  /** Set when the Application deploys a chart from a chart repository. */
  chart?: ChartVersions;
  /**
   * True when the desired image is not among the running images (with no version yet:
   * when anything runs), or the chart version running is not the one Git resolves to;
   * undefined when either side is unknown.
   */
  drift?: boolean;
  /**
   * Whether this entity may sync, refresh, roll back or promote into the Application:
   * the Application names the entity (annotation `gitops.backstage.io/entity-ref`), or
   * app-config hands its Argo CD project to the entity's owner (`gitops.projects`).
   * The permission policy is checked besides.
   */
  writable: boolean;
  /** Why not, when not writable. */
  notWritableReason?: string;
  /** The Application could not be read (a malformed object); its live state is unknown. */
  error?: GitopsError;
}

/**
 * An instance that could not answer: its environments are missing from the answer.
 *
 * @public
 */
export interface InstanceError extends GitopsError {
  instance: string;
}

/**
 * The deployment status of one catalog entity, environments in pipeline order.
 *
 * @public
 */
export interface EntityDeploymentStatus {
  entityRef: string;
  /** Pipeline order for this entity (config, or the entity's own annotation). */
  environmentOrder: string[];
  environments: EnvironmentStatus[];
  errors: InstanceError[];
  /**
   * This backend signals every change of what this answer shows (it watches Argo CD
   * and has the signals backend): a browser with the signals plugin need not poll.
   */
  signalled?: boolean;
}

/**
 * Every annotated entity's environments in one answer.
 *
 * @public
 */
export interface FleetStatus {
  environmentOrder: string[];
  entities: Array<{
    entityRef: string;
    title?: string;
    owner?: string;
    system?: string;
    environments: EnvironmentStatus[];
    /** The entity's annotations could not be read. */
    error?: GitopsError;
  }>;
  errors: InstanceError[];
  /**
   * This backend signals every change of what this answer shows (it watches Argo CD
   * and has the signals backend): a browser with the signals plugin need not poll.
   */
  signalled?: boolean;
}

/**
 * A commit of the config repository, as Argo CD's revision metadata gives it.
 *
 * @public
 */
export interface RevisionMetadata {
  author?: string;
  date?: string;
  message?: string;
  tags?: string[];
}

/**
 * What an action (sync, refresh, rollback) answers.
 *
 * @public
 */
export interface ApplicationActionResult {
  application: { name: string; namespace: string };
  instance: string;
  result: {
    syncStatus: string;
    health: string;
    operation?: { phase: string; message?: string };
  };
  /**
   * A rollback under automated sync is a commit (Argo CD refuses an API rollback
   * then): the earlier version written back, recorded like a promotion.
   */
  promotion?: PromotionResult;
}

/**
 * One promotion in the audit trail.
 *
 * @public
 */
export interface PromotionRecord {
  id: string;
  /** A rollback writes an environment's earlier version back into its own values file. */
  kind: 'promotion' | 'rollback';
  entityRef: string;
  from: string;
  to: string;
  /** The tag or digest moved. */
  version: string;
  previousVersion?: string;
  method: 'commit' | 'pull-request';
  status: 'requested' | 'committed' | 'pr-opened' | 'deployed' | 'failed';
  commit?: string;
  pullRequestUrl?: string;
  message?: string;
  /** The user who asked. */
  actor: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * One policy check a promotion must pass (source synced, soak time, freeze window...).
 *
 * @public
 */
export interface PromotionGate {
  name: string;
  passed: boolean;
  message: string;
}

/**
 * One version a promotion moves, and where it is written.
 *
 * @public
 */
export interface PromotionMove {
  what: 'image' | 'chart';
  /** What the target's config names now. */
  from?: string;
  to: string;
  /** The file in the config repository and the key the version is written at. */
  file: string;
  key: string;
}

/**
 * What a promotion request answers.
 *
 * @public
 */
export interface PromotionResult extends PromotionRecord {
  /** The change of the target values file, also for a preview. */
  diff: string;
  /** The change of the manifests `helm template` renders, when the backend has helm. */
  renderedDiff?: string;
  /** Why there is no rendered diff. */
  renderedDiffNote?: string;
  /** Every gate with its verdict; a preview answers them all, a refusal names the first that failed. */
  gates: PromotionGate[];
  dryRun: boolean;
  /** True when this answers an earlier request with the same idempotency key. */
  replayed?: boolean;
  /** What the write moves: the chart's version, the image's, or both in one commit. */
  moves?: PromotionMove[];
  /** The app-repository commits the image move ships (also in a pull request's body). */
  changeLog?: ChangeLog;
}
