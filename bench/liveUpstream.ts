// Part 1 of the live scenario (live.ts): upstream Argo CD requests per minute at steady
// state, watch against polling, with 200 simulated open tabs.
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { entitySignalChannel } from '@gitops-backstage/plugin-gitops-common';
import gitopsPlugin from '@gitops-backstage/plugin-gitops-backend';
import { AddressInfo } from 'node:net';
import type { LiveSandboxInfo } from './liveSandbox';
import { benchBackendConfig } from './backendConfig';
import type { Result } from './status';
import {
  SERVICES,
  TABS,
  POLL_MS,
  SIGNALLED_RELOAD_MS,
  WARM_UP_MS,
  WINDOW_MS,
  sleep,
  startLiveSandbox,
  countsBetween,
  configRepo,
  newTag,
  entities,
} from './liveCommon';
import type { LiveSandbox } from './liveCommon';

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

export async function upstreamRows(): Promise<Result[]> {
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
