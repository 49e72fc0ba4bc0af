import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { writeChart } from '../__testUtils__/charts';
import { GitServer, startGitServer } from '../git/GitServer';
import { packageChart, runHelm } from '../helm';
import { ChartMuseum } from './ChartMuseum';

// Real helm (package, repo index, repo add, pull) on a loaded 2-core machine.
jest.setTimeout(180_000);

const TOKEN = 'chart-token';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const sha256 = (data: Buffer) =>
  createHash('sha256').update(data).digest('hex');

describe('the classic chart repositories (ChartMuseum upload, helm repo index)', () => {
  let dir: string;
  let server: GitServer;
  let museum: ChartMuseum;
  let packages: Record<string, Buffer>;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'chart-museum-'));
    let url = '';
    museum = new ChartMuseum({
      root: path.join(dir, 'charts'),
      token: TOKEN,
      baseUrl: () => url,
    });
    server = await startGitServer({
      root: path.join(dir, 'repos'),
      token: TOKEN,
      openRoutes: (req, res, u) => museum.handle(req, res, u),
    });
    url = server.url;
    packages = {};
    for (const version of ['1.0.0', '1.1.0', '2.0.0-rc.1']) {
      const tgz = await packageChart(
        await writeChart(path.join(dir, 'src'), version),
        path.join(dir, 'packages'),
      );
      packages[version] = await fs.readFile(tgz);
    }
  });
  afterAll(async () => {
    await server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const upload = (
    repo: string,
    body: BodyInit,
    headers: Record<string, string> = {
      authorization: basic('ci', TOKEN),
    },
  ) =>
    fetch(`${museum.repoUrl(repo)}/api/charts`, {
      method: 'POST',
      headers,
      body,
    });
  const indexOf = async (repo: string) => {
    const res = await fetch(`${museum.repoUrl(repo)}/index.yaml`);
    expect(res.status).toBe(200);
    return parse(await res.text());
  };

  it('takes uploads as ChartMuseum and serves what helm repo index writes to helm', async () => {
    const first = await upload('team', packages['1.0.0']);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ saved: true });
    const second = await upload('team', packages['1.1.0'], {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/octet-stream',
    });
    expect(second.status).toBe(201);

    // Read without credentials, as a public repository.
    const index = await indexOf('team');
    expect(index.apiVersion).toBe('v1');
    expect(Date.parse(index.generated)).not.toBeNaN();
    expect(
      index.entries.hello.map((e: any) => ({
        version: e.version,
        digest: e.digest,
        urls: e.urls,
        name: e.name,
      })),
    ).toEqual(
      ['1.1.0', '1.0.0'].map(version => ({
        version,
        digest: sha256(packages[version]),
        urls: [`${museum.repoUrl('team')}/hello-${version}.tgz`],
        name: 'hello',
      })),
    );
    expect(await museum.versions('team', 'hello')).toEqual(['1.1.0', '1.0.0']);

    const home = path.join(dir, 'helm-home');
    await fs.mkdir(home, { recursive: true });
    await runHelm(['repo', 'add', 'sandbox', museum.repoUrl('team')], {
      home,
    });
    const { stdout } = await runHelm(
      ['search', 'repo', 'sandbox/hello', '--versions', '-o', 'json'],
      { home },
    );
    expect(JSON.parse(stdout).map((c: any) => c.version)).toEqual([
      '1.1.0',
      '1.0.0',
    ]);
    await runHelm(
      ['pull', 'sandbox/hello', '--version', '1.0.0', '--destination', home],
      { home },
    );
    expect(await fs.readFile(path.join(home, 'hello-1.0.0.tgz'))).toEqual(
      packages['1.0.0'],
    );
  });

  it('takes the form upload of helm cm-push and publishes from code', async () => {
    const form = new FormData();
    form.append('chart', new Blob([packages['1.0.0']]), 'hello-1.0.0.tgz');
    expect((await upload('forms', form)).status).toBe(201);

    const published = await museum.publish(
      'forms',
      await writeChart(path.join(dir, 'more'), '1.2.0'),
    );
    expect(published).toEqual({
      name: 'hello',
      version: '1.2.0',
      repoURL: museum.repoUrl('forms'),
    });
    const tgz = path.join(dir, 'packages', 'hello-1.1.0.tgz');
    expect((await museum.publish('forms', tgz)).version).toBe('1.1.0');
    await expect(museum.publish('forms', tgz)).rejects.toThrow(
      'file already exists',
    );
    expect(await museum.versions('forms', 'hello')).toEqual([
      '1.2.0',
      '1.1.0',
      '1.0.0',
    ]);
  });

  it('refuses uploads without the token, a version twice and what is not a chart', async () => {
    await upload('strict', packages['1.0.0']);
    const before = await indexOf('strict');

    const anonymous = await upload('strict', packages['1.1.0'], {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    const wrong = await upload('strict', packages['1.1.0'], {
      authorization: basic('ci', 'wrong'),
    });
    expect(wrong.status).toBe(401);

    const again = await upload('strict', packages['1.0.0']);
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: 'file already exists' });

    const garbage = await upload('strict', Buffer.from('not a chart'));
    expect(garbage.status).toBe(400);
    expect((await garbage.json()).error).toMatch(/gzip|archive|chart/i);

    const badName = await upload('../escape', packages['1.1.0']);
    expect(badName.status).not.toBe(201);

    expect((await indexOf('strict')).entries).toEqual(before.entries);
    expect(
      (await fetch(`${museum.repoUrl('nothing')}/index.yaml`)).status,
    ).toBe(404);
  });

  it('resolves versions and constraints as Argo CD does, with its messages', async () => {
    await upload('resolve', packages['1.0.0']);
    await upload('resolve', packages['1.1.0']);
    await upload('resolve', packages['2.0.0-rc.1']);
    const repoURL = museum.repoUrl('resolve');
    const repo = museum.repository(`${repoURL}/`)!;
    const resolve = (revision: string) => repo.resolve('hello', revision);

    expect(await resolve('1.0.0')).toBe('1.0.0');
    expect(await resolve('^1.0.0')).toBe('1.1.0');
    expect(await resolve('>=1.0.0 <1.1.0')).toBe('1.0.0');
    expect(await resolve('>=1.0.0, <1.1.0')).toBe('1.0.0');
    // Pre-releases only when asked for, as Masterminds' constraints.
    expect(await resolve('*')).toBe('1.1.0');
    expect(await resolve('2.0.0-rc.1')).toBe('2.0.0-rc.1');
    await expect(resolve('1.2.3')).rejects.toThrow(
      `chart "hello" version "1.2.3" not found in ${repoURL}/ repository`,
    );
    await expect(resolve('^3.0.0')).rejects.toThrow(
      'constraint not found in index',
    );
    await expect(resolve('main')).rejects.toThrow(/invalid revision 'main'/);
    await expect(repo.resolve('other', '*')).rejects.toThrow(
      "chart 'other' not found in index",
    );
    expect(await repo.package('hello', '1.1.0')).toEqual(packages['1.1.0']);

    expect(museum.repository(`${server.url}/git/resolve.git`)).toBeUndefined();
    expect(
      museum.repository('https://charts.example.com/resolve'),
    ).toBeUndefined();
  });
});
