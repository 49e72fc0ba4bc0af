/* eslint-disable no-console */
// The live scenario: the backend's watch of Argo CD with signals to the browser, against
// the same backend with `gitops.watch: false` and a frontend that polls (no signals).
//
// 1. Upstream Argo CD requests per minute at steady state: 3,000 Applications (scale
//    mode, 1,000 services × 3 environments over two instances, plus the examples),
//    200 simulated open tabs, each on its own entity. Counted at the sandbox's Argo CD
//    (a counting proxy in front of each instance, liveSandbox.ts), by path.
// 2. Change → lane in Chromium: from the sandbox's Argo CD announcing that service-a's
//    dev sync finished with a new image, to the Deployments tab showing that image in
//    the dev lane; one page with signals (watch), one without (polling), same changes.
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { entitySignalChannel } from '@gitops-backstage/plugin-gitops-common';
import gitopsPlugin from '@gitops-backstage/plugin-gitops-backend';
import { ChildProcess, execFile, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net, { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import type { LiveSandboxInfo, PathCounts } from './liveSandbox';
import { benchBackendConfig } from './backendConfig';
import { startProcess, waitForUrl } from './processes';
import type { Result } from './status';

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');

const SERVICES = 1000;
const TABS = 200;
/** `useLiveStatus` without signals: EntityDeployments' REFRESH_MS. */
const POLL_MS = 15_000;
/** `useLiveStatus` with signals: SIGNALLED_RELOAD_MS, the safety net. */
const SIGNALLED_RELOAD_MS = 5 * 60_000;
const WARM_UP_MS = 20_000;
const WINDOW_MS = 60_000;
const CHANGES = 20;

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number) {
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

/** A port nobody listens on now (the OS's pick), for processes that need one up front. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

/** liveSandbox.ts in its own process. */
async function startLiveSandbox(env: Record<string, string>) {
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

type LiveSandbox = Awaited<ReturnType<typeof startLiveSandbox>>;

/** Requests between two snapshots, all instances together, by path. */
function countsBetween(before: PathCounts, after: PathCounts) {
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
async function configRepo(sandbox: LiveSandboxInfo, repo: string) {
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
const newTag = () => randomBytes(4).toString('hex').slice(0, 7);

// ---------------------------------------------------------------------------
// 1. Upstream requests per minute with 200 tabs

function entities(): Entity[] {
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

/** What the backend publishes, delivered in process to the simulated tabs. */
function signalBus() {
  const listeners = new Map<string, Set<() => void>>();
  let published = 0;
  return {
    factory: createServiceFactory({
      service: signalsServiceRef,
      deps: {},
      factory: () => ({
        async publish(signal: { channel: string }) {
          published++;
          listeners.get(signal.channel)?.forEach(listener => listener());
        },
      }),
    }),
    subscribe(channel: string, listener: () => void) {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
    },
    get published() {
      return published;
    },
  };
}

async function startBackend(
  sandbox: LiveSandboxInfo,
  watch: boolean,
  signals: ReturnType<typeof signalBus>,
) {
  const { server } = await startTestBackend({
    features: [
      gitopsPlugin,
      signals.factory,
      catalogServiceMock.factory({ entities: entities() }),
      mockServices.rootConfig.factory({
        data: benchBackendConfig(sandbox, { watch }),
      }),
    ],
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  };
}

/**
 * A simulated open tab of an entity's Deployments tab, as `useLiveStatus` loads: once
 * when opened, then on every signal of its entity's channel (and every 5 minutes as a
 * safety net), or, without signals, every 15 s after the last load ended.
 */
function openTab(
  base: string,
  name: string,
  mode: { signals: ReturnType<typeof signalBus> } | 'polling',
  openAfterMs: number,
  stats: { loads: number; failures: number },
) {
  const url = `${base}/api/gitops/entities/component/default/${name}/status`;
  let closed = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) run();
    }, ms);
    timers.add(timer);
  };
  const load = async () => {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (!res.ok) stats.failures++;
    } catch {
      stats.failures++;
    }
    stats.loads++;
  };
  const poll = () => load().then(() => later(POLL_MS, poll));
  const safetyNet = () =>
    load().then(() => later(SIGNALLED_RELOAD_MS, safetyNet));
  later(openAfterMs, () => {
    if (mode === 'polling') {
      poll();
    } else {
      load();
      mode.signals.subscribe(
        entitySignalChannel(`component:default/${name}`),
        () => {
          if (!closed) load();
        },
      );
      // The 5-minute reload, at a phase of its own.
      later(Math.random() * SIGNALLED_RELOAD_MS, safetyNet);
    }
  });
  return () => {
    closed = true;
    timers.forEach(clearTimeout);
  };
}

async function upstreamRate(sandbox: LiveSandbox, watch: boolean) {
  const signals = signalBus();
  const backend = await startBackend(sandbox.info, watch, signals);
  const repoA = await configRepo(sandbox.info, 'service-a-config');
  const repoB = await configRepo(sandbox.info, 'service-b-config');
  const stats = { loads: 0, failures: 0 };
  // One tab per entity: the two examples and 198 generated services; opened over one
  // polling period, so their phases spread.
  const names = [
    'service-a',
    'service-b',
    ...Array.from(
      { length: TABS - 2 },
      (_, i) => `fleet-${String(i * 5).padStart(4, '0')}`,
    ),
  ];
  const closers = names.map((name, i) =>
    openTab(
      backend.base,
      name,
      watch ? { signals } : 'polling',
      (i / names.length) * POLL_MS,
      stats,
    ),
  );
  try {
    await sleep(POLL_MS + WARM_UP_MS);
    const before = await sandbox.counts();
    const loadsBefore = stats.loads;
    const signalsBefore = signals.published;
    const started = Date.now();
    // A few Applications change in the window: new images in service-a's dev and
    // staging and service-b's dev (pushed, synced by Argo CD's automated sync).
    const bumps = [
      { at: 0, repo: repoA, env: 'dev' },
      { at: 20_000, repo: repoA, env: 'staging' },
      { at: 40_000, repo: repoB, env: 'dev' },
    ];
    for (const bump of bumps) {
      await sleep(Math.max(0, started + bump.at - Date.now()));
      await bump.repo.bump(bump.env, newTag());
    }
    await sleep(Math.max(0, started + WINDOW_MS - Date.now()));
    const after = await sandbox.counts();
    const elapsed = Date.now() - started;
    const { total, byPath } = countsBetween(before, after);
    return {
      perMinute: (total * 60_000) / elapsed,
      byPath,
      tabLoads: stats.loads - loadsBefore,
      failures: stats.failures,
      signals: signals.published - signalsBefore,
      elapsed,
    };
  } finally {
    closers.forEach(close => close());
    await backend.close();
    await repoA.remove();
    await repoB.remove();
  }
}

function describeByPath(byPath: Map<string, number>) {
  if (byPath.size === 0) return 'none';
  return [...byPath]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key}: ${n}`)
    .join('; ');
}

async function upstreamRows(): Promise<Result[]> {
  const sandbox = await startLiveSandbox({
    LIVE_SCALE_SERVICES: String(SERVICES),
  });
  try {
    const watch = await upstreamRate(sandbox, true);
    const polling = await upstreamRate(sandbox, false);
    const scenario = `live updates: upstream Argo CD requests at steady state (${(
      SERVICES * 3
    ).toLocaleString(
      'en-US',
    )} Applications over 2 instances, ${TABS} tabs each on its own entity, 3 images changed in the window)`;
    const row = (name: string, r: typeof watch, target?: string): Result[] => [
      {
        scenario,
        metric: `${name}: requests per minute at Argo CD (window ${(
          r.elapsed / 1000
        ).toFixed(0)} s after ${(POLL_MS + WARM_UP_MS) / 1000} s warm-up)`,
        value: `${r.perMinute.toFixed(1)} /min (${describeByPath(r.byPath)})`,
        target,
      },
      {
        scenario,
        metric: `${name}: tab loads of the entity status in the window (signals published)`,
        value: `${r.tabLoads} (${r.signals})${
          r.failures ? `, ${r.failures} failed loads` : ''
        }`,
      },
    ];
    return [
      ...row(
        'watch (tabs reload when signalled)',
        watch,
        'the reconnects only',
      ),
      ...row('polling (gitops.watch: false, every tab every 15 s)', polling),
    ];
  } finally {
    await sandbox.stop();
  }
}

// ---------------------------------------------------------------------------
// 2. Change → lane in Chromium

/** Starts a command in its own process group, output to `log`; answers how to stop the group. */
/**
 * app-config.yaml with this run's ports: the backend on `port` serving the app's
 * production build, the sandbox's Git and Argo CD instead of the default ports.
 */
async function backendConfig(
  dir: string,
  port: number,
  sandbox: LiveSandboxInfo,
  live: boolean,
) {
  const base = `http://localhost:${port}`;
  const gitHost = new URL(sandbox.git).host;
  const config = JSON.parse(
    JSON.stringify(
      parse(await fs.readFile(path.join(ROOT, 'app-config.yaml'), 'utf8')),
    ).replaceAll('127.0.0.1:7090', gitHost),
  );
  config.app.baseUrl = base;
  // Without signals: the signals plugin's API is disabled, as in an app without
  // @backstage/plugin-signals (useSignal then says signals are unavailable).
  if (!live) config.app.extensions.push({ 'api:signals': false });
  config.backend.baseUrl = base;
  config.backend.listen = { port, host: '127.0.0.1' };
  config.backend.cors.origin = base;
  config.argocd.appLocatorMethods = [
    {
      type: 'config',
      instances: sandbox.instances.map(i => ({
        name: i.name,
        url: i.url,
        token: i.token,
      })),
    },
  ];
  config.gitops.watch = live;
  const file = path.join(dir, `app-config.${live ? 'watch' : 'polling'}.yaml`);
  await fs.writeFile(file, JSON.stringify(config, null, 2));
  return { base, file };
}

/** The time (ms since the epoch) the sandbox's Argo CD announced each dev image of service-a. */
function announcements(sandbox: LiveSandboxInfo) {
  const main = sandbox.instances.find(i => i.name === 'main')!;
  const seen = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  const controller = new AbortController();
  const follow = async () => {
    const res = await fetch(
      `${main.directUrl}/api/v1/stream/applications?name=service-a-dev`,
      {
        headers: { authorization: `Bearer ${main.token}` },
        signal: controller.signal,
      },
    );
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body as any) {
      const at = Date.now();
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines.filter(l => l.trim())) {
        const images: string[] =
          JSON.parse(line).result?.application?.status?.summary?.images ?? [];
        for (const image of images) {
          const tag = image.split(':').pop()!;
          if (!seen.has(tag)) {
            seen.set(tag, at);
            waiting.get(tag)?.(at);
          }
        }
      }
    }
  };
  const following = follow().catch(error => {
    if (!controller.signal.aborted) console.error(`live: stream: ${error}`);
  });
  return {
    /** When the sandbox first streamed service-a-dev running `tag`. */
    when: (tag: string, timeoutMs: number) =>
      new Promise<number>((resolve, reject) => {
        if (seen.has(tag)) return resolve(seen.get(tag)!);
        const timer = setTimeout(
          () => reject(new Error(`service-a-dev never ran ${tag}`)),
          timeoutMs,
        );
        waiting.set(tag, at => {
          clearTimeout(timer);
          resolve(at);
        });
      }),
    stop: async () => {
      controller.abort();
      await following;
    },
  };
}

