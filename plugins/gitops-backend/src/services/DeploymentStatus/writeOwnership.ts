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
  redactUrl,
  sourceRepoAllowed,
} from '@gitops-backstage/plugin-gitops-node';
import { ListedApplication } from '../applicationSchema';
import { valuesFiles } from './desiredState';

/**
 * Whether an entity may write (sync, refresh, roll back, promote into) an Application
 * its annotations found. Reads follow the entity's annotations, as the peers' plugins
 * do; writes need more than the entity's word, since anyone may register an entity:
 *
 * - the entity's selector pins a label (a match-all one such as `!x` picks
 *   Applications nobody chose), and
 * - the Application names the entity (annotation `gitops.backstage.io/entity-ref`), or
 *   app-config hands the Application's Argo CD project to the entity's owner
 *   (`gitops.projects`), and
 * - when app-config lists its project, every repository a write would touch is among
 *   the project's `sourceRepos` (an Application may point at any repository, and the
 *   portal writes with its own Git credentials).
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
  if (named === entityRef) return sourceRepoRefusal(app, projects);
  const owner = ownerRefOf(entity);
  if (owner && projectOwnedBy(projects, app.spec.project, [owner])) {
    return sourceRepoRefusal(app, projects);
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

/**
 * Why a write may not touch the repositories of an Application whose project
 * app-config lists: the chart's repository and the one holding its values files
 * (a multi-source `ref`) must be among the project's `sourceRepos`. Applications of
 * projects it does not list are left to Argo CD's own AppProject `sourceRepos`.
 */
function sourceRepoRefusal(
  app: ListedApplication,
  projects: ProjectOwnership[],
): string | undefined {
  const project = projects.find(p => p.name === app.spec.project);
  if (!project) return undefined;
  const outside = writtenRepos(app).find(
    repoURL => !sourceRepoAllowed(project, repoURL),
  );
  if (outside === undefined) return undefined;
  const where = `gitops.projects[${project.name}]`;
  const why = project.sourceRepos.length
    ? `it is not among the sourceRepos of ${where} (${project.sourceRepos
        .map(redactUrl)
        .join(', ')})`
    : `${where} lists no sourceRepos, so it allows no repository: add sourceRepos to ${where}`;
  return `Application ${app.metadata.name} uses repository ${redactUrl(
    outside,
  )}, which its Argo CD project ${
    project.name
  } may not use (gitops.projects[].sourceRepos): ${why}`;
}

/** The repositories a promotion or rollback through Git would write: those holding its values files. */
function writtenRepos(app: ListedApplication): string[] {
  const sources =
    app.spec.sources ?? (app.spec.source ? [app.spec.source] : []);
  const chart = sources.find(s => s.path !== undefined);
  const repos = chart
    ? valuesFiles(chart, sources).map(f => f.source.repoURL)
    : sources.map(s => s.repoURL);
  return [...new Set(repos)];
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
