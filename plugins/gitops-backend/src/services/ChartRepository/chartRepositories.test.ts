import { ConfigReader } from '@backstage/config';
import {
  OciRegistry,
  helmBinary,
  startRegistry,
} from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  chartPackage,
  chartVersions,
  readChartRepositories,
  releasesNewestFirst,
  resolveVersion,
} from './chartRepositories';

jest.setTimeout(180_000);

const exec = promisify(execFile);

describe('chart versions', () => {
  it('resolves a targetRevision as Argo CD does: exact, or the highest in range', () => {
    const versions = ['1.0.0', '1.2.0', '1.10.0', '2.0.0-rc.1', '2.0.0'];
    expect(resolveVersion('1.2.0', versions)).toBe('1.2.0');
    expect(resolveVersion('^1.0.0', versions)).toBe('1.10.0');
    expect(resolveVersion('>=1.0.0 <2.0.0', versions)).toBe('1.10.0');
    expect(resolveVersion('*', versions)).toBe('2.0.0');
    expect(resolveVersion('3.0.0', versions)).toBeUndefined();
    expect(resolveVersion('not a range', versions)).toBeUndefined();
    expect(
      releasesNewestFirst(['1.2.0', 'latest', '1.10.0', '2.0.0-rc.1']),
    ).toEqual(['1.10.0', '1.2.0']);
  });

  it('reads repositories from config and refuses ones Argo CD would not take', () => {
    expect(
      readChartRepositories(
        new ConfigReader({
          gitops: {
            chartRepositories: [
              { url: 'https://charts.example.com/stable/' },
              { url: 'oci://ghcr.io/org/charts', enableOCI: true },
            ],
          },
        }),
      ),
    ).toEqual([
      expect.objectContaining({
        url: 'https://charts.example.com/stable',
        enableOCI: false,
      }),
      expect.objectContaining({ url: 'ghcr.io/org/charts', enableOCI: true }),
    ]);
    expect(() =>
      readChartRepositories(
        new ConfigReader({
          gitops: { chartRepositories: [{ url: 'ghcr.io/org/charts' }] },
        }),
      ),
    ).toThrow(/gitops.chartRepositories\[0\].url must be an http\(s\) URL/);
  });

  describe('from an OCI registry fed by helm push', () => {
    let registry: OciRegistry;
    let dir: string;

    beforeAll(async () => {
      registry = await startRegistry({
        credentials: { username: 'ci', password: 's3cret' },
      });
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'chart-versions-'));
      const helm = await helmBinary();
      const env = {
        PATH: process.env.PATH,
        HOME: dir,
        XDG_CONFIG_HOME: path.join(dir, 'config'),
        XDG_CACHE_HOME: path.join(dir, 'cache'),
      };
      const login = exec(
        helm,
        [
          'registry',
          'login',
          registry.host,
          '--insecure',
          '-u',
          'ci',
          '--password-stdin',
        ],
        { env },
      );
      login.child.stdin?.end('s3cret');
      await login;
      for (const version of ['0.1.0', '0.2.0', '0.3.0-rc.1', '0.2.1+build.5']) {
        const chartDir = path.join(dir, `hello-${version}`);
        await fs.mkdir(path.join(chartDir, 'templates'), { recursive: true });
        await fs.writeFile(
          path.join(chartDir, 'Chart.yaml'),
          `apiVersion: v2\nname: hello\nversion: ${version}\n`,
        );
        const { stdout } = await exec(
          helm,
          ['package', chartDir, '--destination', dir],
          { env },
        );
        const tgz = /saved it to: (.*\.tgz)/.exec(stdout)![1];
        await exec(
          helm,
          ['push', tgz, `oci://${registry.host}/charts`, '--plain-http'],
          { env },
        );
      }
    });

    afterAll(async () => {
      await registry?.stop();
      await fs.rm(dir, { recursive: true, force: true });
    });

    const repo = (password: string) => ({
      url: `${registry.host}/charts`,
      enableOCI: true,
      insecure: true,
      username: 'ci',
      password,
    });

    it('lists the versions helm pushed, through the token exchange, + for _', async () => {
      const versions = await chartVersions(repo('s3cret'), 'hello', 30_000);
      expect([...versions].sort()).toEqual(
        ['0.1.0', '0.2.0', '0.2.1+build.5', '0.3.0-rc.1'].sort(),
      );
      expect(releasesNewestFirst(versions)[0]).toBe('0.2.1+build.5');
    });

    it('downloads a version as the package helm pushed, checked against its digest', async () => {
      const data = await chartPackage(
        repo('s3cret'),
        'hello',
        '0.2.1+build.5',
        30_000,
      );
      expect(data).toEqual(
        await fs.readFile(path.join(dir, 'hello-0.2.1+build.5.tgz')),
      );
      await expect(
        chartPackage(repo('s3cret'), 'hello', '9.9.9', 30_000),
      ).rejects.toMatchObject({ code: 'not-found' });
    });

    it('says unauthorized for a wrong password and not-found for an unknown chart', async () => {
      await expect(
        chartVersions(repo('wrong'), 'hello', 30_000),
      ).rejects.toMatchObject({ code: 'unauthorized' });
      await expect(
        chartVersions(repo('s3cret'), 'nope', 30_000),
      ).rejects.toMatchObject({ code: 'not-found' });
    });
  });
});
