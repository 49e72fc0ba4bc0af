import { AppState, InstanceContext, canarySteps, releaseName } from './model';

/**
 * Moves an Application's health along after a sync: Progressing for a while, then
 * Healthy; a canary Rollout walks its steps first, and a fault keeps it Degraded.
 */
export function advanceHealth(
  context: InstanceContext,
  state: AppState,
  now: number,
) {
  if (!state.live) {
    setHealth(context, state, 'Missing', undefined, now);
    return;
  }
  if (state.faults.degraded) {
    setHealth(
      context,
      state,
      'Degraded',
      `Deployment "${releaseName(state)}" exceeded its progress deadline`,
      now,
    );
    return;
  }
  if (state.health.status === 'Degraded') {
    setHealth(
      context,
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
      now - state.rolloutStepSince >= context.timing.rolloutStepMs
    ) {
      state.rolloutStep++;
      state.rolloutStepSince += context.timing.rolloutStepMs;
      context.touch();
    }
    if (state.rolloutStep >= steps.length) {
      setHealth(context, state, 'Healthy', undefined, now);
    } else if (steps[state.rolloutStep].pause) {
      setHealth(context, state, 'Suspended', 'Rollout is paused', now);
    } else {
      setHealth(
        context,
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
    now - state.healthSince >= context.timing.progressMs
  ) {
    setHealth(context, state, 'Healthy', undefined, now);
  }
}

export function setHealth(
  context: InstanceContext,
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
  context.touch();
}
