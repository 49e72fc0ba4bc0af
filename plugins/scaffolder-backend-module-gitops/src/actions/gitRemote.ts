import fs from 'node:fs';
import { InputError } from '@backstage/errors';
import {
  GitCredentials,
  GitCredentialsResolver,
  gitHttpClient,
  redactUrl,
  upstreamAnswer,
} from '@gitops-backstage/plugin-gitops-node';
import git from 'isomorphic-git';
import { quoted } from './workspacePath';

const TIMEOUT_MS = 30_000;
/** Longer URLs are refused before any request: servers answer them with 414 or 431. */
const MAX_URL_LENGTH = 2048;

/**
 * Throws an InputError naming `key` unless `value` is a branch name git takes, of
 * letters, digits and `._/-` (no `..`: a ref is also a file under `.git/refs`), before
 * anything is created or pushed.
 */
export function checkBranchName(value: string, key: string): void {
  if (
    !/^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/.test(value) ||
    /\.\.|\/\/|\/\.|\.lock$|[./]$/.test(value)
  ) {
    throw new InputError(
      `${key} ${quoted(
        value,
      )} is not a branch name: letters, digits, '.', '_', '-' and '/', without '..', '//', '/.' or a trailing '/', '.' or '.lock'`,
    );
  }
}

/**
 * A repository or API URL from a template: http(s), without credentials in it (they
 * would land in outputs and logs; the portal has its own). Throws an InputError
 * naming `key`.
 */
