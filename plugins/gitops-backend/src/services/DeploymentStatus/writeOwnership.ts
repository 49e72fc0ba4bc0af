import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import {
  APPLICATION_ENTITY_ANNOTATION,
  ApplicationLocator,
  ARGOCD_ANNOTATIONS,
  EnvironmentStatus,
  labelSelectorPinnedKeys,
} from '@gitops-backstage/plugin-gitops-common';
import {
  applicationEntityRef,
  ProjectOwnership,
  projectOwnedBy,
} from '@gitops-backstage/plugin-gitops-node';
import { ListedApplication } from '../applicationSchema';

/**
 * Whether an entity may write (sync, refresh, roll back, promote into) an Application
 * its annotations found. Reads follow the entity's annotations, as the peers' plugins
 * do; writes need more than the entity's word, since anyone may register an entity:
 *
 * - the entity's selector pins a label (a match-all one such as `!x` picks
 *   Applications nobody chose), and
 * - the Application names the entity (annotation `gitops.backstage.io/entity-ref`), or
 *   app-config hands the Application's Argo CD project to the entity's owner
 *   (`gitops.projects`).
 *
 * Answers the reason it may not, or undefined when it may.
 */
export function writeRefusal(options: {
  entity: Entity;
  locator: ApplicationLocator;
  app: ListedApplication;
  projects: ProjectOwnership[];
}): string | undefined {
  const { entity, locator, app, projects } = options;
  const entityRef = stringifyEntityRef(entity).toLocaleLowerCase('en-US');
  if (app.malformed) {
    return `Application ${app.metadata.name} could not be read, so it is not changed from here: ${app.malformed}`;
  }
  if (
    locator.kind === 'selector' &&
    labelSelectorPinnedKeys(locator.selector).length === 0
  ) {
    return `${ARGOCD_ANNOTATIONS.appSelector} "${locator.selector}" of ${entityRef} pins no label (it needs a key=value or key in (...) term), so it matches Applications nobody chose: they are shown, not changed from here`;
  }
  const named = applicationEntityRef(app);
  if (named === entityRef) return undefined;
  const owner = ownerRefOf(entity);
  if (owner && projectOwnedBy(projects, app.spec.project, [owner])) {
    return undefined;
  }
  const naming = named
    ? `names ${named}, not ${entityRef}`
    : `does not name ${entityRef}`;
  const project = `its project ${app.spec.project || '(none)'}`;
  return `Application ${
    app.metadata.name
  } ${naming} (annotation ${APPLICATION_ENTITY_ANNOTATION}) and ${
    owner
      ? `${project} is not handed to ${owner} in gitops.projects`
      : `${entityRef} has no owner to whom gitops.projects could hand ${project}`
  }`;
}

/** Refuses (403, with the reason) a write to an environment its entity may not write. */
export function assertWritable(env: EnvironmentStatus): void {
  if (!env.writable) {
    throw new NotAllowedError(
      env.notWritableReason ??
        `Application ${env.application.name} may not be changed from here`,
    );
  }
}

/** The entity's owner as a full ref (kind `group`, the entity's namespace by default). */
function ownerRefOf(entity: Entity): string | undefined {
  const owner = entity.spec?.owner;
  if (typeof owner !== 'string' || !owner) return undefined;
  try {
    return stringifyEntityRef(
      parseEntityRef(owner, {
        defaultKind: 'group',
        defaultNamespace: entity.metadata.namespace ?? 'default',
      }),
    ).toLocaleLowerCase('en-US');
  } catch {
    return undefined;
  }
}
