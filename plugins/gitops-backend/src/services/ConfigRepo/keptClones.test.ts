import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigReader } from '@backstage/config';
import { GitServer, startGitServer } from '@gitops-backstage/gitops-sandbox';
import { GitCredentialsResolver } from '@gitops-backstage/plugin-gitops-node';
import { GitConfigRepoReader } from './GitConfigRepoReader';
import { KeptClones } from './keptClones';

// Real Git over HTTP, a dozen pushes with the git CLI: seconds alone, minutes with
// other suites beside it on 2 cores.
jest.setTimeout(600_000);

const exec = promisify(execFile);
const TOKEN = 'kept-clones-test';
const FILE = 'envs/prod/values.yaml';
/** A values file big enough that Git sends a changed one as a delta. */
const values = (tag: string) =>
  [
    'image:',
    '  repository: registry.example.com/service-a',
    `  tag: ${tag}`,
    ...Array.from({ length: 200 }, (_, i) => `setting${i}: "value ${i}"`),
    '',
  ].join('\n');

describe('KeptClones', () => {
  let dir: string;
  let server: GitServer;
  let repo: string;
  const clones: KeptClones[] = [];

  const keptClones = (options: { useDeadlineMs?: number } = {}) => {
    const host = new URL(server.url).host;
    const credentials = new GitCredentialsResolver(
      new ConfigReader({
        gitops: { git: { credentials: [{ host, password: TOKEN }] } },
      }),
    );
    const kept = new KeptClones({ credentials, timeoutMs: 60_000, ...options });
    clones.push(kept);
    return { kept, reader: new GitConfigRepoReader(credentials, 60_000, kept) };
  };

  /** Someone else (CI, a person) pushes `files` with the git CLI. */
  const pushWithCli = async (files: Record<string, string>) => {
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
    await cli('commit', '--quiet', '-m', 'a change');
    await cli('push', '--quiet', 'origin', 'HEAD:main');
    await fs.rm(work, { recursive: true, force: true });
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kept-clones-test-'));
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
    await pushWithCli({
      [FILE]: values('v1'),
      'chart/Chart.yaml': 'name: a\n',
    });
  });

  afterEach(async () => {
    await Promise.all(clones.splice(0).map(c => c.close()));
  });

  it('reads a file that goes back and forth between two versions (promote, roll back) right every time: no delta in the clone waits on another', async () => {
    // Git sends what changed as a thin pack, each object a delta against one the
    // clone has: v2 against v1, then v1 against v2. Kept as they came, reading v1
    // could go v1 → v2 → v1 → … without end (a replica's heap grew to 4 GB so).
    const { kept, reader } = keptClones({ useDeadlineMs: 120_000 });
    const location = { repoURL: server.repoUrl(repo), branch: 'main' };
    const read = async () =>
      (await reader.readFiles(location.repoURL, 'main', [FILE])).files[FILE];
    expect(await read()).toBe(values('v1'));
    for (let i = 0; i < 12; i++) {
      const tag = i % 2 === 0 ? 'v2' : 'v1';
      await pushWithCli({ [FILE]: values(tag) });
      expect(await read()).toBe(values(tag));
      // Every fetch's objects are unpacked, as git does with small fetches: the only
      // pack left is the clone's own, which needs nothing outside it.
      const packs = await kept.use(location, async clone =>
        (
          await fs.readdir(path.join(clone.dir, '.git', 'objects', 'pack'))
        ).filter(file => file.endsWith('.pack')),
      );
      expect(packs).toHaveLength(1);
    }
  });

  it('gives up a use of a clone that never ends at its deadline; the next use goes on in a new clone', async () => {
    // Room for the next use's whole clone on a loaded machine.
    const { kept } = keptClones({ useDeadlineMs: 20_000 });
    const location = { repoURL: server.repoUrl(repo), branch: 'main' };
    let release!: () => void;
    let stuckDir = '';
    // Work that never ends, as a Git call that never returns would.
    const stuck = kept.use(location, async clone => {
      stuckDir = clone.dir;
      await new Promise<void>(resolve => (release = resolve));
    });
    const next = kept.use(location, async clone => clone.dir);

    await expect(stuck).rejects.toMatchObject({
      code: 'timeout',
      message: expect.stringMatching(/did not end within 20 s/),
    });
    const nextDir = await next;
    expect(nextDir).not.toBe(stuckDir);
    // The stuck use keeps its directory until it ends; then it is removed.
    await fs.access(stuckDir);
    release();
    for (;;) {
      const gone = await fs.access(stuckDir).then(
        () => false,
        () => true,
      );
      if (gone) break;
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    await fs.access(nextDir);
  });
});
