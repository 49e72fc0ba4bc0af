import {
  ApplicationLocator,
  ENVIRONMENT_LABEL,
  EnvironmentStatus,
} from '@gitops-backstage/plugin-gitops-common';
import { Entity } from '@backstage/catalog-model';
import { GitopsLiveStateSource } from '@gitops-backstage/plugin-gitops-node';
import { GitopsConfig } from '../../config';
import { ListedApplication } from '../applicationSchema';
import { liveState } from './liveState';
import { writeRefusal } from './writeOwnership';

/**
 * One listed Application as an environment of the entity: its name (label
 * `gitops/environment`, else the configured fallback), live state, whether the entity may
 * write it, and what was malformed.
 */
export function environmentStatusOf(
  source: GitopsLiveStateSource,
  app: ListedApplication,
  entity: Entity,
  locator: ApplicationLocator,
  config: Pick<GitopsConfig, 'environmentFallback' | 'projects'>,
): EnvironmentStatus {
  const namespace = app.metadata.namespace ?? 'argocd';
  const environment =
    app.metadata.labels?.[ENVIRONMENT_LABEL] ??
    (config.environmentFallback === 'instance'
      ? source.id
      : app.spec.destination.namespace ?? source.id);
  const notWritableReason = writeRefusal({
    entity,
    locator,
    app,
    projects: config.projects,
  });
  return {
    environment,
    instance: source.id,
    application: {
      name: app.metadata.name,
      namespace,
      project: app.spec.project,
      ...(source.frontendUrl && {
        url: `${source.frontendUrl}/applications/${encodeURIComponent(
          namespace,
        )}/${encodeURIComponent(app.metadata.name)}`,
      }),
    },
    live: liveState(app),
    writable: !notWritableReason,
    ...(notWritableReason && { notWritableReason }),
    ...(app.malformed && {
      error: { code: 'invalid-response' as const, message: app.malformed },
    }),
  };
}
