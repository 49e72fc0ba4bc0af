import fs from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import git from 'isomorphic-git';
import { setYamlValues } from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { GitCredentialsResolver } from './gitCredentials';
import { PushRejectedError, withShallowClone } from './shallowClone';

export interface ValuesCommit {
  repoURL: string;
  /** The branch to commit to. */
  ref: string;
  /** Path of the values file in the repository. */
  file: string;
  /** Key paths (image.tag) and their new values. */
  values: Record<string, string>;
  message: string;
  author: { name: string; email: string };
  dryRun?: boolean;
}

export interface ValuesCommitResult {
  /** Unified diff of the values file. */
  diff: string;
  /** The pushed commit; absent for a dry run or when nothing changed. */
  commit?: string;
  unchanged: boolean;
}

const ATTEMPTS = 3;

/**
 * Writes values into a config repository over Git smart HTTP: a shallow,
 * single-branch fetch, one commit, a push; when someone pushed first (non-fast-forward)
 * it starts again from the new head. Never a full clone. Comments and formatting of
 * the file are kept (setYamlValues).
 */
export class GitConfigRepoWriter {
  constructor(
    private readonly credentials: GitCredentialsResolver,
    private readonly timeoutMs: number,
  ) {}

  async commit(change: ValuesCommit): Promise<ValuesCommitResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(change);
      } catch (error) {
        // Someone pushed first: start again from the new head, a few times.
        if (!(error instanceof PushRejectedError) || attempt >= ATTEMPTS)
          throw error;
      }
    }
  }

  private attempt(change: ValuesCommit): Promise<ValuesCommitResult> {
    return withShallowClone(
      {
        credentials: this.credentials,
        timeoutMs: this.timeoutMs,
        repoURL: change.repoURL,
        ref: change.ref,
        checkout: true,
      },
      async ({ dir, git: remote }) => {
        const file = path.join(dir, change.file);
        const before = await fs.promises.readFile(file, 'utf8').catch(() => {
          throw new GitopsSourceError(
            'not-found',
            `${change.file} is not in ${change.repoURL} at ${change.ref}`,
          );
        });
        const after = setYamlValues(before, change.values);
        const diff = createTwoFilesPatch(
          `a/${change.file}`,
          `b/${change.file}`,
          before,
          after,
        );
        if (after === before) return { diff: '', unchanged: true };
        if (change.dryRun) return { diff, unchanged: false };

        await fs.promises.writeFile(file, after);
        await git.add({ fs, dir, filepath: change.file });
        const commit = await git.commit({
          fs,
          dir,
          message: change.message,
          author: change.author,
        });
        await git.push({ ...remote, ref: change.ref, remote: 'origin' });
        return { diff, commit, unchanged: false };
      },
    );
  }
}
