import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { GitCredentialsResolver } from './gitCredentials';
import { gitHttpClient } from './gitHttp';

/** A shallow clone in a temporary directory, and what isomorphic-git needs to use it. */
export interface Clone {
  dir: string;
  /** fs, http (with the timeout), dir and auth, for further isomorphic-git calls. */
  git: {
    fs: typeof fs;
    dir: string;
    http: ReturnType<typeof gitHttpClient>;
    onAuth: () => { username: string; password: string } | { cancel: true };
  };
}

/**
 * Runs `work` on a shallow (depth 1), single-branch clone of `ref` in a temporary
 * directory that is removed afterwards — never a full clone. Git failures come out as
 * GitopsSourceError codes that name the repository.
 */
export async function withShallowClone<T>(
  options: {
    credentials: GitCredentialsResolver;
    timeoutMs: number;
    repoURL: string;
    ref: string;
    checkout: boolean;
    signal?: AbortSignal;
  },
  work: (clone: Clone) => Promise<T>,
): Promise<T> {
  const { repoURL, ref } = options;
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'gitops-git-'));
  try {
    const auth = await options.credentials.forUrl(repoURL);
    const common: Clone['git'] = {
      fs,
      dir,
      http: gitHttpClient(options.timeoutMs, options.signal),
      onAuth: () => auth ?? { cancel: true },
    };
    await git.clone({
      ...common,
      url: repoURL,
      ref: ref === 'HEAD' ? undefined : ref,
      singleBranch: true,
      depth: 1,
      noCheckout: !options.checkout,
    });
    return await work({ dir, git: common });
  } catch (error) {
    throw gitSourceError(error, repoURL, ref);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** The push lost a race: someone pushed first (non-fast-forward). */
export class PushRejectedError extends GitopsSourceError {
  constructor(message: string) {
    super('upstream-error', message);
  }
}

/** A Git failure as a GitopsSourceError code, naming the repository. */
export function gitSourceError(
  error: unknown,
  repoURL: string,
  ref: string,
): GitopsSourceError {
  if (error instanceof GitopsSourceError) return error;
  const e = error as {
    code?: string;
    name?: string;
    data?: { statusCode?: number };
  };
  const where = `config repository ${repoURL}`;
  if (e.name === 'TimeoutError') {
    return new GitopsSourceError('timeout', `${where} did not answer in time`);
  }
  const status = e.data?.statusCode;
  if (status === 401) {
    return new GitopsSourceError(
      'unauthorized',
      `${where} refused the credentials (401)`,
    );
  }
  if (status === 403) {
    return new GitopsSourceError('forbidden', `${where} denied access (403)`);
  }
  if (status === 404) {
    return new GitopsSourceError('not-found', `${where} was not found (404)`);
  }
  if (e.code === 'UserCanceledError') {
    return new GitopsSourceError(
      'unauthorized',
      `${where} needs credentials; none are configured for its host`,
    );
  }
  if (e.code === 'NotFoundError' || e.code === 'RemoteBranchNotFoundError') {
    return new GitopsSourceError(
      'not-found',
      `${where} has no branch or tag "${ref}"`,
    );
  }
  if (e.code === 'PushRejectedError') {
    return new PushRejectedError(
      `${where} rejected the push: ${(error as Error).message}`,
    );
  }
  if (status) {
    return new GitopsSourceError(
      'upstream-error',
      `${where} answered ${status}`,
    );
  }
  return new GitopsSourceError('unreachable', `${where} is unreachable`);
}
