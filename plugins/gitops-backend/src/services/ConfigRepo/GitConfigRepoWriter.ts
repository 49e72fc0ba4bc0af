import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import {
  ConfigRepoWriter,
  GitopsSourceError,
  ValuesFileChange,
  ValuesFileWriteResult,
} from '@gitops-backstage/plugin-gitops-node';
import { GitCredentialsResolver } from './gitCredentials';
import { GitConfigRepoReader } from './GitConfigRepoReader';
import { PushRejectedError, withShallowClone } from './shallowClone';

const ATTEMPTS = 3;

/**
 * Writes values files of config repositories on any Git server over smart HTTP: a
 * shallow, single-branch fetch, one commit, a push; when someone pushed first
 * (non-fast-forward) it starts again from the new head. Never a full clone.
 */
export class GitConfigRepoWriter implements ConfigRepoWriter {
  readonly id = 'git';
  private readonly reader: GitConfigRepoReader;

  constructor(
    private readonly credentials: GitCredentialsResolver,
    private readonly timeoutMs: number,
  ) {
    this.reader = new GitConfigRepoReader(credentials, timeoutMs);
  }

  supports(repoURL: string) {
    return /^https?:\/\//.test(repoURL);
  }

  async read(
    location: { repoURL: string; branch: string; file: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<string> {
    const { repoURL, branch, file } = location;
    const { files } = await this.reader.readFiles(
      repoURL,
      branch,
      [file],
      options,
    );
    const text = files[file];
    if (text === undefined) throw missingFile(location);
    return text;
  }

  async commit(
    change: ValuesFileChange,
    options: { signal?: AbortSignal } = {},
  ): Promise<ValuesFileWriteResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(change, options.signal);
      } catch (error) {
        // Someone pushed first: start again from the new head, a few times.
        if (!(error instanceof PushRejectedError) || attempt >= ATTEMPTS)
          throw error;
      }
    }
  }

  private attempt(
    change: ValuesFileChange,
    signal?: AbortSignal,
  ): Promise<ValuesFileWriteResult> {
    return withShallowClone(
      {
        credentials: this.credentials,
        timeoutMs: this.timeoutMs,
        repoURL: change.repoURL,
        ref: change.branch,
        checkout: true,
        signal,
      },
      async ({ dir, git: remote }) => {
        const file = path.join(dir, change.file);
        const before = await fs.promises.readFile(file, 'utf8').catch(() => {
          throw missingFile({ ...change });
        });
        const after = change.edit(before);
        if (after === before) return { before, after };

        await fs.promises.writeFile(file, after);
        await git.add({ fs, dir, filepath: change.file });
        const commit = await git.commit({
          fs,
          dir,
          message: change.message,
          author: change.author,
        });
        await git.push({ ...remote, ref: change.branch, remote: 'origin' });
        return { before, after, commit };
      },
    );
  }
}

function missingFile(location: {
  repoURL: string;
  branch: string;
  file: string;
}) {
  return new GitopsSourceError(
    'not-found',
    `${location.file} is not in ${location.repoURL} at ${location.branch}`,
  );
}
