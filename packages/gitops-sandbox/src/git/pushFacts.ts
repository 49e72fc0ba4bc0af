// What one ref update of a push changed, read from the bare repository: the facts
// GitHub's and GitLab's push payloads (pushPayloads.ts) are made of.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import type { RefUpdate } from './webhooks';

const exec = promisify(execFile);

export const ZERO = '0000000000000000000000000000000000000000';

export interface RepoInfo {
  /** The repository's name on the server (`<name>.git` on disk). */
  name: string;
  /** e.g. http://127.0.0.1:7090 */
  baseUrl: string;
  /** The bare repository. */
  gitDir: string;
}

export interface CommitInfo {
  id: string;
  tree: string;
  parents: string[];
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
  message: string;
  added: string[];
  modified: string[];
  removed: string[];
}

/** What a push payload says of one ref update, read from the bare repository. */
export interface PushFacts {
  repo: RepoInfo;
  update: RefUpdate;
  defaultBranch: string;
  createdAt: number;
  created: boolean;
  deleted: boolean;
  forced: boolean;
  isTag: boolean;
  /** Oldest first. */
  commits: CommitInfo[];
  /** Ids among `commits` no other ref reached before. */
  distinct: Set<string>;
  /** The commit `after` is or points to (an annotated tag's target). */
  head?: CommitInfo;
  /** An annotated tag's message. */
  tagMessage?: string;
}

const git = async (gitDir: string, ...args: string[]) =>
  (
    await exec('git', ['--git-dir', gitDir, ...args], {
      maxBuffer: 64 * 1024 * 1024,
    })
  ).stdout;

async function readCommits(
  gitDir: string,
  ids: string[],
): Promise<CommitInfo[]> {
  if (ids.length === 0) return [];
  const out = await git(
    gitDir,
    'log',
    '--no-walk=unsorted',
    '--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e',
    ...ids,
  );
  const commits = out
    .split('\x1e')
    .map(record => record.replace(/^\n/, ''))
    .filter(Boolean)
    .map(record => {
      const [id, tree, parents, an, ae, ad, cn, ce, cd, message] =
        record.split('\0');
      return {
        id,
        tree,
        parents: parents ? parents.split(' ') : [],
        author: { name: an, email: ae, date: ad },
        committer: { name: cn, email: ce, date: cd },
        message: message.replace(/\n+$/, ''),
        added: [] as string[],
        modified: [] as string[],
        removed: [] as string[],
      };
    });
  for (const commit of commits) {
    // Files against the first parent, as the hosts list them for a merge commit.
    const range =
      commit.parents.length === 0
        ? ['--root', commit.id]
        : [commit.parents[0], commit.id];
    const changes = (
      await git(
        gitDir,
        'diff-tree',
        '-r',
        '--no-commit-id',
        '--name-status',
        '-z',
        ...range,
      )
    ).split('\0');
    for (let i = 0; i + 1 < changes.length; i += 2) {
      const [status, file] = [changes[i], changes[i + 1]];
      if (status.startsWith('A')) commit.added.push(file);
      else if (status.startsWith('D')) commit.removed.push(file);
      else commit.modified.push(file);
    }
  }
  return commits;
}

async function revList(gitDir: string, ...args: string[]) {
  return (await git(gitDir, 'rev-list', ...args)).split('\n').filter(Boolean);
}

/** Reads from the bare repository what both payloads say of one ref update. */
export async function pushFacts(
  repo: RepoInfo,
  update: RefUpdate,
): Promise<PushFacts> {
  const { gitDir } = repo;
  const created = update.before === ZERO;
  const deleted = update.after === ZERO;
  const isTag = update.ref.startsWith('refs/tags/');
  const defaultBranch = (
    await git(gitDir, 'symbolic-ref', '--short', 'HEAD').catch(() => 'main')
  ).trim();
  const stat = await fs.stat(gitDir);
  const createdAt = Math.floor((stat.birthtimeMs || stat.ctimeMs) / 1000);

  let commitIds: string[] = [];
  let distinctIds: string[] = [];
  let forced = false;
  let head: CommitInfo | undefined;
  let tagMessage: string | undefined;
  if (!deleted) {
    // Commits new on the ref; the ones no other ref had are "distinct".
    const others = (
      await git(gitDir, 'for-each-ref', '--format=%(refname) %(objectname)')
    )
      .split('\n')
      .map(line => line.split(' '))
      .filter(([ref, sha]) => sha && ref !== update.ref)
      .map(([, sha]) => `^${sha}`);
    if (!isTag) {
      commitIds = created
        ? await revList(gitDir, '--reverse', update.after, ...others)
        : await revList(
            gitDir,
            '--reverse',
            `${update.before}..${update.after}`,
          );
      distinctIds = created
        ? commitIds
        : await revList(gitDir, update.after, `^${update.before}`, ...others);
    }
    if (!created) {
      forced = await git(
        gitDir,
        'merge-base',
        '--is-ancestor',
        update.before,
        update.after,
      ).then(
        () => false,
        () => true,
      );
    }
    const headId = (
      await git(gitDir, 'rev-parse', `${update.after}^{commit}`)
    ).trim();
    [head] = await readCommits(gitDir, [headId]);
    if (headId !== update.after) {
      tagMessage = (await git(gitDir, 'cat-file', 'tag', update.after))
        .replace(/^[\s\S]*?\n\n/, '')
        .replace(/\n+$/, '');
    }
  }
  const commits = await readCommits(gitDir, commitIds);
  return {
    repo,
    update,
    defaultBranch,
    createdAt,
    created,
    deleted,
    forced,
    isTag,
    commits,
    distinct: new Set(distinctIds),
    head,
    tagMessage,
  };
}
