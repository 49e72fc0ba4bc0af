import { isDeepStrictEqual } from 'node:util';
import { ArgoError } from './errors';
import { setHealth } from './health';
import {
  AppState,
  CLUSTER_SCOPED,
  HISTORY_LIMIT,
  InstanceContext,
  Json,
  blueGreenRollout,
  canaryRollout,
  mergePatch,
  resourceKey,
  syncStatus,
  withUnpruned,
  withoutTargetRevision,
} from './model';
import { Rendered } from './render';

// Sync operations: automated sync, starting and terminating one, and ending it when
// its time is up (Argo CD's apply, with history, pruning and created namespaces);
// and a change to what runs behind Argo CD's back, which a sync puts back.

/** Whether a sync runs: started and not yet ended (a terminating one is still running). */
export function isOperationRunning(state: AppState) {
  const phase = state.operationState?.phase;
  return phase === 'Running' || phase === 'Terminating';
}

/** Argo CD's automated sync: an OutOfSync Application syncs itself after the delay. */
export function autoSync(
  context: InstanceContext,
  state: AppState,
  now: number,
) {
  const automated = state.manifest.spec.syncPolicy?.automated;
  if (!automated || automated.enabled === false) return;
  if (syncStatus(state) !== 'OutOfSync' || isOperationRunning(state)) {
    state.outOfSyncSince = undefined;
    return;
  }
  state.outOfSyncSince ??= now;
  // Argo CD does not retry an automated sync of a revision and source that failed.
  const last = state.operationState;
  const failedBefore =
    last?.phase !== 'Succeeded' &&
    last?.operation?.initiatedBy?.automated &&
    last?.syncResult?.revision === state.desired!.revision &&
    isDeepStrictEqual(
      (last.syncResult.sources ?? [last.syncResult.source]).map(
        withoutTargetRevision,
      ),
      state.desired!.sources.map(withoutTargetRevision),
    );
  // Nor does it sync a revision and source it already synced: what differs was
  // changed in the cluster, and only self-heal puts it back.
  const deployed = state.history[state.history.length - 1];
  const alreadySynced =
    deployed &&
    isDeepStrictEqual(
      deployed.revisions ?? [deployed.revision],
      state.desired!.revisions,
    ) &&
    isDeepStrictEqual(
      deployed.sources ?? [deployed.source],
      state.desired!.sources,
    );
  if (alreadySynced && !automated.selfHeal) return;
  if (
    now - state.outOfSyncSince >= context.timing.autoSyncDelayMs &&
    !failedBefore
  ) {
    startSync(context, state, state.desired!, { automated: true }, {});
  }
}

