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
  if (rollout.spec.strategy?.blueGreen) {
    return rollout.status?.phase === 'Paused';
  }
  const steps = canarySteps(state.live!) ?? [];
  return Boolean(steps[state.rolloutStep]?.pause);
}

function done(state: AppState, rollout: Json): boolean {
  if (rollout.spec.strategy?.blueGreen) return state.rolloutStep > 0;
  return state.rolloutStep >= (canarySteps(state.live!) ?? []).length;
}

/** Argo CD's built-in Rollout actions the sandbox runs, enabled as Argo CD's Lua scripts enable them. */
export function resourceActions(state: AppState, resource: ResourceRef) {
  const rollout = rolloutOf(state, resource);
  return [
    { name: 'promote-full', disabled: done(state, rollout) },
    { name: 'resume', disabled: !paused(state, rollout) },
  ];
}

/**
 * Runs `promote-full` (every remaining step, or the blue/green switch) or `resume` (past
 * the current pause) on a Rollout, as Argo Rollouts then does.
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
      }; the sandbox runs promote-full and resume`,
    );
  }
  if (available.disabled) {
    throw new ArgoError(
      'InvalidArgument',
      `action ${action} is disabled for Rollout ${resource.name}`,
    );
  }
  if (action === 'promote-full' || rollout.spec.strategy?.blueGreen) {
    state.rolloutStep = Number.MAX_SAFE_INTEGER;
  } else {
    state.rolloutStep++;
  }
  state.rolloutStepSince = Date.now();
  context.touch();
}
