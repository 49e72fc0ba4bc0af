/**
 * The sandbox Argo CD's state, its timing and faults, and helpers about that state
 * and the manifests it deploys that need no instance.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ArgoError } from './errors';
import { Rendered } from './render';

/** How fast the stand-in moves; tests make it quick, the portal makes it watchable. */
export interface Timing {
  /** How often every Application is compared with Git. */
  reconcileMs: number;
  /** How long an automated Application stays OutOfSync before it syncs. */
  autoSyncDelayMs: number;
  /** How long a sync operation runs. */
  syncMs: number;
  /** How long resources stay Progressing after a sync. */
  progressMs: number;
  /** How long each Argo Rollouts canary step takes. */
  rolloutStepMs: number;
  /**
   * How long new pods may fail to start (an image that cannot be pulled) before the
   * workload exceeds its progress deadline (`progressDeadlineSeconds`) and is Degraded.
   */
  progressDeadlineMs: number;
}

/** What the nodes' container runtime pulls for an image reference: its digest, or undefined. */
export type ImagePuller = (imageRef: string) => string | undefined;

/** What the sandbox's cluster has before anything is deployed. */
export interface ClusterOptions {
  /** Namespaces that exist from the start, besides argocd, default and kube-*. */
  namespaces?: string[];
  /** Pulls images for the pods; without it nothing can be pulled, as from an empty registry. */
  images?: ImagePuller;
}

export interface ApplicationFaults {
  /** The next sync operations fail. */
  syncFails?: boolean;
  /** Health turns Degraded. */
  degraded?: boolean;
}

export type Json = any;

export interface AppState {
  /** metadata and spec, as read from the Application manifest in Git */
  manifest: Json;
  uid: string;
  createdAt: string;
  /** Scale-mode Applications are generated once and never reconciled. */
  fixedStatus?: Json;
  desired?: Rendered;
  comparisonError?: string;
  /** What was last synced: what runs. */
  live?: Rendered;
  /** What ran before the last sync: the active ReplicaSet of a blue/green preview. */
  previousLive?: Rendered;
  history: Json[];
  operationState?: Json;
  operationTarget?: Rendered;
  operationDoneAt?: number;
  health: { status: string; message?: string; lastTransitionTime: string };
  healthSince: number;
  outOfSyncSince?: number;
  rolloutStep: number;
  rolloutStepSince: number;
  /** The Rollout's update was aborted (the abort action): back on stable until retried or the next update. */
  rolloutAborted?: boolean;
  reconciledAt: string;
  faults: ApplicationFaults;
  /**
   * The pull of every image the running pod templates name: its digest, or null while
   * it fails (ImagePullBackOff); `since` is when the pod templates last changed, from
   * which the progress deadline runs.
   */
  pulls?: { images: Record<string, string | null>; key: string; since: number };
}

export interface AppSetState {
  /** metadata and spec, as posted or read from Git */
  manifest: Json;
  uid: string;
  createdAt: string;
  /** The Applications it generated last, by key; see generate(). */
  generated: Map<string, Json>;
  /** Why generating failed, shown in its conditions; undefined when it worked. */
  error?: string;
  conditionsSince: string;
}

/**
 * What the modules that change state get from their ArgoCdInstance, so they need
 * not import it back.
 */
export interface InstanceContext {
  readonly timing: Timing;
  /** The cluster's namespaces: preset, or created by a sync. */
  readonly namespaces: Set<string>;
  /** The nodes' image pulls, through the sandbox registry. */
  readonly images: ImagePuller;
  /** Something the API shows changed: a new resourceVersion. */
  touch(): void;
  /** Re-derives the ApplicationSets and Applications from what is deployed and created. */
  apply(): void;
}

/** Kinds without a namespace, among those charts and apps of apps deploy. */
export const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
]);

export const HISTORY_LIMIT = 10;
export const DNS_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function key(namespace: string, name: string) {
  return `${namespace}/${name}`;
}

export function idOf(state: AppState) {
  return key(state.manifest.metadata.namespace, state.manifest.metadata.name);
}

export function sourcesOf(spec: Json): Json[] {
  return spec.sources ?? (spec.source ? [spec.source] : []);
}

/** Git's rendering against what was last synced, as Argo CD's sync status. */
export function syncStatus(
  state: AppState,
): 'Synced' | 'OutOfSync' | 'Unknown' {
  if (state.comparisonError || !state.desired) return 'Unknown';
  if (!state.live) return 'OutOfSync';
  return isDeepStrictEqual(state.desired.manifests, state.live.manifests)
    ? 'Synced'
    : 'OutOfSync';
}

/** A new Application's state: never synced, so its health is Missing. */
export function newAppState(manifest: Json): AppState {
  const now = new Date().toISOString();
  return {
    manifest,
    uid: randomUUID(),
    createdAt: now,
    history: [],
    health: { status: 'Missing', lastTransitionTime: now },
    healthSince: Date.now(),
    rolloutStep: 0,
    rolloutStepSince: 0,
    reconciledAt: now,
    faults: {},
  };
}