export function checkRemoteUrl(value: string, key: string): URL {
  if (value.length > MAX_URL_LENGTH) {
    throw new InputError(
      `${key} is longer than ${MAX_URL_LENGTH} characters: ${redactUrl(
        value.slice(0, 80),
      )}…`,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`${key} is not a URL: ${redactUrl(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(`${key} must be http(s), got ${redactUrl(value)}`);
  }
  if (url.username || url.password) {
    throw new InputError(
      `${key} must not carry credentials (user:password@): ${redactUrl(
        value,
      )}; the portal uses the ones configured for its server`,
    );
  }
  return url;
}

/**
 * The credentials configured for the server of `url` (only its own: never another
 * server's), or an error saying where to configure them.
 */
export async function credentialsFor(
  credentials: GitCredentialsResolver,
  url: string,
): Promise<GitCredentials> {
  const auth = await credentials.forUrl(url);
  if (!auth) {
    const { host } = new URL(url);
    throw new InputError(
      `No Git credentials for ${host}: credentials go only to the server they are configured for; add them to gitops.git.credentials (host: ${host}) or a Backstage integration`,
    );
  }
  return auth;
}

/** A Git server refused the credentials: names the host and where to fix them. */
export function refusedCredentials(status: number, url: string) {
  const { host } = new URL(url);
  return new Error(
    `Git server ${host} refused the credentials (${status}) for ${redactUrl(
      url,
    )}; check gitops.git.credentials for host ${host} or the integration`,
  );
}

/**
 * A Git failure as an error that says what failed and where, and nothing the server
 * answered beyond a status line: a server may echo anything back.
 */
export function gitFailure(
  error: unknown,
  repoUrl: string,
  auth: GitCredentials | undefined,
): Error {
  const e = error as {
    code?: string;
    message?: string;
    data?: { statusCode?: number };
    cause?: { code?: string };
  };
  const url = redactUrl(repoUrl);
  const { host } = new URL(repoUrl);
  const status = e.data?.statusCode;
  if (status === 401 || status === 403) {
    return refusedCredentials(status, repoUrl);
  }
  if (status) return new Error(`Git server answered ${status} for ${url}`);
  if (e.code === 'GitRedirectRefusedError') return new Error(e.message);
  if (e.code === 'PushRejectedError' || e.code === 'GitPushError') {
    return new Error(
      `Git server ${host} rejected the push to ${url} (${upstreamAnswer(
        0,
        e.message,
        [auth?.password],
      ).replace(/^0: /, '')})`,
    );
  }
  if (e.code === 'NotFoundError') {
    return new InputError(`${url} has no such branch or ref`);
  }
  if (e.code === 'UserCanceledError') {
    return new Error(`Git server ${host} wants credentials for ${url}`);
  }
  const code = e.cause?.code;
  if (e.message === 'fetch failed') {
    return new Error(
      `Git server ${host} is unreachable at ${url}${code ? ` (${code})` : ''}`,
    );
  }
  if ((error as Error).name === 'TimeoutError') {
    return new Error(`Git server ${host} did not answer in time at ${url}`);
  }
  return new Error(`Git failed for ${url}: ${e.code ?? 'unknown error'}`);
}

/** What isomorphic-git needs to reach `url` with `auth`, and only `auth`. */
function remote(auth: GitCredentials) {
  return {
    fs,
    http: gitHttpClient(TIMEOUT_MS),
    onAuth: () => auth,
  };
}

/**
 * The refs a repository advertises (what `git ls-remote` lists), or undefined when the
 * server has no such repository (404). Refused credentials and an unreachable server
 * are errors that name the server.
 */
export async function remoteRefs(
  repoUrl: string,
  auth: GitCredentials,
  prefix?: string,
): Promise<string[] | undefined> {
  try {
    const refs = await git.listServerRefs({
      ...remote(auth),
      url: repoUrl,
      prefix,
    });
    return refs.map(r => r.ref);
  } catch (error) {
    const status = (error as { data?: { statusCode?: number } }).data
      ?.statusCode;
    if (status === 404) return undefined;
    throw gitFailure(error, repoUrl, auth);
  }
}

/** Author and committer of the commits the actions make. */
export interface GitAuthor {
  name: string;
  email: string;
}

/**
 * Makes `dir` a repository whose one commit on `branch` holds its files, and pushes
 * it to `repoUrl` (as `git init && git add . && git commit && git push`).
 */
export async function pushNewRepository(options: {
  dir: string;
  repoUrl: string;
  auth: GitCredentials;
  branch: string;
  message: string;
  author: GitAuthor;
}): Promise<string> {
  await git.init({ fs, dir: options.dir, defaultBranch: options.branch });
  return commitAllAndPush(options);
}

/** A depth-1 clone of `ref` of `repoUrl` into `dir`. */
export async function shallowClone(options: {
  dir: string;
  repoUrl: string;
  auth: GitCredentials;
  ref: string;
}) {
  const { dir, repoUrl, auth, ref } = options;
  try {
    await git.clone({
      ...remote(auth),
      dir,
      url: repoUrl,
      ref,
      singleBranch: true,
      depth: 1,
    });
  } catch (error) {
    throw gitFailure(error, repoUrl, auth);
  }
}

/**
 * In a clone, a new branch `branch` with one commit of what the working tree adds,
 * pushed to the clone's remote.
 */
export async function commitAndPushBranch(options: {
  dir: string;
  repoUrl: string;
  auth: GitCredentials;
  branch: string;
  message: string;
  author: GitAuthor;
}): Promise<string> {
  await git.branch({
    fs,
    dir: options.dir,
    ref: options.branch,
    checkout: true,
  });
  return commitAllAndPush(options);
}

/** One commit of everything in the working tree on the checked-out `branch`, pushed. */
async function commitAllAndPush(options: {
  dir: string;
  repoUrl: string;
  auth: GitCredentials;
  branch: string;
  message: string;
  author: GitAuthor;
}): Promise<string> {
  const { dir, repoUrl, auth, branch, message, author } = options;
  await git.add({ fs, dir, filepath: '.' });
  const commitHash = await git.commit({
    fs,
    dir,
    message,
    author,
    committer: author,
  });
  try {
    await git.push({
      ...remote(auth),
      dir,
      url: repoUrl,
      ref: branch,
      remoteRef: `refs/heads/${branch}`,
    });
  } catch (error) {
    throw gitFailure(error, repoUrl, auth);
  }
  return commitHash;
}
