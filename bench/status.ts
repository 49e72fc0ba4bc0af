/* eslint-disable no-console */
// The status scenario: our backend, @roadiehq/backstage-plugin-argo-cd-backend and the
// Backstage community's @backstage-community/plugin-argocd-backend side by side in one
// backend, against the same sandbox (two Argo CD instances, the examples plus 1,000
// generated services × 3 environments).
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import gitopsPlugin from '@gitops-backstage/plugin-gitops-backend';
import { spawn } from 'node:child_process';
import path from 'node:path';
import roadieArgoCdPlugin from '@roadiehq/backstage-plugin-argo-cd-backend';
import communityArgoCdPlugin from '@backstage-community/plugin-argocd-backend';
import { AddressInfo } from 'node:net';
import { benchBackendConfig } from './backendConfig';

export type Result = {
  scenario: string;
  metric: string;
  value: string;
  target?: string;
};

const SERVICES = 1000;
const SELECTOR = 'app.kubernetes.io/name=service-a';

function percentile(sorted: number[], p: number) {
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

function entities(): Entity[] {
  const component = (name: string, selector: string): Entity => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      namespace: 'default',
      annotations: { 'argocd/app-selector': selector },
    },
    spec: { type: 'service', owner: 'team-checkout', lifecycle: 'production' },
  });
  return [
    component('service-a', SELECTOR),
    ...Array.from({ length: SERVICES }, (_, i) => {
      const name = `fleet-${String(i).padStart(4, '0')}`;
      return component(name, `app.kubernetes.io/name=${name}`);
    }),
  ];
}

interface SandboxInfo {
  git: string;
  gitRequests: number;
  instances: Array<{
    name: string;
    url: string;
    token: string;
    requests: number;
  }>;
}

/** The sandbox in its own process, as `yarn sandbox` runs it, so it does not share our event loop. */
async function startSandboxProcess(gitPort: number, latencyMs: number) {
  const root = path.resolve(__dirname, '..');
  const child = spawn(
    process.execPath,
    [
      '--require',
      '@backstage/cli-node/config/nodeTransform.cjs',
      'packages/gitops-sandbox/src/cli.ts',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        SANDBOX_GIT_PORT: String(gitPort),
        SANDBOX_SCALE_SERVICES: String(SERVICES),
        SANDBOX_LATENCY_MS: String(latencyMs),
      },
      stdio: 'ignore',
    },
  );
  const gitToken = 'sandbox-git-token';
  const info = async (): Promise<SandboxInfo> => {
    const res = await fetch(`http://127.0.0.1:${gitPort}/api/sandbox`, {
      headers: { authorization: `Bearer ${gitToken}` },
    });
    if (!res.ok) throw new Error(`sandbox: ${res.status}`);
    return res.json();
  };
  for (let i = 0; ; i++) {
    try {
      return {
        info: await info(),
        gitToken,
        sandboxInfo: info,
        // Waits for the exit: the next scenario's sandbox takes the same port.
        stop: () =>
          new Promise<void>(resolve => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill();
          }),
      };
    } catch (error) {
      if (i > 600) throw error;
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }
}

type SandboxProcess = Awaited<ReturnType<typeof startSandboxProcess>>;

