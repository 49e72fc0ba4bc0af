import { isDeepStrictEqual } from 'node:util';
import { ArgoError } from './errors';
import {
  AppState,
  Json,
  hasHealth,
  activeBeforePromotion,
  podHash,
  previousPodHash,
  resourceId,
  resourceKey,
  syncStatus,
  uidOf,
  waitsForPromotion,
} from './model';
import { imagesOf } from './render';

// How Argo CD's API shows an Application: what it answers, its resource tree, a live
// resource and a history entry. Nothing here changes state; `version` is the
// instance's resourceVersion at the time of the answer.

/** The Application as Argo CD's API answers it. */
export function toApplication(state: AppState, version: string): Json {
  const { metadata, spec } = state.manifest;
  // Argo CD's API answers Applications without apiVersion and kind (swagger.json).
  const head = {
    metadata: {
      ...metadata,
      uid: state.uid,
      resourceVersion: version,
      generation: 1,
      creationTimestamp: state.createdAt,
    },
    spec,
  };
  if (state.fixedStatus) return { ...head, status: state.fixedStatus };

  const sync = syncStatus(state);
  const desired = state.desired;
  const live = state.live;
  const status: Json = {
    sync: {
      status: sync,
      comparedTo: {
        destination: spec.destination,
        ...(spec.sources ? { sources: spec.sources } : { source: spec.source }),
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
    resources: resourceStatuses(state),
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

function resourceStatuses(state: AppState): Json[] {
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
export function resourceTree(state: AppState, version: string): Json {
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
      resourceVersion: version,
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
    // A blue/green Rollout not yet promoted runs the active ReplicaSet beside the preview.
    // A blue/green Rollout not yet promoted runs the active ReplicaSet beside the preview.
    const active =
      m.kind === 'Rollout' && m.spec.strategy?.blueGreen
        ? activeBeforePromotion(state, m)
        : undefined;
    if (active) {
      nodes.push(
        ...replicaSetNodes(
          state,
          version,
          active,
          ref,
          uid,
          podHash(active),
          createdAt,
        ),
      );
    }
    nodes.push(
      ...replicaSetNodes(state, version, m, ref, uid, podHash(m), createdAt),
    );
  }
  return { nodes };
}

/** A workload's ReplicaSet of one pod template hash, and its Pods. */
function replicaSetNodes(
  state: AppState,
  version: string,
  m: Json,
  ref: Json,
  uid: string,
  hash: string,
  createdAt: string,
): Json[] {
  const nodes: Json[] = [];
  const podSpec = m.spec.template.spec;
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
    resourceVersion: version,
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
      resourceVersion: version,
      createdAt,
    });
  }
  return nodes;
}

/** One live resource, with status for Argo Rollouts' Rollout. */
export function liveResource(
  state: AppState,
  query: { kind: string; name: string; namespace?: string; group?: string },
): Json {
  const manifest = state.live?.manifests.find(
    m =>
      m.kind === query.kind &&
      m.metadata.name === query.name &&
      (!query.namespace || resourceKey(m, state).namespace === query.namespace),
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
  if (manifest.kind === 'Rollout') live.status = rolloutStatus(state, manifest);
  return live;
}

/** A blue/green Rollout's status: the preview beside the active ReplicaSet until promoted. */
function blueGreenStatus(state: AppState, rollout: Json): Json {
  const promoted = state.rolloutStep > 0;
  const paused = !promoted && waitsForPromotion(rollout);
  const current = podHash(rollout);
  const before = activeBeforePromotion(state, rollout);
  const active = before ? podHash(before) : current;
  const replicas = rollout.spec.replicas ?? 1;
  let phase = 'Progressing';
  if (state.faults.degraded) phase = 'Degraded';
  else if (promoted) phase = 'Healthy';
  else if (paused) phase = 'Paused';
  return {
    phase,
    currentPodHash: current,
    stableRS: active,
    blueGreen: { activeSelector: active, previewSelector: current },
    ...(paused && {
      pauseConditions: [
        {
          reason: 'BlueGreenPause',
          startTime: new Date(state.rolloutStepSince).toISOString(),
        },
      ],
      message: 'BlueGreenPause',
    }),
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
    observedGeneration: String(state.history.length),
  };
}

function rolloutStatus(state: AppState, rollout: Json): Json {
  if (rollout.spec.strategy?.blueGreen) return blueGreenStatus(state, rollout);
  const steps: Json[] = rollout.spec.strategy?.canary?.steps ?? [];
  const index = Math.min(state.rolloutStep, steps.length);
  const done = index >= steps.length;
  const current = podHash(rollout);
  const stable = done ? current : previousPodHash(state) ?? current;
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

export function historyEntry(state: AppState, id: number): Json {
  const entry = state.history.find(h => h.id === id);
  if (!entry) {
    throw new ArgoError(
      'InvalidArgument',
      `application ${state.manifest.metadata.name} does not have deployment with id ${id}`,
    );
  }
  return entry;
}
