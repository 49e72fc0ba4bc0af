import { createHash, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { BareRepository } from '../git/repoFiles';
import { ArgoError } from './errors';
import { Rendered, Renderer, imagesOf } from './render';

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
}

export interface ApplicationFaults {
  /** The next sync operations fail. */
  syncFails?: boolean;
  /** Health turns Degraded. */
  degraded?: boolean;
}

type Json = any;

interface AppState {
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
  history: Json[];
  operationState?: Json;
  operationTarget?: Rendered;
  operationDoneAt?: number;
  health: { status: string; message?: string; lastTransitionTime: string };
  healthSince: number;
  outOfSyncSince?: number;
  rolloutStep: number;
  rolloutStepSince: number;
  reconciledAt: string;
  faults: ApplicationFaults;
}

const HISTORY_LIMIT = 10;

function key(namespace: string, name: string) {
  return `${namespace}/${name}`;
}

function sourcesOf(spec: Json): Json[] {
  return spec.sources ?? (spec.source ? [spec.source] : []);
}

/**
 * The Applications of one Argo CD instance and their reconciliation: compare the
 * desired state rendered from Git with what was last synced, run sync operations,
 * move health along, keep history.
 */
export class ArgoCdInstance {
  private readonly apps = new Map<string, AppState>();
  private resourceVersion = 1;

  constructor(
    readonly name: string,
    private readonly renderer: Renderer,
    private readonly timing: Timing,
  ) {}

  get size() {
    return this.apps.size;
  }

  /** Replaces the set of Applications with those found in Git (app of apps). */
  setManifests(manifests: Json[]) {
    const seen = new Set<string>();
    for (const manifest of manifests) {
      const namespace = manifest.metadata.namespace ?? 'argocd';
      const id = key(namespace, manifest.metadata.name);
      seen.add(id);
      const state = this.apps.get(id);
      const next = {
        metadata: { ...manifest.metadata, namespace },
        spec: manifest.spec,
      };
      if (!state) {
        this.apps.set(id, this.newState(next));
        this.touch();
      } else if (!isDeepStrictEqual(state.manifest, next)) {
        state.manifest = next;
        this.touch();
      }
    }
    for (const id of this.apps.keys()) {
      if (!seen.has(id) && !this.apps.get(id)!.fixedStatus) {
        this.apps.delete(id);
        this.touch();
      }
    }
  }

  /** Adds a generated Application whose status never changes (scale mode). */
  addFixed(manifest: Json, status: Json) {
    const state = this.newState(manifest);
    state.fixedStatus = status;
    this.apps.set(
      key(manifest.metadata.namespace, manifest.metadata.name),
      state,
    );
  }

