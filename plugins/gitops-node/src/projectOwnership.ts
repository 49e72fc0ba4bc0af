import { Config } from '@backstage/config';
import { APPLICATION_ENTITY_ANNOTATION } from '@gitops-backstage/plugin-gitops-common';

/**
 * One Argo CD project that app-config hands to catalog owners: the Applications in it
 * may be written from entities those groups or users own, and the
 * `argocd:application:create` action creates Applications in it only for them, and only
 * towards the destinations listed.
 *
 * @public
 */
export interface ProjectOwnership {
  /** Argo CD project name. */
  name: string;
  /** Entity refs of the owners, e.g. `group:default/team-checkout`. */
  owners: string[];
  /**
   * Where its Applications may deploy; `namespace` may end in `*` (a prefix). None
   * listed: no destination is allowed for new Applications.
   */
  destinations: Array<{ server?: string; name?: string; namespace: string }>;
  /**
   * Repository URLs its Applications may use, as Argo CD's AppProject `sourceRepos`:
   * exact, or a glob whose `*` matches any characters. None listed: no repository is
   * allowed for writes or new Applications.
   */
  sourceRepos: string[];
}

const ENTITY_REF =
  /^[a-z][a-z0-9]*:[a-z0-9][a-z0-9-]*\/[a-zA-Z0-9][-a-zA-Z0-9_.]*$/;

/**
 * `gitops.projects`: which catalog owners own which Argo CD projects. Throws naming
 * the key when an entry is malformed, so a typo fails at start-up, not at the first
 * write.
 *
 * @public
 */
export function readProjectOwnership(config: Config): ProjectOwnership[] {
  const projects = config.getOptionalConfigArray('gitops.projects') ?? [];
  const seen = new Set<string>();
  return projects.map((project, i) => {
    const where = `gitops.projects[${i}]`;
    const name = project.getString('name');
    if (seen.has(name)) {
      throw new Error(`${where}.name: project ${name} is listed twice`);
    }
    seen.add(name);
    const owners = project.getStringArray('owners').map(owner => {
      const ref = owner.toLocaleLowerCase('en-US');
      if (!ENTITY_REF.test(ref)) {
        throw new Error(
          `${where}.owners: ${JSON.stringify(
            owner,
          )} is not a full entity ref such as group:default/team-a`,
        );
      }
      return ref;
    });
    const destinations = (
      project.getOptionalConfigArray('destinations') ?? []
    ).map((d, j) => {
      const destination = {
        server: d.getOptionalString('server'),
        name: d.getOptionalString('name'),
        namespace: d.getString('namespace'),
      };
      if (!destination.server === !destination.name) {
        throw new Error(
          `${where}.destinations[${j}]: give the cluster as server or as name (one of them)`,
        );
      }
      return destination;
    });
    const sourceRepos = project.getOptionalStringArray('sourceRepos') ?? [];
    return { name, owners, destinations, sourceRepos };
  });
}

/**
 * Whether `project` is handed to one of `ownershipRefs` (the entity's owner, or the
 * ownership refs of a user).
 *
 * @public
 */
export function projectOwnedBy(
  projects: ProjectOwnership[],
  project: string | undefined,
  ownershipRefs: string[],
): boolean {
  const refs = new Set(ownershipRefs.map(r => r.toLocaleLowerCase('en-US')));
  return projects.some(
    p => p.name === project && p.owners.some(owner => refs.has(owner)),
  );
}

/**
 * Whether `destination` (an Application's `spec.destination`) is one `project` lists:
 * the same cluster (server, or name, compared exactly) and the same namespace, or one
 * starting with the listed prefix when the listed namespace ends in `*`.
 *
 * @public
 */
export function destinationAllowed(
  project: ProjectOwnership,
  destination: { server?: string; name?: string; namespace?: string },
): boolean {
  const namespace = destination.namespace ?? '';
  return project.destinations.some(allowed => {
    const cluster = allowed.server
      ? destination.server === allowed.server && !destination.name
      : destination.name === allowed.name && !destination.server;
    const inNamespace = allowed.namespace.endsWith('*')
      ? namespace.startsWith(allowed.namespace.slice(0, -1))
      : namespace === allowed.namespace;
    return cluster && namespace !== '' && inNamespace;
  });
}

/**
 * Whether `project` lists `repoURL` among its `sourceRepos`, as Argo CD's AppProject
 * does: an exact URL, or a glob whose `*` matches any characters (`/` too). Both are
 * compared normalised: a trailing `.git` or `/` is ignored, scheme and host are
 * case-insensitive. A project without `sourceRepos` allows none.
 *
 * @public
 */
export function sourceRepoAllowed(
  project: ProjectOwnership,
  repoURL: string,
): boolean {
  const url = normalizeRepoUrl(repoURL);
  return (
    url !== '' &&
    project.sourceRepos.some(pattern => {
      const glob = normalizeRepoUrl(pattern)
        .split('*')
        .map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      return new RegExp(`^${glob}$`).test(url);
    })
  );
}

/** A repository URL without a trailing `.git` or `/`, its scheme and host lower-cased. */
function normalizeRepoUrl(repoURL: string): string {
  const url = repoURL
    .trim()
    .replace(/\/+$/, '')
    .replace(/\.git$/i, '');
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, origin =>
    origin.toLocaleLowerCase('en-US'),
  );
}

/**
 * Whether `ref` is a full entity ref (`kind:namespace/name`, compared lower-cased).
 *
 * @public
 */
export function isEntityRef(ref: string): boolean {
  return ENTITY_REF.test(ref.toLocaleLowerCase('en-US'));
}

/**
 * The entity ref an Application names as its own (annotation
 * `gitops.backstage.io/entity-ref`), lower-cased; undefined when it names none.
 *
 * @public
 */
export function applicationEntityRef(application: {
  metadata?: { annotations?: Record<string, string> | null };
}): string | undefined {
  const value =
    application.metadata?.annotations?.[APPLICATION_ENTITY_ANNOTATION]?.trim();
  return value ? value.toLocaleLowerCase('en-US') : undefined;
}
