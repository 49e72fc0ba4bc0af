import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import git from 'isomorphic-git';
import { setYamlValues } from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { GitCredentialsResolver } from './gitCredentials';
import { gitHttpClient } from './gitHttp';

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
        const rejected =
          (error as { code?: string }).code === 'PushRejectedError';
        if (!rejected || attempt >= ATTEMPTS)
          throw toSourceError(error, change.repoURL);
      }
    }
  }

  private async attempt(change: ValuesCommit): Promise<ValuesCommitResult> {
    const dir = await fs.promises.mkdtemp(
      path.join(os.tmpdir(), 'gitops-write-'),
    );
    try {
      const auth = await this.credentials.forUrl(change.repoURL);
      const common = {
        fs,
        http: gitHttpClient(this.timeoutMs),
        dir,
        onAuth: () => auth ?? { cancel: true },
      };
      await git.clone({
        ...common,
        url: change.repoURL,
        ref: change.ref,
        singleBranch: true,
        depth: 1,
      });
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
      await git.push({ ...common, ref: change.ref, remote: 'origin' });
      return { diff, commit, unchanged: false };
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }
}

function toSourceError(error: unknown, repoURL: string) {
  if (error instanceof GitopsSourceError) return error;
  const e = error as { code?: string; data?: { statusCode?: number } };
  const where = `config repository ${repoURL}`;
  if (e.code === 'PushRejectedError') {
    return new GitopsSourceError(
      'upstream-error',
      `${where} kept moving: the push was rejected ${ATTEMPTS} times`,
    );
  }
  if (e.data?.statusCode === 401 || e.code === 'UserCanceledError') {
    return new GitopsSourceError(
      'unauthorized',
      `${where} refused the credentials`,
    );
  }
  if (e.data?.statusCode === 403)
    return new GitopsSourceError('forbidden', `${where} denied the push (403)`);
  return new GitopsSourceError(
    'unreachable',
    `${where}: ${(error as Error).message}`,
  );
}
