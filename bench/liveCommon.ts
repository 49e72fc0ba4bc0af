// What both halves of the live scenario (live.ts) share: the sandbox in scale mode
// behind counting proxies, the config repositories' tags, the entities.
import { Entity } from '@backstage/catalog-model';
import { ChildProcess, execFile, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net, { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LiveSandboxInfo, PathCounts } from './liveSandbox';

export const exec = promisify(execFile);
export const ROOT = path.resolve(__dirname, '..');

export const SERVICES = 1000;
export const TABS = 200;
/** `useLiveStatus` without signals: EntityDeployments' REFRESH_MS. */
export const POLL_MS = 15_000;
/** `useLiveStatus` with signals: SIGNALLED_RELOAD_MS, the safety net. */
export const SIGNALLED_RELOAD_MS = 5 * 60_000;
export const WARM_UP_MS = 20_000;
export const WINDOW_MS = 60_000;
export const CHANGES = 20;

export const sleep = (ms: number) =>
  new Promise(resolve => setTimeout(resolve, ms));

export function percentile(sorted: number[], p: number) {
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

/** A port nobody listens on now (the OS's pick), for processes that need one up front. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

/** liveSandbox.ts in its own process. */
export async function startLiveSandbox(env: Record<string, string>) {
  const child: ChildProcess = fork(path.join(__dirname, 'liveSandbox.ts'), [], {
    cwd: ROOT,
    execArgv: ['--require', '@backstage/cli-node/config/nodeTransform.cjs'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const info = await new Promise<LiveSandboxInfo>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the live sandbox did not start in 10 min')),
      600_000,
    );
    child.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`the live sandbox exited with ${code}`));
    });
    child.on('message', (message: any) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message.info);
      }
    });
  });
  let nextId = 0;
  return {
    info,
    /** Requests each Argo CD instance received through its proxy so far, by path. */
    counts: () =>
      new Promise<PathCounts>(resolve => {
        const id = nextId++;
        const listener = (message: any) => {
          if (message?.type === 'counts' && message.id === id) {
            child.off('message', listener);
            resolve(message.counts);
          }
        };
        child.on('message', listener);
        child.send({ type: 'counts', id });
      }),
    stop: () =>
      new Promise<void>(resolve => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send({ type: 'stop' });
      }),
  };
}

export type LiveSandbox = Awaited<ReturnType<typeof startLiveSandbox>>;

/** Requests between two snapshots, all instances together, by path. */
export function countsBetween(before: PathCounts, after: PathCounts) {
  const byPath = new Map<string, number>();
  for (const [instance, paths] of Object.entries(after)) {
    for (const [key, n] of Object.entries(paths)) {
      const delta = n - (before[instance]?.[key] ?? 0);
      if (delta) byPath.set(key, (byPath.get(key) ?? 0) + delta);
    }
  }
  const total = [...byPath.values()].reduce((a, b) => a + b, 0);
  return { total, byPath };
}

/** A config repository of the sandbox, cloned once; each bump is a commit and a push, as CI's. */
export async function configRepo(sandbox: LiveSandboxInfo, repo: string) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `bench-live-${repo}-`));
  const url = `${sandbox.git.replace(
    'http://',
    `http://sandbox:${sandbox.gitToken}@`,
  )}/git/${repo}.git`;
  const git = (...args: string[]) =>
    exec('git', [
      '-C',
      dir,
      '-c',
      'user.name=bench',
      '-c',
      'user.email=bench@example.com',
      ...args,
    ]);
  await exec('git', ['clone', '--quiet', url, dir]);
  return {
    /** Pushes the image (as CI does first), then sets `env`'s tag; answers the commit. */
    async bump(env: string, tag: string) {
      const image = `registry.example.com/checkout/${repo.replace(
        /-config$/,
        '',
      )}:${tag}`;
      const res = await fetch(`${sandbox.git}/api/sandbox/images`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sandbox.gitToken}` },
        body: JSON.stringify({ image }),
      });
      if (!res.ok) throw new Error(`image push: ${res.status}`);
      const file = path.join(dir, `chart/values-${env}.yaml`);
      await fs.writeFile(
        file,
        (await fs.readFile(file, 'utf8')).replace(/tag: .*/, `tag: '${tag}'`),
      );
      await git('commit', '--quiet', '-am', `${env} gets ${tag}`);
      await git('push', '--quiet', 'origin', 'HEAD:main');
      return (await git('rev-parse', 'HEAD')).stdout.trim();
    },
    remove: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

/** A short, unique image tag (7 hex digits, as CI's short SHAs). */
export const newTag = () => randomBytes(4).toString('hex').slice(0, 7);

// ---------------------------------------------------------------------------
// 1. Upstream requests per minute with 200 tabs

export function entities(): Entity[] {
  const component = (name: string): Entity => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      namespace: 'default',
      annotations: {
        'argocd/app-selector': `app.kubernetes.io/name=${name}`,
      },
    },
    spec: { type: 'service', owner: 'team-checkout', lifecycle: 'production' },
  });
  return [
    component('service-a'),
    component('service-b'),
    ...Array.from({ length: SERVICES }, (_, i) =>
      component(`fleet-${String(i).padStart(4, '0')}`),
    ),
  ];
}
