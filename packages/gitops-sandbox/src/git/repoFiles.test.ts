import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BareRepository } from './repoFiles';

const exec = promisify(execFile);

/**
 * Revisions resolve as git itself resolves them (a branch winning over a tag of the
 * same name, as Argo CD's ls-remote match does), whether the refs are loose or packed.
 */
describe('BareRepository.resolve', () => {
  let dir: string;
  let bare: string;
  const git = async (cwd: string, ...args: string[]) =>
    (await exec('git', ['-C', cwd, ...args])).stdout.trim();

  let first: string;
  let second: string;
  let onTopic: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-repofiles-'));
    const work = path.join(dir, 'work');
    bare = path.join(dir, 'repo.git');
    await exec('git', ['init', '-q', '-b', 'main', work]);
    const commit = async (message: string) => {
      await fs.writeFile(path.join(work, 'file.txt'), message);
      await git(work, 'add', '.');
      await git(
        work,
        '-c',
        'user.name=t',
        '-c',
        'user.email=t@example.com',
        'commit',
        '-q',
        '-m',
        message,
      );
      return git(work, 'rev-parse', 'HEAD');
    };
    first = await commit('first');
    await git(work, 'tag', 'light');
    await git(
      work,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      'tag',
      '-a',
      'v1.0.0',
      '-m',
      'release',
    );
    second = await commit('second');
    await git(work, 'checkout', '-q', '-b', 'topic');
    onTopic = await commit('topic');
    // A tag named like a branch, on another commit.
    await git(work, 'tag', 'main', first);
    await git(work, 'checkout', '-q', 'main');
    await exec('git', ['clone', '-q', '--bare', work, bare]);
    await git(bare, 'fetch', '-q', work, 'refs/tags/*:refs/tags/*');
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  const cases = () => [
    ['main', second],
    ['HEAD', second],
    ['', second],
    ['topic', onTopic],
    ['refs/heads/topic', onTopic],
    ['light', first],
    ['v1.0.0', first],
    ['refs/tags/v1.0.0', first],
    [first, first],
    [first.slice(0, 10), first],
    ['topic~1', second],
    ['nope', undefined],
    ['../../HEAD', undefined],
    ['-h', undefined],
    [second.replace(/./g, '0'), undefined],
  ];

  it('reads loose refs, peels annotated tags, prefers a branch to a tag', async () => {
    const repo = new BareRepository(bare);
    for (const [revision, commit] of cases()) {
      expect([revision, await repo.resolve(revision!)]).toEqual([
        revision,
        commit,
      ]);
    }
  });

  it('reads packed refs the same, and a loose ref written after packing wins', async () => {
    await git(bare, 'pack-refs', '--all');
    const repo = new BareRepository(bare);
    for (const [revision, commit] of cases()) {
      expect([revision, await repo.resolve(revision!)]).toEqual([
        revision,
        commit,
      ]);
    }
    await git(bare, 'update-ref', 'refs/heads/topic', first);
    expect(await repo.resolve('topic')).toBe(first);
  });
});
