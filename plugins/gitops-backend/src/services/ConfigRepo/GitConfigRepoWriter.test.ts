import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigReader } from '@backstage/config';
import { GitServer, startGitServer } from '@gitops-backstage/gitops-sandbox';
import { setYamlValues } from '@gitops-backstage/plugin-gitops-common';
import {
  GitCredentialsResolver,
  GitopsSourceError,
  ValuesFileChange,
} from '@gitops-backstage/plugin-gitops-node';
import { parse } from 'yaml';
import { GitConfigRepoWriter } from './GitConfigRepoWriter';
import { GitConfigRepoReader } from './GitConfigRepoReader';
import { KeptClones } from './keptClones';

// 50 racing commits over real Git: about a minute in a CI run, 200 s seen with two more
// test runs beside it on 2 cores; the deadline leaves 3× that.
jest.setTimeout(600_000);

const exec = promisify(execFile);
const TOKEN = 'writer-test';
const FILE = 'envs/staging/values.yaml';
const KEYS = 50;
const VALUES = [
  '# Staging. Promotions rewrite image.tag; the comments stay.',
  'image:',
  '  repository: registry.example.com/service-a',
  '  tag: v1 # deployed',
  'bump:',
  ...Array.from({ length: KEYS }, (_, i) => `  k${i}: "0"`),
  '',
].join('\n');
const OTHER_FILES = {
  'envs/prod/values.yaml': 'image:\n  tag: v0\n',
  'chart/Chart.yaml': 'apiVersion: v2\nname: service-a\nversion: 0.1.0\n',
  'chart/templates/deployment.yaml': 'kind: Deployment\n',
};

