import { ArgoError } from './errors';
import { AppState, InstanceContext, Json, canarySteps } from './model';
import { liveResource } from './views';

/** What a resource action names: the Application's live object. */
export interface ResourceRef {
  kind: string;
  name: string;
  namespace?: string;
  group?: string;
}

/** A Rollout of the Application, or Argo CD's answer for any other object. */
function rolloutOf(state: AppState, resource: ResourceRef): Json {
  const live = liveResource(state, resource);
  if (live.kind !== 'Rollout') {
    throw new ArgoError(
      'InvalidArgument',
      `the sandbox runs resource actions of Argo Rollouts' Rollout only, not ${live.kind}`,
    );
  }
  return live;
}

/** Whether the Rollout waits for someone: a blue/green preview, or a canary pause step. */
function paused(state: AppState, rollout: Json): boolean {
  if (state.rolloutAborted) return false;
  if (rollout.spec.strategy?.blueGreen) {
    return rollout.status?.phase === 'Paused';
  }
  const steps = canarySteps(state.live!) ?? [];
  return Boolean(steps[state.rolloutStep]?.pause);
}

/** Whether the update is done: the current ReplicaSet is the stable one. */
function fullyPromoted(state: AppState, rollout: Json): boolean {
  if (rollout.spec.strategy?.blueGreen) return state.rolloutStep > 0;
  return state.rolloutStep >= (canarySteps(state.live!) ?? []).length;
}

/**
 * Argo CD's built-in Rollout actions the sandbox runs, enabled as Argo CD's discovery.lua
 * enables them (restart, which changes no state the sandbox models, is left out).
 */
export function resourceActions(state: AppState, resource: ResourceRef) {
  const rollout = rolloutOf(state, resource);
  const done = fullyPromoted(state, rollout);
  const aborted = Boolean(state.rolloutAborted);
  return [
    { name: 'resume', disabled: !paused(state, rollout) },
    { name: 'abort', disabled: done || aborted },
    { name: 'retry', disabled: done || !aborted },
    { name: 'promote-full', disabled: done },
  ];
}

/**
 * Runs an action on a Rollout as Argo Rollouts then acts on it: `resume` goes past the
 * current pause (a blue/green preview is promoted), `promote-full` skips every remaining
 * step (and clears an abort), `abort` sends traffic back to stable and scales the new
 * ReplicaSet down (the Rollout is Degraded), `retry` starts the aborted update again
 * from its first step.
 */
export function runResourceAction(
  context: InstanceContext,
  state: AppState,
  resource: ResourceRef,
  action: string,
) {
  const rollout = rolloutOf(state, resource);
  const available = resourceActions(state, resource).find(
    a => a.name === action,
  );
  if (!available) {
    throw new ArgoError(
      'InvalidArgument',
      `action ${JSON.stringify(action)} is not available for Rollout ${
        resource.name
      }; the sandbox runs ${resourceActions(state, resource)
        .map(a => a.name)
        .join(', ')}`,
    );
  }
  if (available.disabled) {
    throw new ArgoError(
      'InvalidArgument',
      `action ${action} is disabled for Rollout ${resource.name}`,
    );
  }
  if (action === 'abort') {
    state.rolloutAborted = true;
  } else if (action === 'retry') {
    state.rolloutAborted = false;
    state.rolloutStep = 0;
  } else if (action === 'promote-full' || rollout.spec.strategy?.blueGreen) {
    state.rolloutAborted = false;
    state.rolloutStep = Number.MAX_SAFE_INTEGER;
  } else {
    state.rolloutStep++;
  }
  state.rolloutStepSince = Date.now();
  context.touch();
}
