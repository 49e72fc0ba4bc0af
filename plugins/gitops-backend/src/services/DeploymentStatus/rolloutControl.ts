import { ConflictError, InputError } from '@backstage/errors';
import {
  EnvironmentStatus,
  ROLLOUT_ACTIONS,
  RolloutAction,
} from '@gitops-backstage/plugin-gitops-common';
import { GitopsLiveStateSource } from '@gitops-backstage/plugin-gitops-node';
import { z } from 'zod';
import { parse } from '../../requestChecks';
import { rolloutProgress } from './liveState';

export const rolloutControlBody = z.object({ action: z.enum(ROLLOUT_ACTIONS) });

/**
 * Runs an Argo CD Rollout action on the environment's Rollout. Whether the action is
 * possible is checked against the Rollout as Argo CD shows it now, not a cached view,
 * so a second click on a stale button gets a 409 saying why rather than a second abort.
 */
export async function controlRollout(
  located: {
    env: EnvironmentStatus;
    source: GitopsLiveStateSource;
    application: { name: string; namespace?: string };
  },
  body: unknown,
): Promise<{ action: RolloutAction; rollout: string }> {
  const { action } = parse(rolloutControlBody, body);
  const { env, source, application } = located;
  const shown = env.live.rollout;
  if (!shown) {
    throw new InputError(
      `${application.name} (${env.environment}) runs no Argo Rollouts Rollout`,
    );
  }
  if (!source.getResource || !source.runResourceAction) {
    throw new InputError(`Instance "${source.id}" cannot run Rollout actions`);
  }
  const ref = {
    group: 'argoproj.io',
    version: 'v1alpha1',
    kind: 'Rollout',
    namespace: shown.namespace ?? '',
    name: shown.name,
  };
  const now = rolloutProgress(await source.getResource(application, ref));
  if (!now?.actions.includes(action)) {
    const state = now?.aborted ? 'aborted' : now?.phase ?? 'unknown';
    throw new ConflictError(
      `${action} is not possible now for Rollout ${shown.name} in ${
        env.environment
      } (${state}); possible now: ${now?.actions.join(', ') || 'nothing'}`,
    );
  }
  await source.runResourceAction(application, ref, action);
  return { action, rollout: shown.name };
}