describe('GitConfigRepoWriter', () => {
  let dir: string;
  let server: GitServer;
  let repo: string;
  const clones: KeptClones[] = [];

  /** A backend's writer and reader, sharing their kept clones as the plugin's do. */
  const backend = (password = TOKEN) => {
    const host = new URL(server.url).host;
    const credentials = new GitCredentialsResolver(
      new ConfigReader({
        gitops: { git: { credentials: [{ host, password }] } },
      }),
    );
    const kept = new KeptClones({ credentials, timeoutMs: 60_000 });
    clones.push(kept);
    const reader = new GitConfigRepoReader(credentials, 60_000, kept);
    return { writer: new GitConfigRepoWriter(kept, reader), reader };
  };
  const writer = (password = TOKEN) => backend(password).writer;
  /** git on the server's bare repository. */
  const bare = async (...args: string[]) =>
    (
      await exec('git', [
        '--git-dir',
        path.join(dir, 'repos', `${repo}.git`),
        ...args,
      ])
    ).stdout.trim();
  /** Someone else commits `files` with the git CLI. */
  const pushWithCli = async (
    files: Record<string, string>,
    message: string,
  ) => {
    const work = await fs.mkdtemp(path.join(dir, 'work-'));
    const cli = (...args: string[]) =>
      exec(
        'git',
        ['-c', 'user.name=CI', '-c', 'user.email=ci@example.com', ...args],
        { cwd: work },
      );
    const url = server.repoUrl(repo).replace('http://', `http://ci:${TOKEN}@`);
    await cli('clone', '--quiet', url, '.');
    for (const [file, text] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(work, file)), { recursive: true });
      await fs.writeFile(path.join(work, file), text);
    }
    await cli('add', '-A');
    await cli('commit', '--quiet', '-m', message);
    await cli('push', '--quiet', 'origin', 'HEAD:main');
  };
  const change = (
    edit: ValuesFileChange['edit'],
    more: Partial<ValuesFileChange> = {},
  ): ValuesFileChange => ({
    repoURL: server.repoUrl(repo),
    branch: 'main',
    file: FILE,
    edit,
    message: 'staging: a change',
    author: { name: 'Ada Lovelace', email: 'ada@example.com' },
    ...more,
  });
  const setTag = (tag: string) => (text: string) =>
    setYamlValues(text, { 'image.tag': tag });

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'git-writer-test-'));
    server = await startGitServer({
      root: path.join(dir, 'repos'),
      token: TOKEN,
      port: 0,
    });
  });

  afterAll(async () => {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  beforeEach(async () => {
    repo = `config-${++n}`;
    await server.createRepository(repo);
    await pushWithCli({ [FILE]: VALUES, ...OTHER_FILES }, 'seed');
  });

  afterEach(async () => {
    await Promise.all(clones.splice(0).map(c => c.close()));
  });

  it('pushes a commit that changes exactly the one line, by the change author', async () => {
    const seed = await bare('rev-parse', 'main');
    const result = await writer().commit(
      change(setTag('v2'), { message: 'staging: v2' }),
    );

    expect(result.before).toBe(VALUES);
    expect(result.after).toBe(VALUES.replace('tag: v1 #', 'tag: v2 #'));
    expect(result.commit).toBe(await bare('rev-parse', 'main'));
    expect(await bare('rev-parse', 'main~1')).toBe(seed);
    // One file, one line, nothing else in the commit.
    expect(await bare('diff', '--numstat', 'main~1', 'main')).toBe(
      `1\t1\t${FILE}`,
    );
    const diff = await bare('diff', '--unified=0', 'main~1', 'main');
    expect(diff.split('\n').filter(l => /^[-+](?![-+])/.test(l))).toEqual([
      '-  tag: v1 # deployed',
      '+  tag: v2 # deployed',
    ]);
    const files = async (rev: string) =>
      (await bare('ls-tree', '-r', rev)).split('\n');
    const others = (lines: string[]) => lines.filter(l => !l.endsWith(FILE));
    expect(others(await files('main'))).toEqual(others(await files('main~1')));
    expect(
      await bare('log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', 'main'),
    ).toBe(
      'Ada Lovelace <ada@example.com>|Ada Lovelace <ada@example.com>|staging: v2',
    );
    // The pushed objects are complete and well formed.
    await expect(bare('fsck', '--strict')).resolves.toBeDefined();
  });

  it('commits several files in one commit, or nothing when one edit refuses', async () => {
    const other = 'envs/prod/values.yaml';
    const seed = await bare('rev-parse', 'main');
    const refused = writer().commit(
      change(setTag('v2'), {
        alsoEdit: [
          {
            file: other,
            edit: () => {
              throw new Error('would not pin');
            },
          },
        ],
      }),
    );
    await expect(refused).rejects.toThrow('would not pin');
    expect(await bare('rev-parse', 'main')).toBe(seed);

    const result = await writer().commit(
      change(setTag('v2'), { alsoEdit: [{ file: other, edit: setTag('v3') }] }),
    );
    expect(result.also).toEqual([
      {
        file: other,
        before: 'image:\n  tag: v0\n',
        after: 'image:\n  tag: v3\n',
      },
    ]);
    expect(await bare('rev-parse', 'main~1')).toBe(seed);
    expect(await bare('diff', '--numstat', 'main~1', 'main')).toBe(
      `1\t1\t${other}\n1\t1\t${FILE}`,
    );
    await expect(bare('fsck', '--strict')).resolves.toBeDefined();
  });

  it('reads through the clone it commits with: each read sees the branch head, a tag reads as its commit', async () => {
    const { reader, writer: w } = backend();
    const url = server.repoUrl(repo);
    const read = (ref: string) =>
      reader.readFiles(url, ref, [FILE, 'chart/missing.yaml']);

    const first = await read('main');
    expect(first).toEqual({
      commit: await bare('rev-parse', 'main'),
      files: { [FILE]: VALUES, 'chart/missing.yaml': undefined },
    });
    const { commit } = await w.commit(change(setTag('v2')));
    expect(await read('main')).toMatchObject({
      commit,
      files: { [FILE]: expect.stringContaining('tag: v2 #') },
    });
    await pushWithCli({ [FILE]: 'image:\n  tag: v3\n' }, 'ci: v3');
    expect(await read('main')).toMatchObject({
      commit: await bare('rev-parse', 'main'),
      files: { [FILE]: 'image:\n  tag: v3\n' },
    });
    // An annotated tag, HEAD and a commit SHA read the same commit's files.
    await bare('tag', '-a', 'release-1', '-m', 'release 1', 'main');
    const head = await bare('rev-parse', 'main');
    for (const ref of ['release-1', 'HEAD', head]) {
      expect(await read(ref)).toMatchObject({
        commit: head,
        files: { [FILE]: 'image:\n  tag: v3\n' },
      });
    }
  });

  it("builds later commits on others' pushes (it fetches what changed)", async () => {
    const w = writer();
    await w.commit(change(setTag('v2')));
    await pushWithCli(
      { 'envs/prod/values.yaml': 'image:\n  tag: v9\n' },
      'prod: v9 by CI',
    );
    expect(
      await w.read({
        repoURL: server.repoUrl(repo),
        branch: 'main',
        file: 'envs/prod/values.yaml',
      }),
    ).toBe('image:\n  tag: v9\n');
    await pushWithCli(
      {
        [FILE]: VALUES.replace('tag: v1 #', 'tag: v2 #').replace(
          'k7: "0"',
          'k7: "ci"',
        ),
      },
      'staging: k7 by CI',
    );
    const ci = await bare('rev-parse', 'main');

    const { before, commit } = await w.commit(change(setTag('v3')));

    expect(before).toContain('k7: "ci"');
    expect(await bare('rev-parse', 'main~1')).toBe(ci);
    expect(await bare('rev-parse', 'main')).toBe(commit);
    const head = await bare('show', `main:${FILE}`);
    expect(head).toContain('tag: v3 # deployed');
    expect(head).toContain('k7: "ci"');
    expect(await bare('show', 'main:envs/prod/values.yaml')).toBe(
      'image:\n  tag: v9',
    );
    await expect(bare('fsck', '--strict')).resolves.toBeDefined();
  });

  it('writes nothing when the edit leaves the file as it is', async () => {
    const head = await bare('rev-parse', 'main');
    const result = await writer().commit(change(setTag('v1')));
    expect(result).toEqual({ before: VALUES, after: VALUES });
    expect(await bare('rev-parse', 'main')).toBe(head);
  });

  it('answers not-found, naming the file, for a file that is not in the branch', async () => {
    const w = writer();
    const missing = change(setTag('v2'), { file: 'envs/qa/values.yaml' });
    const rejection = {
      code: 'not-found',
      message: expect.stringContaining('envs/qa/values.yaml'),
    };
    await expect(w.commit(missing)).rejects.toBeInstanceOf(GitopsSourceError);
    await expect(w.commit(missing)).rejects.toMatchObject(rejection);
    await expect(w.read(missing)).rejects.toMatchObject(rejection);
    await expect(
      w.commit(change(setTag('v2'), { branch: 'nope' })),
    ).rejects.toMatchObject({ code: 'not-found' });
  });

  it('answers unauthorized when the server refuses the credentials', async () => {
    await expect(
      writer('wrong').commit(change(setTag('v2'))),
    ).rejects.toMatchObject({ code: 'unauthorized' });
    expect(await bare('rev-list', '--count', 'main')).toBe('1');
  });

  it('loses no update under 50 concurrent commits to one file from 5 writers (backends)', async () => {
    // Commits of one writer to one branch queue up; those of different writers race,
    // and a push that lost the race is tried again from the new head.
    const backends = Array.from({ length: 5 }, () => writer());
    const results = await Promise.allSettled(
      Array.from({ length: KEYS }, (_, i) =>
        backends[i % backends.length].commit(
          change(text => setYamlValues(text, { [`bump.k${i}`]: `v${i}` }), {
            message: `bump k${i}`,
          }),
        ),
      ),
    );

    const committed = new Map<number, string>();
    const failures: unknown[] = [];
    results.forEach((result, i) =>
      result.status === 'fulfilled'
        ? committed.set(i, result.value.commit!)
        : failures.push(result.reason),
    );
    for (const commit of committed.values()) {
      expect(commit).toMatch(/^[0-9a-f]{40}$/);
    }
    // Out of tries against the others: a GitopsSourceError, nothing written.
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(GitopsSourceError);
      expect(failure).toMatchObject({ code: 'upstream-error' });
    }
    expect(committed.size).toBeGreaterThan(0);
    const commits = (await bare('rev-list', 'main')).split('\n');
    expect(commits).toHaveLength(1 + committed.size);
    expect(new Set(commits)).toEqual(
      new Set([
        ...committed.values(),
        await bare('rev-list', '--max-parents=0', 'main'),
      ]),
    );
    const head = parse(await bare('show', `main:${FILE}`));
    for (let i = 0; i < KEYS; i++) {
      expect([i, head.bump[`k${i}`]]).toEqual([
        i,
        committed.has(i) ? `v${i}` : '0',
      ]);
    }
    expect(head.image.tag).toBe('v1');
  });

  it('finds a commit again by its Promotion-Id trailer, below later commits by others; none for an id never pushed or before `since`', async () => {
    const { writer: w } = backend();
    const { commit } = await w.commit(
      change(setTag('v2'), {
        message: 'prod: v2\n\nPromotion-Id: 0a1b2c3d',
      }),
    );
    // Five later commits: the trailer is six deep, beyond a depth-1 fetch.
    for (let i = 0; i < 5; i++) {
      await pushWithCli(
        { 'envs/prod/values.yaml': `image:\n  tag: x${i}\n` },
        `ci: x${i}`,
      );
    }
    const location = { repoURL: server.repoUrl(repo), branch: 'main' };
    const hourAgo = new Date(Date.now() - 60 * 60_000);
    expect(
      await w.findCommit(location, 'Promotion-Id: 0a1b2c3d', hourAgo),
    ).toBe(commit);
    expect(
      await w.findCommit(location, 'Promotion-Id: ffffffff', hourAgo),
    ).toBeUndefined();
    expect(
      await w.findCommit(
        location,
        'Promotion-Id: 0a1b2c3d',
        new Date(Date.now() + 60 * 60_000),
      ),
    ).toBeUndefined();
  });

  it('runs the commits of one writer to one branch one at a time: all land', async () => {
    const w = writer();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        w.commit(
          change(text => setYamlValues(text, { [`bump.k${i}`]: `w${i}` })),
        ),
      ),
    );
    expect(new Set(results.map(r => r.commit)).size).toBe(10);
    expect(await bare('rev-list', '--count', 'main')).toBe('11');
    const head = parse(await bare('show', `main:${FILE}`));
    for (let i = 0; i < 10; i++) expect(head.bump[`k${i}`]).toBe(`w${i}`);
  });
});
