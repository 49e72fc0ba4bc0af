import { isDeepStrictEqual } from 'node:util';
import { ArgoError } from './errors';
import {
  AppState,
  Json,
  hasHealth,
  podHash,
  resourceId,
  resourceKey,
  syncStatus,
  uidOf,
  waitsForPromotion,
} from './model';
import {
  activeBeforePromotion,
  blocked,
  canarySplit,
  rolloutUpdated,
} from './pods';
import { livePod, summaryImages } from './tree';
import { rolloutAbortedMessage } from './health';

// How Argo CD's API shows an Application: what it answers, a live resource and a
// history entry (its resource tree: tree.ts). Nothing here changes state; `version`
// is the instance's resourceVersion at the time of the answer.

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
    summary: { images: live ? summaryImages(state) : [] },
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

/** One live resource, with status for Argo Rollouts' Rollout. */
export function liveResource(
  state: AppState,
  query: { kind: string; name: string; namespace?: string; group?: string },
): Json {
  if (query.kind === 'Pod') {
    const pod = livePod(state, query);
    if (pod) return pod;
  }
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

/**
 * A Rollout's phase while its new pods cannot pull their image, as Argo Rollouts
 * records it (Argo CD's health.lua surfaces phase and message): Progressing, and
 * Degraded with a ProgressDeadlineExceeded condition once the deadline passed.
 */
function blockedRollout(state: AppState, rollout: Json): Json | undefined {
  if (!blocked(state, rollout)) return undefined;
  const replicas = rollout.spec.replicas ?? 1;
  const updated = rolloutUpdated(state, rollout);
  const overdue = state.health.status === 'Degraded';
  const since = new Date(state.healthSince).toISOString();
  return {
    phase: overdue ? 'Degraded' : 'Progressing',
    message: state.health.message,
    updatedReplicas: updated,
    // The stable pods of a canary run; the new ones do not.
    readyReplicas: replicas - updated,
    availableReplicas: replicas - updated,
    ...(overdue && {
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${rollout.metadata.name}-${podHash(
            rollout,
          )}" has timed out progressing.`,
          lastTransitionTime: since,
          lastUpdateTime: since,
        },
      ],
    }),
  };
}

/** What Argo Rollouts adds to an aborted Rollout's status. */
function abortedStatus(state: AppState): Json {
  return {
    abort: true,
    abortedAt: new Date(state.rolloutStepSince).toISOString(),
    message: rolloutAbortedMessage(state),
  };
}

/** A blue/green Rollout's status: the preview beside the active ReplicaSet until promoted. */
function blueGreenStatus(state: AppState, rollout: Json): Json {
  const stuck = blockedRollout(state, rollout);
  // The active Service switches only to a preview whose pods run, promote-full or not.
  const promoted = state.rolloutStep > 0 && !stuck;
  const aborted = Boolean(state.rolloutAborted) && !promoted;
  const paused = !promoted && !stuck && !aborted && waitsForPromotion(rollout);
  const current = podHash(rollout);
  const before = activeBeforePromotion(state, rollout);
  const active = before ? podHash(before) : current;
  const replicas = rollout.spec.replicas ?? 1;
  let phase = 'Progressing';
  if (state.faults.degraded || aborted) phase = 'Degraded';
  else if (promoted) phase = 'Healthy';
  else if (paused) phase = 'Paused';
  return {
    phase,
    currentPodHash: current,
    stableRS: active,
    blueGreen: { activeSelector: active, previewSelector: current },
    ...(aborted && abortedStatus(state)),
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
    ...(!state.faults.degraded && stuck),
  };
}

function rolloutStatus(state: AppState, rollout: Json): Json {
  if (rollout.spec.strategy?.blueGreen) return blueGreenStatus(state, rollout);
  const stuck = blockedRollout(state, rollout);
  const split = canarySplit(state, rollout);
  const steps: Json[] = rollout.spec.strategy?.canary?.steps ?? [];
  const current = podHash(rollout);
  const stable = split.stable ? podHash(split.stable) : current;
  const aborted = Boolean(state.rolloutAborted) && !split.done;
  const paused =
    !split.done && !stuck && !aborted && Boolean(steps[split.index]?.pause);
  const replicas = split.canaryReplicas + split.stableReplicas;
  let phase = 'Progressing';
  if (state.faults.degraded || aborted) phase = 'Degraded';
  else if (split.done) phase = 'Healthy';
  else if (paused) phase = 'Paused';
  // Traffic weights are the traffic router's: without one, Argo Rollouts reports none
  // (the canary's share is its pods').
  const canaryWeight = split.done ? 0 : split.setWeight;
  return {
    phase,
    currentStepIndex: split.index,
    currentPodHash: current,
    stableRS: stable,
    canary: split.trafficRouted
      ? {
          weights: {
            canary: { weight: canaryWeight, podTemplateHash: current },
            stable: { weight: 100 - canaryWeight, podTemplateHash: stable },
          },
        }
      : {},
    ...(paused && {
      pauseConditions: [
        {
          reason: 'CanaryPauseStep',
          startTime: new Date(state.rolloutStepSince).toISOString(),
        },
      ],
    }),
    replicas,
    updatedReplicas: split.canaryReplicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
    observedGeneration: String(state.history.length),
    message: paused ? 'CanaryPauseStep' : undefined,
    ...(aborted && abortedStatus(state)),
    ...(!state.faults.degraded && stuck),
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
