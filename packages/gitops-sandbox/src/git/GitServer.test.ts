import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as isogit from 'isomorphic-git';
import isoHttp from 'isomorphic-git/http/node';
import nodeFs from 'node:fs';
import { GitServer, startGitServer } from './GitServer';

const exec = promisify(execFile);
const TOKEN = 'sandbox-token';

describe('startGitServer', () => {
  let dir: string;
  let server: GitServer;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'git-server-'));
    server = await startGitServer({
      root: path.join(dir, 'repos'),
      token: TOKEN,
    });
  });

  afterEach(async () => {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const git = (cwd: string, ...args: string[]) =>
    exec(
      'git',
      ['-c', 'user.name=Test', '-c', 'user.email=t@example.com', ...args],
      { cwd },
    );
  const authedUrl = (name: string) =>
    server.repoUrl(name).replace('http://', `http://ci:${TOKEN}@`);

  it('creates a repository through its API, then clones and pushes with real git', async () => {
    const created = await fetch(`${server.url}/api/repos`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'service-a-config' }),
    });
    expect(created.status).toBe(201);

    const work = path.join(dir, 'work');
    await git(dir, 'clone', '--quiet', authedUrl('service-a-config'), work);
    await fs.writeFile(
      path.join(work, 'values-dev.yaml'),
      'image:\n  tag: abc1234\n',
    );
    await git(work, 'add', '.');
    await git(work, 'commit', '--quiet', '-m', 'dev: abc1234');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');

    const second = path.join(dir, 'second');
    await git(
      dir,
      'clone',
      '--quiet',
      '--depth=1',
      authedUrl('service-a-config'),
      second,
    );
    expect(
      await fs.readFile(path.join(second, 'values-dev.yaml'), 'utf8'),
    ).toBe('image:\n  tag: abc1234\n');
    const { stdout } = await git(second, 'log', '--format=%s');
    expect(stdout.trim()).toBe('dev: abc1234');

    const list = await fetch(`${server.url}/api/repos`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await list.json()).toEqual({ repositories: ['service-a-config'] });
  });

  it('serves one file raw, without credentials, for the catalog to read', async () => {
    await server.createRepository('service-a-config');
    const work = path.join(dir, 'work');
    await git(dir, 'clone', '--quiet', authedUrl('service-a-config'), work);
    await fs.writeFile(
      path.join(work, 'values-dev.yaml'),
      'image:\n  tag: abc1234\n',
    );
    await git(work, 'add', '.');
    await git(work, 'commit', '--quiet', '-m', 'dev: abc1234');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');

    // At its own path, and inside the repository's URL (as Gitea's raw view).
    for (const at of [
      '/raw/service-a-config/main/values-dev.yaml',
      '/git/service-a-config/raw/main/values-dev.yaml',
    ]) {
      const raw = await fetch(`${server.url}${at}`);
      expect([at, raw.status]).toEqual([at, 200]);
      expect(await raw.text()).toBe('image:\n  tag: abc1234\n');
    }
    for (const missing of [
      '/raw/service-a-config/main/nope.yaml',
      '/git/service-a-config/raw/main/nope.yaml',
      '/raw/service-a-config/other-branch/values-dev.yaml',
      '/raw/no-such-repo/main/values-dev.yaml',
      '/raw/service-a-config/main/../../etc/passwd',
    ]) {
      expect((await fetch(`${server.url}${missing}`)).status).toBe(404);
    }
    // Everything else still needs the token.
    expect((await fetch(`${server.url}/api/repos`)).status).toBe(401);
  });

  it('takes the auth scheme in any case, as HTTP does (actions/checkout sends "basic")', async () => {
    const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    for (const [authorization, status] of [
      [`basic ${basic}`, 200],
      [`BASIC ${basic}`, 200],
      [`bearer ${TOKEN}`, 200],
      [`basic ${Buffer.from('x:wrong').toString('base64')}`, 401],
    ] as const) {
      const res = await fetch(`${server.url}/api/repos`, {
        headers: { authorization },
      });
      expect({ authorization, status: res.status }).toEqual({
        authorization,
        status,
      });
    }
  });

  it('serves isomorphic-git: shallow single-branch clone, commit and push', async () => {
    await server.createRepository('iso');
    const onAuth = () => ({ username: 'x', password: TOKEN });
    const seed = path.join(dir, 'seed');
    await git(dir, 'clone', '--quiet', authedUrl('iso'), seed);
    await fs.writeFile(path.join(seed, 'values.yaml'), 'replicaCount: 1\n');
    await git(seed, 'add', '.');
    await git(seed, 'commit', '--quiet', '-m', 'seed');
    await git(seed, 'push', '--quiet', 'origin', 'HEAD:main');

    const work = path.join(dir, 'iso-work');
    await isogit.clone({
      fs: nodeFs,
      http: isoHttp,
      dir: work,
      url: server.repoUrl('iso'),
      ref: 'main',
      singleBranch: true,
      depth: 1,
      onAuth,
    });
    await fs.writeFile(path.join(work, 'values.yaml'), 'replicaCount: 2\n');
    await isogit.add({ fs: nodeFs, dir: work, filepath: 'values.yaml' });
    await isogit.commit({
      fs: nodeFs,
      dir: work,
      message: 'scale to 2',
      author: { name: 'Iso', email: 'iso@example.com' },
    });
    const pushed = await isogit.push({
      fs: nodeFs,
      http: isoHttp,
      dir: work,
      onAuth,
    });
    expect(pushed.ok).toBe(true);

    await git(seed, 'pull', '--quiet', 'origin', 'main');
    expect(await fs.readFile(path.join(seed, 'values.yaml'), 'utf8')).toBe(
      'replicaCount: 2\n',
    );
  });

  it('refuses requests without the token', async () => {
    await server.createRepository('private');
    const res = await fetch(
      `${server.repoUrl('private')}/info/refs?service=git-upload-pack`,
    );
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Basic/);
    await expect(
      git(
        dir,
        'clone',
        '--quiet',
        server.repoUrl('private').replace('http://', 'http://ci:wrong@'),
        'x',
      ),
    ).rejects.toThrow(/Authentication failed|401/);
  });

  it('rejects bad repository names and duplicates with a clear error', async () => {
    const post = (name: string) =>
      fetch(`${server.url}/api/repos`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ name }),
      });
    const bad = await post('../escape');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(
      /Invalid repository name "..\/escape"/,
    );
    expect((await post('dup')).status).toBe(201);
    const dup = await post('dup');
    expect(dup.status).toBe(409);
    expect((await dup.json()).error).toMatch(/already exists/);
  });
});
