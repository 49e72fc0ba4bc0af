// What the status scenario runs: the sandbox in its own process, one Backstage backend
// with our plugin and both peers' backends, and an entity view as each frontend makes it.
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

export const SERVICES = 1000;
export const SELECTOR = 'app.kubernetes.io/name=service-a';

export function percentile(sorted: number[], p: number) {
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
export async function startSandboxProcess(gitPort: number, latencyMs: number) {
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

export type SandboxProcess = Awaited<ReturnType<typeof startSandboxProcess>>;

export async function startBackend(
  sandbox: SandboxProcess,
  cacheSeconds: number,
) {
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
export async function indexed(base: string) {
  const start = process.hrtime.bigint();
  for (let i = 0; ; i++) {
    if ((await get(`${base}/api/gitops/health`)).indexed)
      return Number(process.hrtime.bigint() - start) / 1e6;
    if (i > 12_000) throw new Error('the GitOps plugin never said indexed');
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

/** Requests the Argo CD instances have received so far. */
export const upstream = async (sandbox: SandboxProcess) =>
  (await sandbox.sandboxInfo()).instances.reduce(
    (sum, i) => sum + i.requests,
    0,
  );

export async function get(url: string) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Our entity view is one call; Roadie's frontend makes a find, then one call per
 * instance; the community's frontend lists by selector on each configured instance.
 */
export const views = {
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

export async function timed(times: number, run: () => Promise<unknown>) {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return samples.sort((a, b) => a - b);
}
