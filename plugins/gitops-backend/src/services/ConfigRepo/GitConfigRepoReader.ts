import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { GitCredentialsResolver } from './gitCredentials';
import { gitHttpClient } from './gitHttp';

/** Files of a config repository at the commit a branch or tag named when read. */
export interface ConfigRepoFiles {
  commit: string;
  /** Contents by path; undefined for a path that is not in the repository. */
  files: Record<string, string | undefined>;
}

/**
 * Reads files of config repositories over Git smart HTTP: a shallow, single-branch
 * fetch of the wanted ref into a temporary directory, never a full clone. Works the
 * same with GitHub, GitLab and any Git server.
 */
export class GitConfigRepoReader {
  constructor(
    private readonly credentials: GitCredentialsResolver,
    private readonly timeoutMs: number,
  ) {}

  async readFiles(
    repoURL: string,
    ref: string,
    paths: string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<ConfigRepoFiles> {
    const dir = await fs.promises.mkdtemp(
      path.join(os.tmpdir(), 'gitops-read-'),
    );
    try {
      const auth = await this.credentials.forUrl(repoURL);
      await git.clone({
        fs,
        http: gitHttpClient(this.timeoutMs, options.signal),
        dir,
        url: repoURL,
        ref: ref === 'HEAD' ? undefined : ref,
        singleBranch: true,
        depth: 1,
        noCheckout: true,
        onAuth: () => auth ?? { cancel: true },
      });
      const commit = await git.resolveRef({ fs, dir, ref: 'HEAD' });
      const files: ConfigRepoFiles['files'] = {};
      for (const file of paths) {
        try {
          const { blob } = await git.readBlob({
            fs,
            dir,
            oid: commit,
            filepath: file,
          });
          files[file] = Buffer.from(blob).toString('utf8');
        } catch {
          files[file] = undefined;
        }
      }
      return { commit, files };
    } catch (error) {
      throw toSourceError(error, repoURL, ref);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }
}

function toSourceError(
  error: unknown,
  repoURL: string,
  ref: string,
): GitopsSourceError {
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
  if (status === 401)
    return new GitopsSourceError(
      'unauthorized',
      `${where} refused the credentials (401)`,
    );
  if (status === 403)
    return new GitopsSourceError('forbidden', `${where} denied access (403)`);
  if (status === 404)
    return new GitopsSourceError('not-found', `${where} was not found (404)`);
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
  if (status)
    return new GitopsSourceError(
      'upstream-error',
      `${where} answered ${status}`,
    );
  return new GitopsSourceError('unreachable', `${where} is unreachable`);
}
