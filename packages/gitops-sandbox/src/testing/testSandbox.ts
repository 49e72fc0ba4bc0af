import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ArgoContracts } from '../contracts';
import { startSandbox, Sandbox } from '../sandbox';

const exec = promisify(execFile);

/** Fast clocks for tests: every step of a sync takes a tenth of a second. */
export const FAST_TIMING = {
  reconcileMs: 50,
  autoSyncDelayMs: 100,
  syncMs: 100,
  progressMs: 100,
  rolloutStepMs: 100,
  // New pods that cannot pull their image are Degraded after this.
  progressDeadlineMs: 1500,
};

// Tests run from source, so __dirname is the src/testing folder.
// eslint-disable-next-line no-restricted-syntax
export const EXAMPLES_DIR = path.resolve(__dirname, '../../../../examples');

/** A sandbox seeded from the examples, on free ports, with fast clocks. */
export function startTestSandbox(
  options: Parameters<typeof startSandbox>[0] = {},
) {
  return startSandbox({
    examplesDir: EXAMPLES_DIR,
    timing: FAST_TIMING,
    ...options,
  });
}

/** Calls an instance's API with its token; answers status and parsed body. */
export async function argo(
  sandbox: Sandbox,
  instance: string,
  route: string,
  init: { method?: string; body?: unknown; token?: string | null } = {},
) {
  const target = sandbox.instances.find(i => i.name === instance)!;
  const token = init.token === undefined ? target.token : init.token;
  const res = await fetch(`${target.url}${route}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(init.body !== undefined && { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * Creates the Application `app` on instance main through the API: the chart at `chart/`
 * of the repository `<app>-config` with its values-dev.yaml, synced automatically into
 * the namespace `app`, which the sync creates.
 */
export async function createChartApplication(sandbox: Sandbox, app: string) {
  const created = await argo(sandbox, 'main', '/api/v1/applications', {
    method: 'POST',
    body: {
      metadata: { name: app },
      spec: {
        project: 'default',
        source: {
          repoURL: sandbox.repoUrl(`${app}-config`),
          targetRevision: 'main',
          path: 'chart',
          helm: { valueFiles: ['values-dev.yaml'] },
        },
        destination: {
          server: 'https://kubernetes.default.svc',
          namespace: app,
        },
        syncPolicy: {
          automated: {},
          syncOptions: ['CreateNamespace=true'],
        },
      },
    },
  });
  if (created.status !== 200) {
    throw new Error(
      `Creating ${app} answered ${created.status}: ${JSON.stringify(
        created.body,
      )}`,
    );
  }
}

/**
 * Creates the app of apps `name` in argocd on instance main through the API, as the
 * templates register it: the Git directory (or Helm chart) `dir` of the repository
 * `repo` at main, synced automatically with pruning into the argocd namespace.
 */
export async function createAppOfApps(
  sandbox: Sandbox,
  name: string,
  repo: string,
  dir: string,
) {
  const created = await argo(sandbox, 'main', '/api/v1/applications', {
    method: 'POST',
    body: {
      metadata: { name, namespace: 'argocd' },
      spec: {
        project: 'default',
        source: {
          repoURL: sandbox.repoUrl(repo),
          targetRevision: 'main',
          path: dir,
        },
        destination: {
          server: 'https://kubernetes.default.svc',
          namespace: 'argocd',
        },
        syncPolicy: { automated: { prune: true } },
      },
    },
  });
  if (created.status !== 200) {
    throw new Error(
      `Creating ${name} answered ${created.status}: ${JSON.stringify(
        created.body,
      )}`,
    );
  }
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  // Generous: tests run on loaded 2-core machines (a root Application deploying a merged
  // file took over 90 s with a CPU-heavy process and other suites beside it); waiting
  // ends as soon as `check` holds.
  timeoutMs = 300_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

/**
 * Waits until every Application that syncs itself, on every instance, is Synced and
 * Healthy, and none has an operation running or is still Progressing after one: the
 * state tests start from, reached however slow the machine is.
 */
export async function settled(sandbox: Sandbox, timeoutMs = 300_000) {
  await eventually(
    async () => {
      for (const instance of sandbox.instances) {
        const { status, body } = await argo(
          sandbox,
          instance.name,
          '/api/v1/applications',
        );
        if (status !== 200) return undefined;
        const busy = (body.items ?? []).some(
          (app: any) =>
            // A manual Application after its sync: still moving.
            app.status?.health?.status === 'Progressing' ||
            app.status?.operationState?.phase === 'Running' ||
            (app.spec?.syncPolicy?.automated &&
              (app.status?.sync?.status !== 'Synced' ||
                app.status?.health?.status !== 'Healthy')),
        );
        if (busy) return undefined;
      }
      return true;
    },
    'the automated Applications to be Synced and Healthy',
    timeoutMs,
  );
}

/**
 * Two reconcile passes further apart than the automated-sync delay: by the second, an
 * Application that syncs itself has started its sync, so one that has not is manual.
 * The sleep is a lower bound, so this holds on a machine of any speed.
 */
export async function pastAutoSyncDelay(
  sandbox: Sandbox,
  autoSyncDelayMs = FAST_TIMING.autoSyncDelayMs,
) {
  await sandbox.reconcile();
  await new Promise(resolve => setTimeout(resolve, autoSyncDelayMs + 50));
  await sandbox.reconcile();
}

/**
 * Clones `repo` over HTTP with the sandbox's token (depth 1), changes files and
 * pushes one commit; answers the new commit's SHA.
 */
export async function pushChange(
  sandbox: Sandbox,
  repo: string,
  /** New contents by path; undefined deletes the file. */
  changes: Record<string, (old: string | undefined) => string | undefined>,
  message: string,
): Promise<string> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'sandbox-push-'));
  const url = sandbox
    .repoUrl(repo)
    .replace('http://', `http://sandbox:${sandbox.gitToken}@`);
  const git = (...args: string[]) =>
    exec('git', [
      '-C',
      work,
      '-c',
      'user.name=CI',
      '-c',
      'user.email=ci@example.com',
      ...args,
    ]);
  try {
    await exec('git', ['clone', '--quiet', '--depth=1', url, work]);
    for (const [file, change] of Object.entries(changes)) {
      const target = path.join(work, file);
      const old = await fs.readFile(target, 'utf8').catch(() => undefined);
      const text = change(old);
      if (text === undefined) {
        await fs.rm(target, { force: true });
        continue;
      }
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.writeFile(target, text);
    }
    await git('add', '-A');
    await git('commit', '--quiet', '-m', message);
    await git('push', '--quiet', 'origin', 'HEAD');
    return (await git('rev-parse', 'HEAD')).stdout.trim();
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Replaces the image tag line of a values file. */
export const setTag = (tag: string) => (old: string | undefined) =>
  old!.replace(/tag: .*/, `tag: "${tag}"`);

const contracts = ArgoContracts.load();

/**
 * Contract errors of a value (none when the contracts are missing outside CI, where
 * ArgoContracts.load() has printed a notice), for `expect(...).toEqual([])`.
 */
export function contractErrors(
  check: (c: ArgoContracts) => string[],
): string[] {
  return contracts ? check(contracts) : [];
}
