import { parseImageReference } from '@gitops-backstage/plugin-gitops-common';
import { DateTime } from 'luxon';

/** The version part of an image: its tag, else a short digest. */
export function versionOf(image: string): string {
  const ref = parseImageReference(image);
  return ref.tag ?? ref.digest?.slice(0, 19) ?? 'latest';
}

export function shortSha(revision: string): string {
  return /^[0-9a-f]{40}$/.test(revision) ? revision.slice(0, 7) : revision;
}

/** The commit's page on known Git hosts; undefined where there is none. */
export function commitUrl(
  repoURL: string,
  revision: string,
): string | undefined {
  let url: URL;
  try {
    url = new URL(repoURL);
  } catch {
    return undefined;
  }
  const base = `${url.origin}${url.pathname
    .replace(/\.git$/, '')
    .replace(/\/$/, '')}`;
  if (url.hostname.includes('github')) return `${base}/commit/${revision}`;
  if (url.hostname.includes('gitlab')) return `${base}/-/commit/${revision}`;
  if (url.hostname === 'bitbucket.org') return `${base}/commits/${revision}`;
  return undefined;
}

export function relativeTime(iso: string): { relative: string; exact: string } {
  const time = DateTime.fromISO(iso);
  return {
    relative: time.toRelative() ?? iso,
    exact: time.toLocaleString(DateTime.DATETIME_FULL_WITH_SECONDS),
  };
}
