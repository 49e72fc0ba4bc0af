import {
  DeploymentRecord,
  LiveState,
  ROLLOUT_ACTIONS,
  RolloutAction,
  RolloutProgress,
} from '@gitops-backstage/plugin-gitops-common';
import { ArgoApplication } from '@gitops-backstage/plugin-gitops-node';

/** What runs, from an Application's status; history newest first. */
export function liveState(app: ArgoApplication): LiveState {
  const status = app.status ?? {};
  const history: DeploymentRecord[] = (status.history ?? [])
    .map(h => ({
      id: h.id,
      revision: h.revision || h.revisions?.[0] || '',
      deployedAt: h.deployedAt,
      ...(h.deployStartedAt && { deployStartedAt: h.deployStartedAt }),
      ...(h.initiatedBy && { initiatedBy: h.initiatedBy }),
    }))
    .reverse();
  const operation = status.operationState;
  return {
    syncStatus: status.sync?.status ?? 'Unknown',
    comparedRevision: status.sync?.revision ?? status.sync?.revisions?.[0],
    health: {
      status: status.health?.status ?? 'Unknown',
      ...(status.health?.message && { message: status.health.message }),
    },
    ...(operation && {
      operation: {
        phase: operation.phase,
        ...(operation.message && { message: operation.message }),
        ...(operation.startedAt && { startedAt: operation.startedAt }),
        ...(operation.finishedAt && { finishedAt: operation.finishedAt }),
      },
    }),
    images: status.summary?.images ?? [],
    automatedSync: Boolean(
      app.spec.syncPolicy?.automated &&
        app.spec.syncPolicy.automated.enabled !== false,
    ),
    ...(history[0] && { deployed: history[0] }),
    history,
  };
}

/** The Rollout actions enabled now, as Argo CD's Rollout discovery.lua enables them. */
function rolloutActions(rollout: any): RolloutAction[] {
  const status = rollout.status ?? {};
  const paused = status.pauseConditions
    ? status.pauseConditions.length > 0
    : Boolean(rollout.spec?.paused);
  const fullyPromoted = status.currentPodHash === status.stableRS;
  const enabled: Record<RolloutAction, boolean> = {
    resume: paused,
    'promote-full': !fullyPromoted,
    abort: !fullyPromoted && !status.abort,
    retry: !fullyPromoted && Boolean(status.abort),
  };
  return ROLLOUT_ACTIONS.filter(action => enabled[action]);
}

/** Progress of an Argo Rollouts Rollout, from the live object. */
export function rolloutProgress(rollout: any): RolloutProgress | undefined {
  const strategy = rollout?.spec?.strategy;
  if (!strategy) return undefined;
  const status = rollout.status ?? {};
  const common = {
    name: rollout.metadata?.name,
    namespace: rollout.metadata?.namespace,
    phase: status.phase,
    ...(status.message && { message: status.message }),
    ...(status.abort && { aborted: true }),
    ...(status.pauseConditions?.length > 0 && {
      pauseReasons: status.pauseConditions
        .map((c: any) => c?.reason)
        .filter((r: unknown) => typeof r === 'string'),
    }),
    actions: rolloutActions(rollout),
  };
  if (strategy.blueGreen) {
    const { activeSelector, previewSelector } = status.blueGreen ?? {};
    // The preview Service selects the current pod template's ReplicaSet: while it is
    // not the active one, the template's images are what waits there.
    const waiting = previewSelector && previewSelector !== activeSelector;
    const images: string[] = (rollout.spec.template?.spec?.containers ?? [])
      .map((c: any) => c?.image)
      .filter((i: unknown) => typeof i === 'string');
    return {
      ...common,
      strategy: 'blueGreen',
      activeSelector,
      previewSelector,
      ...(waiting && images.length > 0 && { previewImages: images }),
    };
  }
  const stepCount = strategy.canary?.steps?.length ?? 0;
  const weights = status.canary?.weights;
  const inProgress = (status.currentStepIndex ?? stepCount) < stepCount;
  // Argo Rollouts reports traffic weights only with a traffic router. Without one the
  // canary's share is its share of the pods, as `kubectl argo rollouts` shows it.
  const podShare =
    inProgress && status.replicas > 0
      ? Math.floor(((status.updatedReplicas ?? 0) * 100) / status.replicas)
      : undefined;
  const canaryWeight = weights?.canary?.weight ?? podShare;
  return {
    ...common,
    strategy: 'canary',
    currentStepIndex: status.currentStepIndex,
    stepCount,
    canaryWeight,
    stableWeight:
      weights?.stable?.weight ??
      (canaryWeight === undefined ? undefined : 100 - canaryWeight),
  };
}