/** When (ms since the epoch, the browser's clock) the dev lane first shows `tag`. */
function laneShows(page: any, tag: string, timeoutMs: number) {
  return page.evaluate(
    ([wanted, timeout]: [string, number]) =>
      new Promise<number | null>(resolve => {
        const check = () =>
          document
            .querySelector(
              '[data-testid="lane-dev"] [data-testid="running-version"]',
            )
            ?.textContent?.includes(wanted) ?? false;
        if (check()) return resolve(Date.now());
        const observer = new MutationObserver(() => {
          if (!check()) return;
          observer.disconnect();
          resolve(Date.now());
        });
        observer.observe(document.body, {
          subtree: true,
          childList: true,
          characterData: true,
        });
        setTimeout(() => {
          observer.disconnect();
          resolve(null);
        }, timeout);
      }),
    [tag, timeoutMs],
  ) as Promise<number | null>;
}

async function chromiumRows(): Promise<Result[]> {
  await exec('yarn', ['workspace', 'app', 'build'], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-live-portal-'));
  const ports = { watch: await freePort(), polling: await freePort() };
  const sandbox = await startLiveSandbox({
    LIVE_WEBHOOKS: JSON.stringify(
      Object.values(ports).map(port => ({
        url: `http://127.0.0.1:${port}/api/events/http/github`,
        kind: 'github',
        secret: 'sandbox-webhook-secret',
      })),
    ),
  });
  const stops: Array<() => void> = [];
  const { launchBrowser } = await import('../e2e/portal.mjs');
  let browser: any;
  const stream = announcements(sandbox.info);
  const repo = await configRepo(sandbox.info, 'service-a-config');
  try {
    const variants = [];
    for (const live of [true, false]) {
      const port = live ? ports.watch : ports.polling;
      const { base, file } = await backendConfig(dir, port, sandbox.info, live);
      const log = path.join(dir, `backend.${live ? 'watch' : 'polling'}.log`);
      stops.push(
        startProcess(['workspace', 'backend', 'start', '--config', file], log),
      );
      variants.push({ live, base, log });
    }
    for (const v of variants) {
      await waitForUrl(`${v.base}/api/gitops/health`, 600_000).catch(
        async error => {
          error.message += `\n${(await fs.readFile(v.log, 'utf8')).slice(
            -3000,
          )}`;
          throw error;
        },
      );
    }
    browser = await launchBrowser();
    const pages = [];
    for (const v of variants) {
      const context = await browser.newContext({
        viewport: { width: 1400, height: 900 },
      });
      const page = await context.newPage();
      page.setDefaultTimeout(180_000);
      const sockets: string[] = [];
      const statusLoads: number[] = [];
      page.on('websocket', (ws: any) => sockets.push(ws.url()));
      // Loads that did not answer 200: an error (usePolling then backs off: 30 s, 60 s,
      // …) or aborted (a signal's reload cancels the load in flight).
      const statusFailures = new Map<string, number>();
      const isStatus = (u: string) =>
        /\/api\/gitops\/entities\/.+\/status/.test(u);
      const failed = (why: string) =>
        statusFailures.set(why, (statusFailures.get(why) ?? 0) + 1);
      page.on('request', (request: any) => {
        if (isStatus(request.url())) statusLoads.push(Date.now());
      });
      page.on('response', (response: any) => {
        if (isStatus(response.url()) && response.status() >= 400)
          failed(`HTTP ${response.status()}`);
      });
      page.on('requestfailed', (request: any) => {
        if (isStatus(request.url()))
          failed(request.failure()?.errorText ?? 'failed');
      });
      const url = `${v.base}/catalog/default/component/service-a/deployments`;
      const enter = page.getByRole('button', { name: 'Enter' });
      const lane = page.getByTestId('lane-dev').getByTestId('running-version');
      // The first visit signs in as the guest; a navigation before the sign-in ends
      // lands on the sign-in page again.
      for (let attempt = 0; ; attempt++) {
        await page.goto(url);
        await enter.or(lane).first().waitFor();
        if (!(await enter.isVisible())) break;
        if (attempt === 3)
          throw new Error(`${v.base}: the sign-in did not hold`);
        await enter.click();
        await enter.waitFor({ state: 'hidden' });
        await page.waitForLoadState('networkidle');
      }
      await lane.waitFor();
      pages.push({
        ...v,
        page,
        sockets,
        statusLoads,
        statusFailures,
        samples: [] as number[],
      });
    }
    const missed = { watch: 0, polling: 0 };
    const firstChange = Date.now();
    for (let i = 0; i < CHANGES; i++) {
      // A pause of 0–15 s first: the loop would otherwise start each change right
      // after the polling page's load that showed the last one, in step with its polls.
      await sleep(Math.random() * POLL_MS);
      const tag = newTag();
      const shown = pages.map(p => laneShows(p.page, tag, 120_000));
      await repo.bump('dev', tag);
      const announced = await stream.when(tag, 120_000);
      const at = await Promise.all(shown);
      pages.forEach((p, n) => {
        if (at[n] === null) missed[p.live ? 'watch' : 'polling']++;
        else p.samples.push(at[n]! - announced);
      });
      console.log(
        `live: change ${i + 1}/${CHANGES}: ${pages
          .map(
            (p, n) =>
              `${p.live ? 'watch' : 'polling'} ${
                at[n] === null ? 'missed' : `${at[n]! - announced} ms`
              }`,
          )
          .join(', ')}`,
      );
    }
    const changesMs = Date.now() - firstChange;
    const scenario =
      "live updates in Chromium (service-a's dev sync finishing with a new image in the sandbox's Argo CD → the Deployments tab's dev lane shows it; production build served by the backend)";
    const rows: Result[] = [];
    for (const p of pages) {
      const sorted = p.samples.sort((a, b) => a - b);
      const name = p.live
        ? 'signals (gitops.watch: true)'
        : 'polling (no signals API, gitops.watch: false)';
      const lost = missed[p.live ? 'watch' : 'polling'];
      rows.push({
        scenario,
        metric: `change → lane, ${name}: p50 / p95 of ${sorted.length} changes${
          lost ? ` (${lost} not shown within 120 s)` : ''
        }`,
        value: sorted.length
          ? `${percentile(sorted, 50).toFixed(0)} ms / ${percentile(
              sorted,
              95,
            ).toFixed(0)} ms`
          : 'none shown',
        target: p.live ? '≤ 1 s p95' : undefined,
      });
      const signalsSocket = p.sockets.some(s => s.includes('/api/signals'));
      const during = p.statusLoads.filter(t => t >= firstChange).length;
      rows.push({
        scenario,
        metric: `${name}: how the page learnt of changes`,
        value: `${
          signalsSocket ? 'signals websocket open' : 'no signals websocket'
        }; ${during} status loads in ${(changesMs / 1000).toFixed(0)} s${
          p.statusFailures.size
            ? ` (not answered 200, whole run: ${[...p.statusFailures]
                .map(([why, n]) => `${why} × ${n}`)
                .join(', ')})`
            : ''
        }`,
      });
      if (p.live !== signalsSocket) {
        throw new Error(
          `the ${p.live ? 'watch' : 'polling'} page ${
            signalsSocket ? 'opened' : 'did not open'
          } the signals websocket`,
        );
      }
    }
    return rows;
  } finally {
    await browser?.close();
    stops.forEach(stop => stop());
    await stream.stop();
    await repo.remove();
    await sandbox.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export async function liveScenario(): Promise<Result[]> {
  const only = process.env.BENCH_LIVE_PART;
  return [
    ...(only && only !== 'upstream' ? [] : await upstreamRows()),
    ...(only && only !== 'chromium' ? [] : await chromiumRows()),
  ];
}
