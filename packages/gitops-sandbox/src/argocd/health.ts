import {
  AppState,
  InstanceContext,
  Json,
  blueGreenRollout,
  canarySteps,
  releaseName,
  waitsForPromotion,
} from './model';
import { blockedHealth, blockedWorkload, pullImages } from './pods';

/**
 * Moves an Application's health along after a sync: Progressing for a while, then
 * Healthy; a canary Rollout walks its steps first, and a fault keeps it Degraded.
 * New pods whose image cannot be pulled keep it Progressing, then Degraded once the
 * progress deadline passes, until the image is there.
 */
export function advanceHealth(
  context: InstanceContext,
  state: AppState,
  now: number,
) {
  const wasBlocked = Boolean(state.pulls && blockedWorkload(state));
  pullImages(context, state, now);
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
  if (state.rolloutAborted) {
    // Argo Rollouts marks an aborted Rollout Degraded; Argo CD's health follows it.
    setHealth(context, state, 'Degraded', rolloutAbortedMessage(state), now);
    return;
  }
  const stuck = blockedWorkload(state);
  if (stuck) {
    // Canary steps and blue/green promotion wait for the new pods: their clock
    // starts once the pods run.
    state.rolloutStepSince = now;
    const overdue =
      now - state.pulls!.since >= context.timing.progressDeadlineMs;
    const health = blockedHealth(state, stuck, overdue);
    setHealth(context, state, health.status, health.message, now);
    return;
  }
  if (wasBlocked || state.health.status === 'Degraded') {
    setHealth(
      context,
      state,
      'Progressing',
      'Waiting for rollout to finish',
      now,
    );
    return;
  }
  const blueGreen = blueGreenRollout(state.live);
  if (blueGreen) {
    advanceBlueGreen(context, state, blueGreen, now);
    return;
  }
  const steps = canarySteps(state.live);
  if (steps) {
    state.rolloutStep = Math.min(state.rolloutStep, steps.length);
    // A pause without a duration waits for someone (resume or promote-full).
    const waits = (step: Json) =>
      step.pause && step.pause.duration === undefined;
    while (
      state.rolloutStep < steps.length &&
      !waits(steps[state.rolloutStep]) &&
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

/**
 * A blue/green Rollout runs the preview ReplicaSet beside the active one until it is
 * promoted: by someone (promote-full or resume) when autoPromotionEnabled is false,
 * else once the preview is up. `rolloutStep` 0 is "not promoted".
 */
function advanceBlueGreen(
  context: InstanceContext,
  state: AppState,
  rollout: any,
  now: number,
) {
  if (
    state.rolloutStep === 0 &&
    !waitsForPromotion(rollout) &&
    now - state.rolloutStepSince >= context.timing.rolloutStepMs
  ) {
    state.rolloutStep = Number.MAX_SAFE_INTEGER;
    context.touch();
  }
  if (state.rolloutStep > 0) {
    setHealth(context, state, 'Healthy', undefined, now);
  } else if (waitsForPromotion(rollout)) {
    setHealth(context, state, 'Suspended', 'Rollout is paused', now);
  } else {
    setHealth(
      context,
      state,
      'Progressing',
      'waiting for the preview to be promoted',
      now,
    );
  }
}

/** Argo Rollouts' status message for an aborted update (its RolloutAborted condition). */
export function rolloutAbortedMessage(state: AppState) {
  return `RolloutAborted: Rollout aborted update to revision ${state.history.length}`;
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