/** Starts a sync to `target`, as `POST .../sync` and automated sync do. */
export function startSync(
  context: InstanceContext,
  state: AppState,
  target: Rendered,
  initiatedBy: { username?: string; automated?: boolean },
  options: { prune?: boolean },
) {
  if (isOperationRunning(state)) {
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
  state.operationDoneAt = Date.now() + context.timing.syncMs;
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
  context.touch();
}

export function terminate(context: InstanceContext, state: AppState) {
  if (!isOperationRunning(state)) {
    throw new ArgoError(
      'FailedPrecondition',
      'Unable to terminate operation. No operation is in progress',
    );
  }
  state.operationState.phase = 'Terminating';
  state.operationDoneAt = Date.now();
  context.touch();
}

/**
 * Changes a live object as `kubectl patch --type merge` would, behind Argo CD's
 * back: the Application turns OutOfSync; self-heal puts it back.
 */
export function editLive(
  context: InstanceContext,
  state: AppState,
  kind: string,
  name: string,
  patch: Json,
) {
  const live = state.live;
  const index =
    live?.manifests.findIndex(
      m => m.kind === kind && m.metadata?.name === name,
    ) ?? -1;
  if (!live || index < 0) {
    throw new ArgoError(
      'NotFound',
      `${kind} "${name}" not found as part of application ${state.manifest.metadata.name}`,
    );
  }
  const manifests = [...live.manifests];
  manifests[index] = mergePatch(manifests[index], patch);
  state.live = { ...live, manifests };
  context.touch();
}

export function advanceOperation(
  context: InstanceContext,
  state: AppState,
  now: number,
) {
  const op = state.operationState;
  if (!isOperationRunning(state) || now < state.operationDoneAt!) return;
  const target = state.operationTarget!;
  op.finishedAt = new Date(now).toISOString();
  if (op.phase === 'Terminating') {
    op.phase = 'Failed';
    op.message = 'Operation terminated';
  } else if (state.faults.syncFails) {
    op.phase = 'Failed';
    op.message =
      'one or more objects failed to apply, reason: admission webhook "sandbox" denied the request (sandbox fault)';
  } else if (missingNamespaces(context, state, target).length > 0) {
    // Argo CD's dry run fails for objects whose namespace does not exist.
    const missing = missingNamespaces(context, state, target);
    op.phase = 'Failed';
    op.message = 'one or more synchronization tasks are not valid';
    op.syncResult.resources = target.manifests
      .filter(m => missing.includes(resourceKey(m, state).namespace))
      .map(m => ({
        ...resourceKey(m, state),
        status: 'SyncFailed',
        message: `namespaces "${resourceKey(m, state).namespace}" not found`,
        syncPhase: 'Sync',
      }));
  } else {
    op.phase = 'Succeeded';
    op.message = 'successfully synced (all tasks run)';
    for (const namespace of namespacesCreatedBy(state, target)) {
      context.namespaces.add(namespace);
    }
    op.syncResult.resources = target.manifests.map(m => ({
      ...resourceKey(m, state),
      status: 'Synced',
      message: `${m.kind.toLowerCase()}/${m.metadata.name} configured`,
      hookPhase: 'Succeeded',
      syncPhase: 'Sync',
    }));
    // Argo Rollouts walks the canary steps, or brings up a blue/green preview, only
    // when the pod template changes, and not at all on a Rollout's first deployment.
    const before =
      state.live && (canaryRollout(state.live) ?? blueGreenRollout(state.live));
    const after = canaryRollout(target) ?? blueGreenRollout(target);
    state.rolloutAborted = false;
    state.rolloutStep =
      before &&
      after &&
      !isDeepStrictEqual(before.spec.template, after.spec.template)
        ? 0
        : Number.MAX_SAFE_INTEGER;
    state.previousLive = state.live;
    state.live = withUnpruned(state, target, prunes(state));
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
    setHealth(
      context,
      state,
      'Progressing',
      'Waiting for rollout to finish',
      now,
    );
  }
  state.operationTarget = undefined;
  context.touch();
  context.apply(); // an app of apps' Applications follow it
}

/** Whether the running sync deletes what Git no longer has. */
function prunes(state: AppState): boolean {
  const op = state.operationState.operation;
  if (op.initiatedBy?.automated) {
    return Boolean(state.manifest.spec.syncPolicy?.automated?.prune);
  }
  return Boolean(op.sync?.prune);
}

/** `CreateNamespace=true` creates the destination namespace; Namespace objects create theirs. */
function namespacesCreatedBy(state: AppState, target: Rendered): string[] {
  const options: string[] = state.manifest.spec.syncPolicy?.syncOptions ?? [];
  const destination = state.manifest.spec.destination?.namespace;
  return [
    ...(options.includes('CreateNamespace=true') && destination
      ? [destination]
      : []),
    ...target.manifests
      .filter(m => m.kind === 'Namespace' && m.apiVersion === 'v1')
      .map(m => m.metadata.name),
  ];
}

/** The namespaces the target's namespaced objects need that the cluster lacks. */
function missingNamespaces(
  context: InstanceContext,
  state: AppState,
  target: Rendered,
): string[] {
  const created = new Set(namespacesCreatedBy(state, target));
  const needed = target.manifests
    .filter(m => !CLUSTER_SCOPED.has(m.kind))
    .map(m => resourceKey(m, state).namespace || 'default');
  return [...new Set(needed)].filter(
    ns => !context.namespaces.has(ns) && !created.has(ns),
  );
}
