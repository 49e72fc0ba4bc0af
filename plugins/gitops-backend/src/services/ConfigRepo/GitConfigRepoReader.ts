import fs from 'node:fs';
import git from 'isomorphic-git';
import { GitCredentialsResolver } from './gitCredentials';
import { withShallowClone } from './shallowClone';

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

  readFiles(
    repoURL: string,
    ref: string,
    paths: string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<ConfigRepoFiles> {
    return withShallowClone(
      {
        credentials: this.credentials,
        timeoutMs: this.timeoutMs,
        repoURL,
        ref,
        checkout: false,
        signal: options.signal,
      },
      async ({ dir }) => {
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
      },
    );
  }
}
