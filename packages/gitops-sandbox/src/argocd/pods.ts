import { isDeepStrictEqual } from 'node:util';
import { AppState, InstanceContext, Json, podHash } from './model';
import { canaryReplicaCounts, maxSurgeOf, scaledValue } from './replicaCounts';

// The cluster's nodes: they pull every image of the pods a workload runs through the
// sandbox registry, and a pod whose image is missing waits in ImagePullBackOff, as a
// kubelet does. Health messages are those of gitops-engine's pkg/health (Pod,
// ReplicaSet, Deployment) and Argo CD's Rollout health.lua / Argo Rollouts' phase.

/** Workloads the cluster runs pods for: those with a pod template. */
export function podWorkloads(manifests: Json[] = []): Json[] {
  return manifests.filter(m => m.spec?.template?.spec);
}

function imagesOfSpec(podSpec: Json): string[] {
  return [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])]
    .map((c: Json) => c.image)
    .filter(Boolean);
}

/**
 * Pulls every image of the running pod templates, on every pass: the kubelet's
 * back-off retries, so an image pushed later is pulled without a new sync. The
 * progress deadline runs from the last change of the pod templates (a new rollout).
 */
export function pullImages(
  context: InstanceContext,
  state: AppState,
  now: number,
) {
  const workloads = podWorkloads(state.live?.manifests);
  const images: Record<string, string | null> = {};
  for (const w of workloads) {
    for (const image of imagesOfSpec(w.spec.template.spec)) {
      images[image] = context.images(image) ?? null;
    }
  }
  const key = JSON.stringify(
    workloads.map(w => [w.kind, w.metadata.name, podHash(w)]),
  );
  const before = state.pulls;
  if (
    !before ||
    before.key !== key ||
    !isDeepStrictEqual(before.images, images)
  )
    context.touch();
  state.pulls = {
    images,
    key,
    since: before?.key === key ? before.since : now,
  };
}

/** The images of a pod template whose pull fails, init containers apart. */
export function failedPulls(
  state: AppState,
  podSpec: Json,
): { init: string[]; main: string[] } {
  const failed = (containers: Json[] = []) =>
    containers
      .map(c => c.image)
      .filter(image => state.pulls?.images[image] === null);
  return {
    init: failed(podSpec.initContainers),
    main: failed(podSpec.containers),
  };
}

/** Whether a workload's new pods cannot start: an image of its template is not pulled. */
export function blocked(state: AppState, workload: Json): boolean {
  const { init, main } = failedPulls(state, workload.spec.template.spec);
  return init.length + main.length > 0;
}

/**
 * The blue/green Rollout's active one while its preview waits for promotion: the
 * workload as it ran before the last sync. Promoted (even by promote-full) means
 * switched only once the preview's pods run, as Argo Rollouts switches the active
 * Service only to a saturated ReplicaSet.
 */
export function activeBeforePromotion(
  state: AppState,
  rollout: Json,
): Json | undefined {
  if (state.rolloutStep > 0 && !blocked(state, rollout)) return undefined;
  return state.previousLive?.manifests.find(
    m => m.kind === 'Rollout' && m.metadata.name === rollout.metadata.name,
  );
}

/** The first workload whose new pods cannot start. */
export function blockedWorkload(state: AppState): Json | undefined {
  return podWorkloads(state.live?.manifests).find(w => blocked(state, w));
}

const backOff = (image: string) => `Back-off pulling image "${image}"`;

/** A pod of a template as the kubelet runs it: its health, reason and container counts. */
export function podState(state: AppState, podSpec: Json) {
  const { init, main } = failedPulls(state, podSpec);
  const containers: Json[] = podSpec.containers ?? [];
  if (main.length > 0) {
    // getPodHealth: a waiting container whose reason ends in BackOff is Degraded.
    return {
      health: { status: 'Degraded', message: main.map(backOff).join(', ') },
      reason: 'ImagePullBackOff',
      ready: containers.length - main.length,
      total: containers.length,
      init,
      main,
    };
  }
  if (init.length > 0) {
    // Only containerStatuses count there: a pod stuck in init is Pending, Progressing.
    return {
      health: { status: 'Progressing' },
      reason: 'Init:ImagePullBackOff',
      ready: 0,
      total: containers.length,
      init,
      main,
    };
  }
  return {
    health: { status: 'Healthy' },
    reason: 'Running',
    ready: containers.length,
    total: containers.length,
    init,
    main,
  };
}