/** Whether `m` is the Argo CD object `kind` named `namespace/name`. */
export function isChild(
  m: Json,
  kind: string,
  namespace: string,
  name: string,
) {
  return (
    m.kind === kind &&
    String(m.apiVersion).startsWith('argoproj.io/') &&
    m.metadata?.name === name &&
    (m.metadata?.namespace ?? 'argocd') === namespace
  );
}

export function withoutTargetRevision(source: Json): Json {
  const { targetRevision: _, ...rest } = source ?? {};
  return rest;
}

/** RFC 7386 JSON merge patch: null deletes, objects merge, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    return patch;
  }
  const result =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...target }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

/**
 * What runs after a sync to `target`: its objects, and, unless the sync prunes, the
 * objects Git no longer has, which stay (and show as requiring pruning).
 */
export function withUnpruned(
  state: AppState,
  target: Rendered,
  prune: boolean,
): Rendered {
  if (prune || !state.live) return target;
  const wanted = new Set(target.manifests.map(resourceId));
  const kept = state.live.manifests.filter(m => !wanted.has(resourceId(m)));
  return kept.length === 0
    ? target
    : { ...target, manifests: [...target.manifests, ...kept] };
}

export function releaseName(state: AppState) {
  const chart = sourcesOf(state.manifest.spec).find(s => s.path || s.chart);
  return chart?.helm?.releaseName ?? state.manifest.metadata.name;
}

export function resourceId(m: Json) {
  return `${m.apiVersion}/${m.kind}/${m.metadata.namespace ?? ''}/${
    m.metadata.name
  }`;
}

export function resourceKey(m: Json, state: AppState) {
  const [group, version] = m.apiVersion.includes('/')
    ? m.apiVersion.split('/')
    : ['', m.apiVersion];
  return {
    group,
    version,
    kind: m.kind,
    namespace:
      m.metadata.namespace ?? state.manifest.spec.destination.namespace ?? '',
    name: m.metadata.name,
  };
}

export function uidOf(
  state: AppState,
  ref: { kind: string; namespace: string; name: string },
) {
  const hex = createHash('sha1')
    .update(`${state.uid}/${ref.kind}/${ref.namespace}/${ref.name}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(
    12,
    16,
  )}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function podHash(workload: Json) {
  return createHash('sha1')
    .update(JSON.stringify(workload.spec?.template ?? {}))
    .digest('hex')
    .slice(0, 10);
}

export function hasHealth(m: Json) {
  return [
    'Deployment',
    'StatefulSet',
    'DaemonSet',
    'Rollout',
    'Service',
    'CronJob',
    'Job',
    'Ingress',
  ].includes(m.kind);
}

export function canaryRollout(rendered: Rendered): Json | undefined {
  return rendered.manifests.find(
    m => m.kind === 'Rollout' && m.spec?.strategy?.canary,
  );
}

/** A Rollout with a blue/green strategy. */
export function blueGreenRollout(rendered: Rendered): Json | undefined {
  return rendered.manifests.find(
    m => m.kind === 'Rollout' && m.spec?.strategy?.blueGreen,
  );
}

/** Whether a blue/green Rollout waits for someone to promote it. */
export function waitsForPromotion(rollout: Json): boolean {
  return rollout.spec.strategy.blueGreen.autoPromotionEnabled === false;
}

export function canarySteps(rendered: Rendered): Json[] | undefined {
  return canaryRollout(rendered)?.spec.strategy.canary.steps;
}

/**
 * Argo CD's create of an object that exists: the same one again changes nothing (true);
 * a different one needs `upsert`, which keeps the labels and annotations not given.
 */
export function unchangedOrUpserted(
  old: Json,
  manifest: Json,
  upsert: boolean,
  kind: string,
): boolean {
  const same = ['labels', 'annotations', 'finalizers'].every(k =>
    isDeepStrictEqual(old.metadata[k], manifest.metadata[k]),
  );
  if (same && isDeepStrictEqual(old.spec, manifest.spec)) return true;
  if (!upsert) {
    throw new ArgoError(
      'InvalidArgument',
      `existing ${kind} spec is different, use upsert flag to force update`,
    );
  }
  for (const k of ['labels', 'annotations']) {
    if (old.metadata[k] || manifest.metadata[k]) {
      manifest.metadata[k] = { ...old.metadata[k], ...manifest.metadata[k] };
    }
  }
  return false;
}

/** Manifests by namespace and name, the namespace filled in; a later one wins. */
export function byKey(manifests: Json[]): Map<string, Json> {
  const wanted = new Map<string, Json>();
  for (const manifest of manifests) {
    const namespace = manifest.metadata.namespace ?? 'argocd';
    wanted.set(key(namespace, manifest.metadata.name), {
      metadata: { ...manifest.metadata, namespace },
      spec: manifest.spec,
    });
  }
  return wanted;
}