async function startBackend(sandbox: SandboxProcess, cacheSeconds: number) {
  const { server } = await startTestBackend({
    features: [
      gitopsPlugin,
      roadieArgoCdPlugin,
      communityArgoCdPlugin,
      catalogServiceMock.factory({ entities: entities() }),
      mockServices.rootConfig.factory({
        data: benchBackendConfig(
          { ...sandbox.info, gitToken: sandbox.gitToken },
          { cacheSeconds },
        ),
      }),
    ],
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  };
}

/** Waits until our plugin's health says views read memory only; answers how long it took. */
async function indexed(base: string) {
  const start = process.hrtime.bigint();
  for (let i = 0; ; i++) {
    if ((await get(`${base}/api/gitops/health`)).indexed)
      return Number(process.hrtime.bigint() - start) / 1e6;
    if (i > 12_000) throw new Error('the GitOps plugin never said indexed');
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

/** Requests the Argo CD instances have received so far. */
const upstream = async (sandbox: SandboxProcess) =>
  (await sandbox.sandboxInfo()).instances.reduce(
    (sum, i) => sum + i.requests,
    0,
  );

async function get(url: string) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Our entity view is one call; Roadie's frontend makes a find, then one call per
 * instance; the community's frontend lists by selector on each configured instance.
 */
const views = {
  ours: async (base: string) => {
    await get(`${base}/api/gitops/entities/component/default/service-a/status`);
  },
  roadie: async (base: string) => {
    const found: Array<{ name: string }> = await get(
      `${base}/api/argocd/find/selector/${encodeURIComponent(SELECTOR)}`,
    );
    await Promise.all(
      found.map(instance =>
        get(
          `${base}/api/argocd/argoInstance/${
            instance.name
          }/applications/selector/${encodeURIComponent(SELECTOR)}`,
        ),
      ),
    );
  },
  community: (instances: string[]) => async (base: string) => {
    await Promise.all(
      instances.map(instance =>
        get(
          `${base}/api/backstage-community-argocd/argoInstance/${instance}/applications/selector/${encodeURIComponent(
            SELECTOR,
          )}`,
        ),
      ),
    );
  },
};

async function timed(times: number, run: () => Promise<unknown>) {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return samples.sort((a, b) => a - b);
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

/**
 * `latencyMs` is added to every Argo CD answer: 0 is loopback; a remote Argo CD takes
 * tens of milliseconds per call.
 */
export async function statusScenario(latencyMs: number): Promise<Result[]> {
  const sandbox = await startSandboxProcess(7190, latencyMs);
  const upstreamNote = latencyMs
    ? `, Argo CD answers in +${latencyMs} ms`
    : ', loopback';
  const results: Result[] = [];
  const row = (
    scenario: string,
    metric: string,
    value: string,
    target?: string,
  ) => results.push({ scenario, metric, value, target });
  try {
    const view = {
      ours: views.ours,
      roadie: views.roadie,
      community: views.community(sandbox.info.instances.map(i => i.name)),
    };
    // Cold: a fresh backend (empty cache) per sample, its first view of the entity once
    // the backend is ready (our health says indexed: watches live, config read ahead),
    // as a user's first view after a start. Ours right at start (before the index) too.
    const cold = {
      ours: [] as number[],
      roadie: [] as number[],
      community: [] as number[],
    };
    const coldRequests = { ours: 0, roadie: 0, community: 0 };
    let coldGitRequests = 0;
    const atStart: number[] = [];
    const toIndexed: number[] = [];
    for (let i = 0; i < 5; i++) {
      for (const side of ['ours', 'roadie', 'community'] as const) {
        const backend = await startBackend(sandbox, 300);
        toIndexed.push(await indexed(backend.base));
        const before = await upstream(sandbox);
        const gitBefore = (await sandbox.sandboxInfo()).gitRequests;
        cold[side].push(...(await timed(1, () => view[side](backend.base))));
        coldRequests[side] = (await upstream(sandbox)) - before;
        if (side === 'ours')
          coldGitRequests =
            (await sandbox.sandboxInfo()).gitRequests - gitBefore;
        await backend.close();
      }
      const backend = await startBackend(sandbox, 300);
      atStart.push(...(await timed(1, () => view.ours(backend.base))));
      await indexed(backend.base);
      await backend.close();
    }

    const backend = await startBackend(sandbox, 300);
    try {
      // Warm views are measured once the read ahead is done, not beside it.
      await indexed(backend.base);
      await views.ours(backend.base);
      const warmBefore = await upstream(sandbox);
      const warmOurs = await timed(200, () => views.ours(backend.base));
      const warmOursRequests = ((await upstream(sandbox)) - warmBefore) / 200;
      const roadieBefore = await upstream(sandbox);
      const warmRoadie = await timed(50, () => views.roadie(backend.base));
      const warmRoadieRequests =
        ((await upstream(sandbox)) - roadieBefore) / 50;
      const communityBefore = await upstream(sandbox);
      const warmCommunity = await timed(50, () => view.community(backend.base));
      const warmCommunityRequests =
        ((await upstream(sandbox)) - communityBefore) / 50;

      const entity = `entity status (service-a: 3 environments, 2 instances${upstreamNote})`;
      row(
        entity,
        'upstream requests per view, cold — ours',
        String(coldRequests.ours),
        '0',
      );
      row(
        entity,
        'Git requests per view, cold — ours',
        String(coldGitRequests),
        '0',
      );
      row(
        entity,
        'upstream requests per view, cold — Roadie',
        String(coldRequests.roadie),
      );
      row(
        entity,
        'upstream requests per view, cold — community',
        String(coldRequests.community),
      );
      row(
        entity,
        'upstream requests per view, warm — ours',
        warmOursRequests.toFixed(2),
        '0',
      );
      row(
        entity,
        'upstream requests per view, warm — Roadie',
        warmRoadieRequests.toFixed(2),
      );
      row(
        entity,
        'upstream requests per view, warm — community',
        warmCommunityRequests.toFixed(2),
      );
      const sorted = (samples: number[]) => samples.sort((a, b) => a - b);
      const three = (p: number, a: number[], b: number[], c: number[]) =>
        [a, b, c].map(samples => ms(percentile(samples, p))).join(' / ');
      row(
        entity,
        'cold p50 (first view once started) — ours / Roadie / community',
        three(
          50,
          sorted(cold.ours),
          sorted(cold.roadie),
          sorted(cold.community),
        ),
      );
      row(
        entity,
        `ours: backend started → indexed (watches live, config of ${
          SERVICES + 2
        } services read ahead): p50 / max`,
        `${ms(percentile(sorted(toIndexed), 50))} / ${ms(
          Math.max(...toIndexed),
        )}`,
      );
      row(
        entity,
        'ours right at start, before the index is built: p50 / max',
        `${ms(percentile(sorted(atStart), 50))} / ${ms(Math.max(...atStart))}`,
      );
      row(
        entity,
        'warm p50 — ours / Roadie / community',
        three(50, warmOurs, warmRoadie, warmCommunity),
      );
      row(
        entity,
        'warm p95 — ours / Roadie / community',
        three(95, warmOurs, warmRoadie, warmCommunity),
        '≤ 5 ms and ≥ 10× faster',
      );
      for (const [peer, samples] of [
        ['Roadie', warmRoadie],
        ['community', warmCommunity],
      ] as const) {
        row(
          entity,
          `warm p95 speed-up over ${peer}`,
          `${(percentile(samples, 95) / percentile(warmOurs, 95)).toFixed(1)}×`,
          '≥ 10×',
        );
      }

      // Fleet: Roadie has no fleet view; ours answers every entity in one call.
      const fleetScenario = `fleet (${SERVICES} services × 3 environments, ${sandbox.info.instances.length} instances${upstreamNote})`;
      const fresh = await startBackend(sandbox, 300);
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const fleetCold = await timed(1, () =>
        get(`${fresh.base}/api/gitops/fleet`),
      );
      // Warm as the entity views: once the read ahead is done, not beside it.
      await indexed(fresh.base);
      const fleetWarm = await timed(20, () =>
        get(`${fresh.base}/api/gitops/fleet`),
      );
      global.gc?.();
      const heapAfter = process.memoryUsage().heapUsed;
      await fresh.close();
      row(
        fleetScenario,
        'cold (one List per instance)',
        ms(fleetCold[0]),
        '≤ 2 s',
      );
      row(
        fleetScenario,
        'warm p50 / p95 (once indexed)',
        `${ms(percentile(fleetWarm, 50))} / ${ms(percentile(fleetWarm, 95))}`,
        '≤ 300 ms',
      );
      row(
        fleetScenario,
        'heap held after the fleet is cached',
        `${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB${
          global.gc ? '' : ' (no --expose-gc: approximate)'
        }`,
      );
    } finally {
      await backend.close();
    }
  } finally {
    await sandbox.stop();
  }
  return results;
}