  private newState(manifest: Json): AppState {
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

  private touch() {
    this.resourceVersion++;
  }

  get version() {
    return String(this.resourceVersion);
  }

  find(name: string, namespace?: string): AppState {
    for (const state of this.apps.values()) {
      const { metadata } = state.manifest;
      if (
        metadata.name === name &&
        (!namespace || metadata.namespace === namespace)
      ) {
        return state;
      }
    }
    throw new ArgoError(
      'NotFound',
      `applications.argoproj.io "${name}" not found`,
    );
  }

  all(): AppState[] {
    return [...this.apps.values()];
  }

  /** Syncs every Application that never ran, as if it had been deployed before. */
  async syncNeverDeployed() {
    for (const state of this.apps.values()) {
      if (
        state.fixedStatus ||
        state.live ||
        state.operationState ||
        !state.desired
      )
        continue;
      this.startSync(state, state.desired, { username: 'admin' }, {});
      state.operationDoneAt = Date.now();
    }
    await this.reconcile();
  }

  /** One reconciliation pass over every Application. */
  async reconcile() {
    for (const state of this.apps.values()) {
      if (!state.fixedStatus) await this.reconcileApp(state);
    }
  }

  /** Compares one Application with Git now (Argo CD's refresh). */
  async reconcileApp(state: AppState) {
    const now = Date.now();
    try {
      const desired = await this.renderer.render(state.manifest);
      if (!isDeepStrictEqual(desired, state.desired)) this.touch();
      state.desired = desired;
      if (state.comparisonError) this.touch();
      state.comparisonError = undefined;
    } catch (error) {
      const message = `Failed to load target state: ${
        (error as Error).message
      }`;
      if (message !== state.comparisonError) this.touch();
      state.comparisonError = message;
    }
    state.reconciledAt = new Date(now).toISOString();
    this.advanceOperation(state, now);
    this.advanceHealth(state, now);
    this.autoSync(state, now);
  }

  private syncStatus(state: AppState): 'Synced' | 'OutOfSync' | 'Unknown' {
    if (state.comparisonError || !state.desired) return 'Unknown';
    if (!state.live) return 'OutOfSync';
    return isDeepStrictEqual(state.desired.manifests, state.live.manifests)
      ? 'Synced'
      : 'OutOfSync';
  }

  private autoSync(state: AppState, now: number) {
    const automated = state.manifest.spec.syncPolicy?.automated;
    if (!automated || automated.enabled === false) return;
    if (
      this.syncStatus(state) !== 'OutOfSync' ||
      this.isOperationRunning(state)
    ) {
      state.outOfSyncSince = undefined;
      return;
    }
    state.outOfSyncSince ??= now;
    // Argo CD does not retry an automated sync of a revision that already failed.
    const last = state.operationState;
    const failedBefore =
      last?.phase !== 'Succeeded' &&
      last?.operation?.initiatedBy?.automated &&
      last?.syncResult?.revision === state.desired!.revision;
    if (
      now - state.outOfSyncSince >= this.timing.autoSyncDelayMs &&
      !failedBefore
    ) {
      this.startSync(state, state.desired!, { automated: true }, {});
    }
  }

  isOperationRunning(state: AppState) {
    const phase = state.operationState?.phase;
    return phase === 'Running' || phase === 'Terminating';
  }

  /** Starts a sync to `target`, as `POST .../sync` and automated sync do. */
  startSync(
    state: AppState,
    target: Rendered,
    initiatedBy: { username?: string; automated?: boolean },
    options: { prune?: boolean },
  ) {
    if (this.isOperationRunning(state)) {
      throw new ArgoError(
        'FailedPrecondition',
        'another operation is already in progress',
      );
    }
    const source =
      target.sources.length === 1
        ? { source: target.sources[0] }
        : { sources: target.sources };
    const revision =
      target.revisions.length === 1
        ? { revision: target.revision }
        : { revisions: target.revisions };
    state.operationTarget = target;
    state.operationDoneAt = Date.now() + this.timing.syncMs;
    state.operationState = {
      operation: {
        sync: { ...revision, prune: options.prune ?? false },
        initiatedBy,
        retry: {},
      },
      phase: 'Running',
      message: 'one or more tasks are running',
      startedAt: new Date().toISOString(),
      // syncResult.revision is required, also next to revisions for multi-source.
      syncResult: {
        revision: target.revision,
        ...revision,
        ...source,
        resources: [],
      },
    };
    this.touch();
  }

  terminate(state: AppState) {
    if (!this.isOperationRunning(state)) {
      throw new ArgoError(
        'FailedPrecondition',
        'Unable to terminate operation. No operation is in progress',
      );
    }
    state.operationState.phase = 'Terminating';
    state.operationDoneAt = Date.now();
    this.touch();
  }

  private advanceOperation(state: AppState, now: number) {
    const op = state.operationState;
    if (!this.isOperationRunning(state) || now < state.operationDoneAt!) return;
    const target = state.operationTarget!;
    op.finishedAt = new Date(now).toISOString();
    if (op.phase === 'Terminating') {
      op.phase = 'Failed';
      op.message = 'Operation terminated';
    } else if (state.faults.syncFails) {
      op.phase = 'Failed';
      op.message =
        'one or more objects failed to apply, reason: admission webhook "sandbox" denied the request (sandbox fault)';
    } else {
      op.phase = 'Succeeded';
      op.message = 'successfully synced (all tasks run)';
      op.syncResult.resources = target.manifests.map(m => ({
        ...resourceKey(m, state),
        status: 'Synced',
        message: `${m.kind.toLowerCase()}/${m.metadata.name} configured`,
        hookPhase: 'Succeeded',
        syncPhase: 'Sync',
      }));
      // Argo Rollouts walks the canary steps only when the pod template changes,
      // and not at all on a Rollout's first deployment.
      const before = state.live && canaryRollout(state.live);
      const after = canaryRollout(target);
      state.rolloutStep =
        before &&
        after &&
        !isDeepStrictEqual(before.spec.template, after.spec.template)
          ? 0
          : Number.MAX_SAFE_INTEGER;
      state.live = target;
      const last = state.history[state.history.length - 1];
      state.history.push({
        id: (last?.id ?? -1) + 1,
        ...(target.revisions.length === 1
          ? { revision: target.revision, source: target.sources[0] }
          : { revisions: target.revisions, sources: target.sources }),
        deployStartedAt: op.startedAt,
        deployedAt: op.finishedAt,
        initiatedBy: op.operation.initiatedBy,
      });
      state.history = state.history.slice(-HISTORY_LIMIT);
      state.rolloutStepSince = now;
      this.setHealth(
        state,
        'Progressing',
        'Waiting for rollout to finish',
        now,
      );
    }
    state.operationTarget = undefined;
    this.touch();
  }

  private advanceHealth(state: AppState, now: number) {
    if (!state.live) {
      this.setHealth(state, 'Missing', undefined, now);
      return;
    }
    if (state.faults.degraded) {
      this.setHealth(
        state,
        'Degraded',
        `Deployment "${releaseName(state)}" exceeded its progress deadline`,
        now,
      );
      return;
    }
    if (state.health.status === 'Degraded') {
      this.setHealth(
        state,
        'Progressing',
        'Waiting for rollout to finish',
        now,
      );
      return;
    }
    const steps = canarySteps(state.live);
    if (steps) {
      state.rolloutStep = Math.min(state.rolloutStep, steps.length);
      while (
        state.rolloutStep < steps.length &&
        now - state.rolloutStepSince >= this.timing.rolloutStepMs
      ) {
        state.rolloutStep++;
        state.rolloutStepSince += this.timing.rolloutStepMs;
        this.touch();
      }
      if (state.rolloutStep >= steps.length) {
        this.setHealth(state, 'Healthy', undefined, now);
      } else if (steps[state.rolloutStep].pause) {
        this.setHealth(state, 'Suspended', 'Rollout is paused', now);
      } else {
        this.setHealth(
          state,
          'Progressing',
          'more replicas need to be updated',
          now,
        );
      }
      return;
    }
    if (
      state.health.status !== 'Healthy' &&
      now - state.healthSince >= this.timing.progressMs
    ) {
      this.setHealth(state, 'Healthy', undefined, now);
    }
  }

  private setHealth(
    state: AppState,
    status: string,
    message: string | undefined,
    now: number,
  ) {
    if (state.health.status === status && state.health.message === message)
      return;
    state.health = {
      status,
      ...(message && { message }),
      lastTransitionTime: new Date(now).toISOString(),
    };
    state.healthSince = now;
    this.touch();
  }

  setFaults(state: AppState, faults: ApplicationFaults) {
    state.faults = { ...faults };
    this.touch();
  }

  /** The Application as Argo CD's API answers it. */
  toApplication(state: AppState): Json {
    const { metadata, spec } = state.manifest;
    // Argo CD's API answers Applications without apiVersion and kind (swagger.json).
    const head = {
      metadata: {
        ...metadata,
        uid: state.uid,
        resourceVersion: this.version,
        generation: 1,
        creationTimestamp: state.createdAt,
      },
      spec,
    };
    if (state.fixedStatus) return { ...head, status: state.fixedStatus };

    const sync = this.syncStatus(state);
    const desired = state.desired;
    const live = state.live;
    const status: Json = {
      sync: {
        status: sync,
        comparedTo: {
          destination: spec.destination,
          ...(spec.sources
            ? { sources: spec.sources }
            : { source: spec.source }),
        },
        ...(desired &&
          (desired.revisions.length === 1
            ? { revision: desired.revision }
            : { revisions: desired.revisions })),
      },
      health: state.health,
      history: state.history,
      reconciledAt: state.reconciledAt,
      observedAt: state.reconciledAt,
      sourceType: 'Helm',
      ...(spec.sources && { sourceTypes: spec.sources.map(() => 'Helm') }),
      controllerNamespace: 'argocd',
      resourceHealthSource: 'appTree',
      summary: { images: live ? imagesOf(live.manifests) : [] },
      resources: this.resourceStatuses(state),
      ...(state.operationState && { operationState: state.operationState }),
      ...(state.comparisonError && {
        conditions: [
          {
            type: 'ComparisonError',
            message: state.comparisonError,
            lastTransitionTime: state.reconciledAt,
          },
        ],
      }),
    };
    return { ...head, status };
  }

  private resourceStatuses(state: AppState): Json[] {
    const desired = state.desired?.manifests ?? [];
    const live = state.live?.manifests ?? [];
    const liveById = new Map(live.map(m => [resourceId(m), m]));
    const desiredIds = new Set(desired.map(resourceId));
    const health = { status: state.health.status };
    return [
      ...desired.map(m => ({
        ...resourceKey(m, state),
        status: isDeepStrictEqual(liveById.get(resourceId(m)), m)
          ? 'Synced'
          : 'OutOfSync',
        ...(liveById.has(resourceId(m)) && hasHealth(m) && { health }),
      })),
      ...live
        .filter(m => !desiredIds.has(resourceId(m)))
        .map(m => ({
          ...resourceKey(m, state),
          status: 'OutOfSync',
          requiresPruning: true,
        })),
    ];
  }

  /** Argo CD's resource tree: the managed resources, with ReplicaSets and Pods under workloads. */
  resourceTree(state: AppState): Json {
    const live = state.live?.manifests ?? [];
    const nodes: Json[] = [];
    const createdAt =
      state.history[state.history.length - 1]?.deployedAt ?? state.createdAt;
    for (const m of live) {
      const ref = resourceKey(m, state);
      const uid = uidOf(state, ref);
      nodes.push({
        ...ref,
        uid,
        resourceVersion: this.version,
        createdAt,
        ...(hasHealth(m) && {
          health: {
            status: state.health.status,
            ...(state.health.message && { message: state.health.message }),
          },
        }),
      });
      const podSpec = m.spec?.template?.spec;
      if (!podSpec) continue;
      const hash = podHash(m);
      const rs = {
        group: 'apps',
        version: 'v1',
        kind: 'ReplicaSet',
        namespace: ref.namespace,
        name: `${m.metadata.name}-${hash}`,
      };
      const rsUid = uidOf(state, rs);
      nodes.push({
        ...rs,
        uid: rsUid,
        parentRefs: [{ ...ref, uid }],
        info: [{ name: 'Revision', value: `Rev:${state.history.length}` }],
        health: {
          status: state.health.status === 'Degraded' ? 'Degraded' : 'Healthy',
        },
        resourceVersion: this.version,
        createdAt,
      });
      for (let i = 0; i < (m.spec.replicas ?? 1); i++) {
        const pod = {
          group: '',
          version: 'v1',
          kind: 'Pod',
          namespace: ref.namespace,
          name: `${rs.name}-${i}`,
        };
        nodes.push({
          ...pod,
          uid: uidOf(state, pod),
          parentRefs: [{ ...rs, uid: rsUid }],
          images: podSpec.containers.map((c: Json) => c.image),
          info: [
            { name: 'Status Reason', value: 'Running' },
            {
              name: 'Containers',
              value: `${podSpec.containers.length}/${podSpec.containers.length}`,
            },
          ],
          health: { status: 'Healthy' },
          resourceVersion: this.version,
          createdAt,
        });
      }
    }
    return { nodes };
  }

  /** One live resource, with status for Argo Rollouts' Rollout. */
  liveResource(
    state: AppState,
    query: { kind: string; name: string; namespace?: string; group?: string },
  ): Json {
    const manifest = state.live?.manifests.find(
      m =>
        m.kind === query.kind &&
        m.metadata.name === query.name &&
        (!query.namespace ||
          resourceKey(m, state).namespace === query.namespace),
    );
    if (!manifest) {
      throw new ArgoError(
        'NotFound',
        `${query.kind} "${query.name}" not found as part of application ${state.manifest.metadata.name}`,
      );
    }
    const ref = resourceKey(manifest, state);
    const live = {
      ...manifest,
      metadata: {
        ...manifest.metadata,
        namespace: ref.namespace,
        uid: uidOf(state, ref),
        generation: state.history.length,
      },
    };
    if (manifest.kind === 'Rollout')
      live.status = this.rolloutStatus(state, manifest);
    return live;
  }

  private rolloutStatus(state: AppState, rollout: Json): Json {
    const steps: Json[] = rollout.spec.strategy?.canary?.steps ?? [];
    const index = Math.min(state.rolloutStep, steps.length);
    const done = index >= steps.length;
    const current = podHash(rollout);
    const previousLive =
      state.history.length > 1
        ? state.history[state.history.length - 2]
        : undefined;
    const stable =
      done || !previousLive
        ? current
        : createHash('sha1')
            .update(String(previousLive.revision))
            .digest('hex')
            .slice(0, 10);
    const weight = done
      ? 100
      : Math.max(0, ...steps.slice(0, index).map(s => s.setWeight ?? 0));
    const paused = !done && Boolean(steps[index]?.pause);
    const replicas = rollout.spec.replicas ?? 1;
    let phase = 'Progressing';
    if (state.faults.degraded) phase = 'Degraded';
    else if (done) phase = 'Healthy';
    else if (paused) phase = 'Paused';
    return {
      phase,
      currentStepIndex: index,
      currentPodHash: current,
      stableRS: stable,
      canary: {
        weights: {
          canary: { weight: done ? 0 : weight, podTemplateHash: current },
          stable: {
            weight: done ? 100 : 100 - weight,
            podTemplateHash: stable,
          },
        },
      },
      ...(paused && {
        pauseConditions: [
          {
            reason: 'CanaryPauseStep',
            startTime: new Date(state.rolloutStepSince).toISOString(),
          },
        ],
      }),
      replicas,
      updatedReplicas: done ? replicas : Math.ceil((replicas * weight) / 100),
      readyReplicas: replicas,
      availableReplicas: replicas,
      observedGeneration: String(state.history.length),
      message: paused ? 'CanaryPauseStep' : undefined,
    };
  }

  historyEntry(state: AppState, id: number): Json {
    const entry = state.history.find(h => h.id === id);
    if (!entry) {
      throw new ArgoError(
        'InvalidArgument',
        `application ${state.manifest.metadata.name} does not have deployment with id ${id}`,
      );
    }
    return entry;
  }

  sources(state: AppState): Json[] {
    return sourcesOf(state.manifest.spec);
  }

  repositoryOf(state: AppState, sourceIndex = 0): BareRepository {
    return this.renderer.repository(
      this.sources(state)[sourceIndex]?.repoURL ?? '',
    );
  }

  async renderAt(state: AppState, revisions: string[]): Promise<Rendered> {
    return this.renderer.render(state.manifest, revisions);
  }
}

function releaseName(state: AppState) {
  const chart = sourcesOf(state.manifest.spec).find(s => s.path);
  return chart?.helm?.releaseName ?? state.manifest.metadata.name;
}

function resourceId(m: Json) {
  return `${m.apiVersion}/${m.kind}/${m.metadata.namespace ?? ''}/${
    m.metadata.name
  }`;
}

function resourceKey(m: Json, state: AppState) {
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

function uidOf(
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

function podHash(workload: Json) {
  return createHash('sha1')
    .update(JSON.stringify(workload.spec?.template ?? {}))
    .digest('hex')
    .slice(0, 10);
}

function hasHealth(m: Json) {
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

function canaryRollout(rendered: Rendered): Json | undefined {
  return rendered.manifests.find(
    m => m.kind === 'Rollout' && m.spec?.strategy?.canary,
  );
}

function canarySteps(rendered: Rendered): Json[] | undefined {
  return canaryRollout(rendered)?.spec.strategy.canary.steps;
}