/** A Pod's live manifest, its container statuses saying what the kubelet does. */
export function podManifest(
  state: AppState,
  podSpec: Json,
  labels: Json,
  metadata: Json,
  startedAt: string,
): Json {
  const pod = podState(state, podSpec);
  const pulled = (image: string) => state.pulls?.images[image];
  const status = (c: Json, init: boolean) => {
    const digest = pulled(c.image);
    let runtime: Json;
    if ((init ? pod.init : pod.main).includes(c.image)) {
      runtime = {
        waiting: { reason: 'ImagePullBackOff', message: backOff(c.image) },
      };
    } else if (init) {
      runtime = {
        terminated: {
          exitCode: 0,
          reason: 'Completed',
          startedAt,
          finishedAt: startedAt,
        },
      };
    } else if (pod.init.length > 0) {
      runtime = { waiting: { reason: 'PodInitializing' } };
    } else {
      runtime = { running: { startedAt } };
    }
    return {
      name: c.name,
      image: c.image,
      // As containerd reports it: the repository, by the digest pulled.
      imageID: digest
        ? `${c.image.replace(/@.*$/, '').replace(/:[^/:]+$/, '')}@${digest}`
        : '',
      ready: Boolean(runtime.running),
      started: Boolean(runtime.running),
      restartCount: 0,
      state: runtime,
    };
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...metadata, labels },
    spec: { restartPolicy: 'Always', ...podSpec },
    status: {
      phase: pod.reason === 'Running' ? 'Running' : 'Pending',
      ...(podSpec.initContainers && {
        initContainerStatuses: podSpec.initContainers.map((c: Json) =>
          status(c, true),
        ),
      }),
      containerStatuses: (podSpec.containers ?? []).map((c: Json) =>
        status(c, false),
      ),
      startTime: startedAt,
    },
  };
}

/**
 * A canary Rollout's ReplicaSets as Argo Rollouts scales them. Between steps the stable
 * pods (the template before the sync) run beside the canary's, as many as the current
 * step's weight asks: without traffic routing the weight is only a share of the pods
 * (canaryReplicaCounts); with it, the stable keeps its full size. Once the steps are
 * done (or on a first deployment) every pod is new.
 */
export function canarySplit(state: AppState, rollout: Json) {
  const replicas = rollout.spec.replicas ?? 1;
  const canary = rollout.spec.strategy?.canary ?? {};
  const steps: Json[] = canary.steps ?? [];
  const index = Math.min(state.rolloutStep, steps.length);
  const stable = state.previousLive?.manifests.find(
    m =>
      m.kind === 'Rollout' &&
      m.metadata.name === rollout.metadata.name &&
      podHash(m) !== podHash(rollout),
  );
  const trafficRouted = Boolean(canary.trafficRouting);
  // An aborted update sends all traffic back to stable and scales the canary down.
  if (state.rolloutAborted && stable) {
    return {
      index,
      done: false,
      setWeight: 0,
      trafficRouted,
      stable,
      canaryReplicas: 0,
      stableReplicas: replicas,
    };
  }
  // After promote-full the canary pods must still run before they become stable.
  const done = index >= steps.length && (!stable || !blocked(state, rollout));
  // Argo Rollouts' GetCurrentSetWeight: the last setWeight up to the current step.
  const setWeight = done
    ? 100
    : steps
        .slice(0, index + 1)
        .reduce((weight, step) => step.setWeight ?? weight, 0);
  if (done || !stable) {
    return {
      index,
      done,
      setWeight,
      trafficRouted,
      stable: undefined,
      canaryReplicas: replicas,
      stableReplicas: 0,
    };
  }
  const counts = trafficRouted
    ? { canary: Math.ceil((replicas * setWeight) / 100), stable: replicas }
    : canaryReplicaCounts(replicas, setWeight, maxSurgeOf(canary, replicas));
  return {
    index,
    done,
    setWeight,
    trafficRouted,
    stable,
    canaryReplicas: counts.canary,
    stableReplicas: counts.stable,
  };
}

