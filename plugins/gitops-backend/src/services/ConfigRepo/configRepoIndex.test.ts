import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { ConfigRepoIndex } from './configRepoIndex';
import { GitConfigRepoReader } from './GitConfigRepoReader';

const REPO = 'https://git.example.com/shop-config.git';

/** A config repository whose branch can move, counting what the index asks of it. */
function fakeRepository() {
  const repo = {
    commit: 'a'.repeat(40),
    files: {
      'chart/values.yaml': 'image:\n  tag: one\n',
      'chart/values-dev.yaml': 'replicaCount: 1\n',
    } as Record<string, string>,
    down: false,
    reads: [] as string[][],
    refChecks: 0,
  };
  const reader = {
    readFiles: async (_url: string, _ref: string, paths: string[]) => {
      repo.reads.push(paths);
      if (repo.down) throw new GitopsSourceError('unreachable', 'down');
      return {
        commit: repo.commit,
        files: Object.fromEntries(paths.map(p => [p, repo.files[p]])),
      };
    },
    headOf: async () => {
      repo.refChecks++;
      if (repo.down) throw new GitopsSourceError('unreachable', 'down');
      return repo.commit;
    },
  } as unknown as GitConfigRepoReader;
  return { repo, reader };
}

describe('ConfigRepoIndex', () => {
  it('reads Git once for what a view needs; later views, and peeks, read memory', async () => {
    const { repo, reader } = fakeRepository();
    const index = new ConfigRepoIndex(reader, { maxAgeMs: Infinity });
    expect(index.peek(REPO, 'main', ['chart/values.yaml'])).toBeUndefined();

    const first = await index.files(REPO, 'main', ['chart/values.yaml']);
    await index.files(REPO, 'main', ['chart/values.yaml']);
    expect(repo.reads).toEqual([['chart/values.yaml']]);
    expect(first).toEqual({
      value: {
        commit: repo.commit,
        files: { 'chart/values.yaml': 'image:\n  tag: one\n' },
      },
    });
    expect(index.peek(REPO, 'main', ['chart/values.yaml'])).toEqual(first);
    expect(index.knows(REPO, 'main', ['chart/values.yaml'])).toBe(true);
    expect(index.knows(REPO, 'main', ['chart/values-dev.yaml'])).toBe(false);
    // Another ref is another entry.
    await index.files(REPO, 'release', ['chart/values.yaml']);
    expect(repo.reads).toHaveLength(2);
  });

  it('a path not held yet reads again, with every path held, once for concurrent callers', async () => {
    const { repo, reader } = fakeRepository();
    const index = new ConfigRepoIndex(reader, { maxAgeMs: Infinity });
    await index.files(REPO, 'main', ['chart/values.yaml']);
    const [a, b] = await Promise.all([
      index.files(REPO, 'main', ['chart/values-dev.yaml']),
      index.files(REPO, 'main', ['chart/values-dev.yaml', 'missing.yaml']),
    ]);
    expect(repo.reads).toEqual([
      ['chart/values.yaml'],
      ['chart/values.yaml', 'chart/values-dev.yaml', 'missing.yaml'],
    ]);
    expect(a).toEqual({
      value: {
        commit: repo.commit,
        files: { 'chart/values-dev.yaml': 'replicaCount: 1\n' },
      },
    });
    // A path the repository does not have is held as absent, not read again.
    expect(b).toMatchObject({
      value: { files: { 'missing.yaml': undefined } },
    });
    await index.files(REPO, 'main', ['missing.yaml']);
    expect(repo.reads).toHaveLength(2);
  });

  it('an action (fresh) reads Git every time; without ref checks an entry expires after maxAgeMs', async () => {
    const { repo, reader } = fakeRepository();
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const index = new ConfigRepoIndex(reader, { maxAgeMs: 10_000 });
      await index.files(REPO, 'main', ['chart/values.yaml']);
      repo.commit = 'b'.repeat(40);
      const fresh = await index.files(REPO, 'main', ['chart/values.yaml'], {
        fresh: true,
      });
      expect(fresh).toMatchObject({ value: { commit: 'b'.repeat(40) } });
      expect(repo.reads).toHaveLength(2);

      now += 9_000;
      await index.files(REPO, 'main', ['chart/values.yaml']);
      expect(repo.reads).toHaveLength(2);
      now += 2_000;
      await index.files(REPO, 'main', ['chart/values.yaml']);
      expect(repo.reads).toHaveLength(3);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('a failure is answered as an error, kept briefly so a down server is not asked by every view', async () => {
    const { repo, reader } = fakeRepository();
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const index = new ConfigRepoIndex(reader, { maxAgeMs: Infinity });
      repo.down = true;
      const failed = await index.files(REPO, 'main', ['chart/values.yaml']);
      expect(failed).toEqual({
        error: { code: 'unreachable', message: 'down' },
      });
      await index.files(REPO, 'main', ['chart/values.yaml']);
      expect(repo.reads).toHaveLength(1);
      expect(index.peek(REPO, 'main', ['chart/values.yaml'])).toBeUndefined();
      // Known, as failed: reading ahead leaves it to the next view.
      expect(index.knows(REPO, 'main', ['chart/values.yaml'])).toBe(true);

      repo.down = false;
      now += 6_000;
      const back = await index.files(REPO, 'main', ['chart/values.yaml']);
      expect(back).toMatchObject({ value: { commit: repo.commit } });
      expect(repo.reads).toHaveLength(2);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('a ref check reads again only the refs that moved, and names them; an unreachable repository is skipped', async () => {
    const { repo, reader } = fakeRepository();
    const index = new ConfigRepoIndex(reader, { maxAgeMs: Infinity });
    await index.files(REPO, 'main', ['chart/values.yaml']);

    expect(await index.checkRefs()).toEqual([]);
    expect(repo.reads).toHaveLength(1);

    repo.commit = 'b'.repeat(40);
    repo.files['chart/values.yaml'] = 'image:\n  tag: two\n';
    expect(await index.checkRefs()).toEqual([[REPO, 'main']]);
    expect(repo.reads).toHaveLength(2);
    expect(await index.files(REPO, 'main', ['chart/values.yaml'])).toEqual({
      value: {
        commit: 'b'.repeat(40),
        files: { 'chart/values.yaml': 'image:\n  tag: two\n' },
      },
    });

    repo.down = true;
    expect(await index.checkRefs()).toEqual([]);
    expect(repo.refChecks).toBe(3);
    // What was held still answers.
    expect(index.peek(REPO, 'main', ['chart/values.yaml'])).toMatchObject({
      value: { commit: 'b'.repeat(40) },
    });
  });
});
