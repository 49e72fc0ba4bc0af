import { Entity } from '@backstage/catalog-model';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  ChangeLog,
  EntityDeploymentStatus,
} from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { appRepositoryOf } from './appRepository';
import { ChangeLogService } from './ChangeLogService';

/**
 * The change log of one environment of an entity between two versions of its image
 * (`from` by default the version its values name now). Errors name the problem: an
 * unknown environment (404), a malformed app repository annotation (400), no app
 * repository or no image (409). What the repository's host answers is in the log.
 */
export async function entityChangeLog(
  changeLogs: ChangeLogService,
  entity: Entity,
  status: EntityDeploymentStatus,
  request: { environment: string; from?: string; to: string },
): Promise<ChangeLog> {
  const env = status.environments.find(
    e => e.environment === request.environment,
  );
  if (!env) {
    throw new NotFoundError(
      `${status.entityRef} has no environment "${
        request.environment
      }" (it has ${
        status.environments.map(e => e.environment).join(', ') || 'none'
      })`,
    );
  }
  let repository: string | undefined;
  try {
    repository = appRepositoryOf(entity);
  } catch (error) {
    if (error instanceof GitopsSourceError) throw new InputError(error.message);
    throw error;
  }
  if (!repository) {
    throw new ConflictError(
      `${status.entityRef} names no app repository: set the annotation gitops/app-repository (or backstage.io/source-location)`,
    );
  }
  const image =
    env.desired?.image?.repository ?? env.desired?.noVersionYet?.repository;
  const from =
    request.from ?? env.desired?.image?.tag ?? env.desired?.image?.digest;
  if (!image || !from) {
    throw new ConflictError(
      `The values of ${request.environment} name no image version to compare with`,
    );
  }
  return changeLogs.changeLog({ repository, image, from, to: request.to });
}
