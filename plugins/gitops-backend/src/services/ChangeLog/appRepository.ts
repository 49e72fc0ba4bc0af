import { Entity } from '@backstage/catalog-model';
import { APP_REPOSITORY_ANNOTATION } from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';

const SOURCE_LOCATION = 'backstage.io/source-location';
/** Where the catalog read the entity from: set by the catalog, not by the entity's author. */
const MANAGED_BY_LOCATION = 'backstage.io/managed-by-location';

/**
 * The entity's app repository as a clone URL: `gitops/app-repository`, else its
 * `backstage.io/source-location` with the web UI's `/tree/<branch>/…` left out.
 * Undefined when it names none; a malformed one is an `invalid-annotation` error.
 *
 * The backend reads it with its own credentials, so an author must not point it at a
 * repository of someone else's: an entity registered from a URL may name only the
 * repository its catalog file lives in (`…/org/app/blob/main/catalog-info.yaml` for
 * `…/org/app`); one from a `file:` location is the portal's own config.
 */
export function appRepositoryOf(entity: Entity): string | undefined {
  const annotations = entity.metadata.annotations ?? {};
  const own = annotations[APP_REPOSITORY_ANNOTATION];
  const location = annotations[SOURCE_LOCATION];
  let url: string;
  let annotation: string;
  if (own !== undefined) {
    url = checked(own.trim(), APP_REPOSITORY_ANNOTATION);
    annotation = APP_REPOSITORY_ANNOTATION;
  } else if (location?.startsWith('url:')) {
    url = checked(
      location
        .slice('url:'.length)
        .replace(/\/(-\/)?(tree|blob|src)\/.*$/, '')
        .replace(/\/+$/, ''),
      SOURCE_LOCATION,
    );
    annotation = SOURCE_LOCATION;
  } else {
    return undefined;
  }
  const managedBy = annotations[MANAGED_BY_LOCATION];
  if (managedBy?.startsWith('url:')) {
    const from = new URL(managedBy.slice('url:'.length));
    const repository = new URL(url);
    const path = repository.pathname.replace(/(\.git)?\/*$/, '');
    if (
      from.host !== repository.host ||
      !from.pathname.startsWith(`${path}/`)
    ) {
      throw new GitopsSourceError(
        'invalid-annotation',
        `${annotation} names ${url}, but the entity was registered from ${from}: an entity may name only the repository its catalog file is in`,
      );
    }
  }
  return url;
}

function checked(url: string, annotation: string) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GitopsSourceError(
      'invalid-annotation',
      `${annotation} "${url}" is not a URL`,
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new GitopsSourceError(
      'invalid-annotation',
      `${annotation} must be an http(s) URL of a Git repository`,
    );
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) {
    throw new GitopsSourceError(
      'invalid-annotation',
      `${annotation} must be a plain repository URL, with no credentials, query or fragment`,
    );
  }
  return url;
}