/** A Rollout's updated replicas: a canary's pods (canarySplit), else all of them. */
export function rolloutUpdated(state: AppState, rollout: Json): number {
  if (!rollout.spec.strategy?.canary) return rollout.spec.replicas ?? 1;
  return canarySplit(state, rollout).canaryReplicas;
}

/**
 * Where a Deployment's rolling update stands when its new pods never become available:
 * the new ReplicaSet grows to maxSurge + maxUnavailable, the old one shrinks by
 * maxUnavailable only (Recreate: all new, no old).
 */
export function stuckDeployment(state: AppState, deployment: Json) {
  const replicas = deployment.spec.replicas ?? 1;
  const old = state.previousLive?.manifests.find(
    m =>
      m.kind === deployment.kind &&
      m.metadata.name === deployment.metadata.name &&
      podHash(m) !== podHash(deployment),
  );
  const strategy = deployment.spec.strategy ?? {};
  if (!old || strategy.type === 'Recreate') {
    return { updated: replicas, old: undefined, oldReplicas: 0 };
  }
  const rolling = strategy.rollingUpdate ?? {};
  const surge = scaledValue(rolling.maxSurge, '25%', replicas, true);
  const unavailable = scaledValue(
    rolling.maxUnavailable,
    '25%',
    replicas,
    false,
  );
  return {
    updated: Math.min(replicas, surge + unavailable),
    old,
    oldReplicas: replicas - unavailable,
  };
}

/** Argo CD's Deployment health while new replicas are unavailable. */
function deploymentProgress(state: AppState, deployment: Json): string {
  const replicas = deployment.spec.replicas ?? 1;
  const { updated, oldReplicas } = stuckDeployment(state, deployment);
  if (updated < replicas) {
    return `Waiting for rollout to finish: ${updated} out of ${replicas} new replicas have been updated...`;
  }
  if (oldReplicas > 0) {
    return `Waiting for rollout to finish: ${oldReplicas} old replicas are pending termination...`;
  }
  return `Waiting for rollout to finish: 0 of ${updated} updated replicas are available...`;
}

/**
 * The health of a workload whose new pods cannot pull their images: Progressing until
 * the progress deadline passes, then Degraded, each with Argo CD's message.
 */
export function blockedHealth(
  state: AppState,
  workload: Json,
  overdue: boolean,
): { status: string; message: string } {
  const name = workload.metadata.name;
  if (workload.kind === 'Deployment') {
    return overdue
      ? {
          status: 'Degraded',
          message: `Deployment "${name}" exceeded its progress deadline`,
        }
      : { status: 'Progressing', message: deploymentProgress(state, workload) };
  }
  if (workload.kind === 'Rollout') {
    // Argo Rollouts' phase and message, which Argo CD's health.lua surfaces.
    if (overdue) {
      return {
        status: 'Degraded',
        message: `ProgressDeadlineExceeded: ReplicaSet "${name}-${podHash(
          workload,
        )}" has timed out progressing.`,
      };
    }
    const replicas = workload.spec.replicas ?? 1;
    return {
      status: 'Progressing',
      message:
        rolloutUpdated(state, workload) < replicas
          ? 'more replicas need to be updated'
          : 'updated replicas are still becoming available',
    };
  }
  // StatefulSets, DaemonSets and Jobs have no progress deadline: they wait.
  return { status: 'Progressing', message: 'Waiting for rollout to finish' };
}
