import { EntityDeploymentStatus } from '@gitops-backstage/plugin-gitops-common';

/** The environments in pipeline order; those beyond the configured order follow. */
export function pipelineEnvironments(status: EntityDeploymentStatus): string[] {
  return [
    ...status.environmentOrder,
    ...status.environments.map(e => e.environment),
  ].filter((e, i, all) => all.indexOf(e) === i);
}

/**
 * The environment a promotion ends in (production, as a rule): the configured order's
 * last, else the pipeline's. Writes to it ask for an explicit confirmation.
 */
export function lastEnvironment(
  status: EntityDeploymentStatus,
): string | undefined {
  return status.environmentOrder.at(-1) ?? pipelineEnvironments(status).at(-1);
}
