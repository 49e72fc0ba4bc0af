import { Entity } from '@backstage/catalog-model';
import { APP_REPOSITORY_ANNOTATION } from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';

const SOURCE_LOCATION = 'backstage.io/source-location';

/**
 * The entity's app repository as a clone URL: `gitops/app-repository`, else its
 * `backstage.io/source-location` with the web UI's `/tree/<branch>/…` left out.
 * Undefined when it names none; a malformed one is an `invalid-annotation` error.
 */
export function appRepositoryOf(entity: Entity): string | undefined {
  const annotations = entity.metadata.annotations ?? {};
  const own = annotations[APP_REPOSITORY_ANNOTATION];
  if (own !== undefined) return checked(own.trim(), APP_REPOSITORY_ANNOTATION);
  const location = annotations[SOURCE_LOCATION];
  if (!location?.startsWith('url:')) return undefined;
  const url = location
    .slice('url:'.length)
    .replace(/\/(-\/)?(tree|blob|src)\/.*$/, '')
    .replace(/\/+$/, '');
  return checked(url, SOURCE_LOCATION);
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
