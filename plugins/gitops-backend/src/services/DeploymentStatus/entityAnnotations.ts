import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  ApplicationLocator,
  ChartVersions,
  ENVIRONMENTS_ANNOTATION,
  EnvironmentStatus,
  readApplicationLocator,
  readChartVersionLocation,
} from '@gitops-backstage/plugin-gitops-common';
import { ApplicationQuery } from '@gitops-backstage/plugin-gitops-node';

/** What an entity's annotations say about its Applications: which ones, in what order, how many. */

/** The entity's Argo CD annotations as a locator; 404 without them, 400 when malformed. */
export function locatorOf(entity: Entity): ApplicationLocator {
  try {
    const locator = readApplicationLocator(entity.metadata.annotations);
    if (!locator) {
      throw new NotFoundError(
        `${stringifyEntityRef(
          entity,
        )} has no argocd/app-selector or argocd/app-name annotation`,
      );
    }
    return locator;
  } catch (error) {
    if (error instanceof NotFoundError) throw error;
    throw new InputError((error as Error).message);
  }
}

/** The entity's own pipeline order (`gitops/environments`), else the configured one. */
export function environmentOrder(
  entity: Entity,
  configured: string[],
): string[] {
  const own = entity.metadata.annotations?.[ENVIRONMENTS_ANNOTATION];
  const listed = own
    ?.split(',')
    .map(e => e.trim())
    .filter(Boolean);
  return listed?.length ? listed : configured;
}

/**
 * Why an entity that names or matches `count` Applications is refused, when that is
 * more than `gitops.maxApplicationsPerEntity`: each would cost a Git read and a
 * Rollout call.
 */
export function tooManyApplications(
  max: number,
  entityRef: string,
  count: number,
  what: 'names' | 'matches',
): string | undefined {
  if (count <= max) return undefined;
  return `${entityRef} ${what} ${count} Applications, more than gitops.maxApplicationsPerEntity (${max}); narrow its ${
    what === 'names'
      ? 'argocd/app-name list'
      : 'argocd/app-selector or argocd/app-name'
  }`;
}

export function queryOf(locator: ApplicationLocator): ApplicationQuery {
  return locator.kind === 'names'
    ? { names: locator.names, appNamespace: locator.appNamespace }
    : {
        selector: locator.selector,
        projects: locator.projects,
        appNamespace: locator.appNamespace,
      };
}

/** Environments in pipeline order; unknown ones after, by name. */
export function sortByOrder(
  environments: EnvironmentStatus[],
  order: string[],
) {
  const rank = (e: EnvironmentStatus) => {
    const i = order.indexOf(e.environment);
    return i < 0 ? order.length : i;
  };
  return [...environments].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      a.environment.localeCompare(b.environment) ||
      a.instance.localeCompare(b.instance),
  );
}

/** The chart's versions with where Git pins them, as the entity says. */
export function withPinnedAt(
  chart: ChartVersions,
  entity: Entity,
  env: EnvironmentStatus,
): ChartVersions {
  try {
    const pinnedAt = readChartVersionLocation(
      entity.metadata.annotations,
      env.environment,
    );
    return { ...chart, pinnedAt };
  } catch (error) {
    return {
      ...chart,
      error: chart.error ?? {
        code: 'invalid-annotation',
        message: (error as Error).message,
      },
    };
  }
}
