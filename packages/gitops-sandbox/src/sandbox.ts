import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ArgoCdInstance,
  ApplicationFaults,
  Timing,
} from './argocd/ArgoCdInstance';
import { ArgoCdServer, InstanceFault } from './argocd/ArgoCdServer';
import { Renderer } from './argocd/render';
import { generateFleet } from './argocd/scale';
import { GitServer, readJson, sendJson, startGitServer } from './git/GitServer';

const exec = promisify(execFile);

/** The Git base URL the example Application manifests are written with. */
export const EXAMPLES_GIT_URL = 'http://127.0.0.1:7090';

export interface InstanceOptions {
  name: string;
  /** The environments (label `gitops/environment`) whose Applications it deploys. */
  environments: string[];
  port?: number;
  token?: string;
}

export interface SandboxOptions {
  /** Holds the repositories and rendered trees; a temporary directory by default. */
  dir?: string;
  gitPort?: number;
  /** The Git server's token (password of basic auth, or bearer). */
  gitToken?: string;
  /** Seeds an app and a config repository per `<examplesDir>/services/<name>`. */
  examplesDir?: string;
  instances?: InstanceOptions[];
  timing?: Partial<Timing>;
  sessionTtlMs?: number;
  /** Start with every Application synced once (default), instead of never deployed. */
  initialSync?: boolean;
  /** Added before every Argo CD answer, to stand in for a remote instance. */
  latencyMs?: number;
  /** Scale mode: this many generated services (three environments each), not rendered. */
  scaleServices?: number;
  /**
   * Namespaces each instance's cluster has from the start (besides argocd, default and
   * kube-*); any other must be created by a sync (`CreateNamespace=true`, or a Namespace).
   */
  namespaces?: string[];
}

export interface Sandbox {
  gitUrl: string;
  gitToken: string;
  instances: Array<{
    name: string;
    url: string;
    token: string;
    environments: string[];
  }>;
  repoUrl(name: string): string;
  createRepository(name: string): Promise<string>;
  /** One reconciliation pass of every instance, now. */
  reconcile(): Promise<void>;
  setInstanceFault(
    instance: string,
    fault: InstanceFault | undefined,
  ): Promise<void>;
  setApplicationFaults(
    instance: string,
    app: string,
    faults: ApplicationFaults,
  ): void;
  /**
   * Changes a live object of an Application as someone with kubectl would (a JSON
   * merge patch): self-heal puts it back, else it shows OutOfSync until synced.
   */
  editLive(
    instance: string,
    app: string,
    resource: { kind: string; name: string },
    patch: unknown,
  ): void;
  /** How many requests an instance has received since it started. */
  requestCount(instance: string): number;
  stop(): Promise<void>;
}

export const DEFAULT_TIMING: Timing = {
  reconcileMs: 1000,
  autoSyncDelayMs: 3000,
  syncMs: 2000,
  progressMs: 3000,
  rolloutStepMs: 4000,
};

export const DEFAULT_INSTANCES: InstanceOptions[] = [
  { name: 'main', environments: ['dev', 'staging'] },
  { name: 'prod', environments: ['prod'] },
];

/**
 * Starts the sandbox on 127.0.0.1: the Git server (seeded from the examples) and one
 * Argo CD API per instance. As in Argo CD, Applications come from its API or from an
 * Application that deploys them (app of apps); the examples get such a root
 * Application per config repository and instance, as a platform team would create.
 */
export async function startSandbox(
  options: SandboxOptions = {},
): Promise<Sandbox> {
  const dir =
    options.dir ??
    (await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-sandbox-')));
  const reposDir = path.join(dir, 'repos');
  const gitToken = options.gitToken ?? 'sandbox-git-token';
  const timing = { ...DEFAULT_TIMING, ...options.timing };

  let servers: ArgoCdServer[] = [];
  // Set once everything runs; the control API answers only after that.
  const control: { sandbox?: Sandbox } = {};
  const byName = (name: string) => {
    const server = servers.find(s => s.name === name);
    if (!server)
      throw Object.assign(new Error(`unknown instance "${name}"`), {
        status: 404,
      });
    return server;
  };

  const git = await startGitServer({
    root: reposDir,
    token: gitToken,
    port: options.gitPort ?? 0,
    routes: async (req, res, url) => {
      if (control.sandbox) return controlApi(control.sandbox, req, res, url);
      sendJson(res, 503, { error: 'the sandbox is starting' });
      return true;
    },
  });

  const renderer = new Renderer(git.url, reposDir, path.join(dir, 'trees'));
  const instances = (options.instances ?? DEFAULT_INSTANCES).map(o => ({
    options: o,
    instance: new ArgoCdInstance(o.name, renderer, timing, {
      namespaces: options.namespaces,
    }),
  }));
  servers = instances.map(
    ({ options: o, instance }) =>
      new ArgoCdServer({
        instance,
        token: o.token ?? `sandbox-${o.name}-token`,
        username: 'admin',
        password: 'sandbox',
        sessionTtlMs: options.sessionTtlMs ?? 60 * 60 * 1000,
        latencyMs: options.latencyMs,
        port: o.port,
      }),
  );
  await Promise.all(servers.map(s => s.start()));

  if (options.examplesDir) {
    const configRepos = await seedExamples(options.examplesDir, git, reposDir);
    for (const { options: o, instance } of instances) {
      for (const repo of configRepos) {
        await instance.create(
          rootApplication(repo, git.repoUrl(repo), o.name, o.environments),
          { upsert: true, validate: false },
        );
      }
    }
  }
  if (options.scaleServices) {
    for (const { options: o, instance } of instances) {
      for (const { manifest, status } of generateFleet(
        options.scaleServices,
        o.environments,
      )) {
        instance.addFixed(manifest, status);
      }
    }
  }

  const reconcile = async () => {
    for (const { instance } of instances) await instance.reconcile();
  };
  const instanceNamed = (name: string) => {
    const found = instances.find(i => i.options.name === name);
    if (!found)
      throw Object.assign(new Error(`unknown instance "${name}"`), {
        status: 404,
      });
    return found.instance;
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const loop = () => {
    running = reconcile()
      .catch(error => console.error(`sandbox reconcile failed: ${error}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, timing.reconcileMs);
      });
  };
  await reconcile();
  if (options.initialSync ?? true) {
    for (const { instance } of instances) await instance.syncNeverDeployed();
  }
  timer = setTimeout(loop, timing.reconcileMs);

  const sandbox: Sandbox = {
    gitUrl: git.url,
    gitToken,
    instances: instances.map(({ options: o }, i) => ({
      name: o.name,
      url: servers[i].url,
      token: o.token ?? `sandbox-${o.name}-token`,
      environments: o.environments,
    })),
    repoUrl: git.repoUrl,
    createRepository: git.createRepository,
    reconcile: async () => {
      await running;
      await reconcile();
    },
    async setInstanceFault(name, fault) {
      const valid: Array<InstanceFault | undefined> = [
        undefined,
        'refuse',
        'hang',
        'unauthorized',
        'rate-limited',
        'error',
        'malformed',
      ];
      if (!valid.includes(fault)) {
        throw new Error(
          `unknown fault "${fault}"; one of ${valid
            .filter(Boolean)
            .join(', ')}`,
        );
      }
      await byName(name).setFault(fault);
    },
    setApplicationFaults(name, app, faults) {
      const instance = instanceNamed(name);
      instance.setFaults(instance.find(app), {
        syncFails: Boolean(faults.syncFails),
        degraded: Boolean(faults.degraded),
      });
    },
    editLive(name, app, resource, patch) {
      const instance = instanceNamed(name);
      instance.editLive(
        instance.find(app),
        resource.kind,
        resource.name,
        patch,
      );
    },
    requestCount: name => byName(name).requestCount,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await Promise.all(servers.map(s => s.stop()));
      await git.close();
    },
  };
  control.sandbox = sandbox;
  return sandbox;
}

/** The sandbox's control API under `/api/sandbox` on the Git server. */
async function controlApi(
  sandbox: Sandbox,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): Promise<boolean> {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'api' || parts[1] !== 'sandbox') return false;
  try {
    if (req.method === 'GET' && parts.length === 2) {
      sendJson(res, 200, {
        git: sandbox.gitUrl,
        instances: sandbox.instances.map(i => ({
          ...i,
          requests: sandbox.requestCount(i.name),
        })),
      });
    } else if (req.method === 'POST' && parts[2] === 'reconcile') {
      await sandbox.reconcile();
      sendJson(res, 200, {});
    } else if (
      req.method === 'PUT' &&
      parts[2] === 'instances' &&
      parts[4] === 'fault'
    ) {
      const { fault } = await readJson(req);
      await sandbox.setInstanceFault(parts[3], fault ?? undefined);
      sendJson(res, 200, { fault: fault ?? null });
    } else if (
      req.method === 'PUT' &&
      parts[2] === 'instances' &&
      parts[4] === 'applications' &&
      parts[6] === 'faults'
    ) {
      const faults = await readJson(req);
      sandbox.setApplicationFaults(parts[3], parts[5], faults);
      sendJson(res, 200, faults);
    } else if (
      req.method === 'PATCH' &&
      parts[2] === 'instances' &&
      parts[4] === 'applications' &&
      parts[6] === 'live' &&
      parts.length === 9
    ) {
      // PATCH /api/sandbox/instances/<i>/applications/<app>/live/<kind>/<name>
      const patch = await readJson(req);
      sandbox.editLive(
        parts[3],
        parts[5],
        { kind: parts[7], name: parts[8] },
        patch,
      );
      sendJson(res, 200, {});
    } else {
      return false;
    }
  } catch (error: any) {
    sendJson(res, error.status ?? 400, { error: error.message });
  }
  return true;
}

/**
 * The app of apps of one config repository on one instance: it deploys, from
 * `argocd/`, the Application manifests of that instance's environments (those
 * `add-instance` adds, `<environment>-<instance>.yaml`, included) and its
 * ApplicationSets (`applicationset-<instance>[-production].yaml`), as the
 * templates lay them out. Pruned: a file removed in Git removes its Application.
 */
function rootApplication(
  repo: string,
  repoURL: string,
  instance: string,
  environments: string[],
): any {
  const files = [
    ...environments.flatMap(env => [`${env}.yaml`, `${env}-*.yaml`]),
    `applicationset-${instance}.yaml`,
    `applicationset-${instance}-*.yaml`,
  ];
  return {
    metadata: {
      name: `${repo.replace(/-config$/, '')}-apps`,
      namespace: 'argocd',
    },
    spec: {
      project: 'default',
      source: {
        repoURL,
        targetRevision: 'main',
        path: 'argocd',
        directory: { include: `{${files.join(',')}}` },
      },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: 'argocd',
      },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    },
  };
}

/**
 * Creates `<name>-app` and `<name>-config` for each `services/<name>` of the examples,
 * unless they exist: the app code, and the shared chart with the service's values
 * files and Application manifests (pointed at this Git server). Answers the config
 * repositories' names.
 */
async function seedExamples(
  examplesDir: string,
  git: GitServer,
  reposDir: string,
): Promise<string[]> {
  const servicesDir = path.join(examplesDir, 'services');
  const configRepos: string[] = [];
  for (const service of (await fs.readdir(servicesDir)).sort()) {
    const app = path.join(servicesDir, service, 'app');
    const config = path.join(servicesDir, service, 'config');
    if (await exists(app)) {
      await seedRepository(git, reposDir, `${service}-app`, [
        { from: app, to: '.' },
      ]);
    }
    if (await exists(config)) {
      await seedRepository(git, reposDir, `${service}-config`, [
        { from: path.join(examplesDir, 'chart'), to: 'chart' },
        { from: config, to: '.' },
      ]);
      configRepos.push(`${service}-config`);
    }
  }
  return configRepos;
}

async function seedRepository(
  gitServer: GitServer,
  reposDir: string,
  name: string,
  layers: Array<{ from: string; to: string }>,
) {
  const bare = path.join(reposDir, `${name}.git`);
  if (await exists(bare)) return;
  const work = await fs.mkdtemp(path.join(os.tmpdir(), `seed-${name}-`));
  try {
    for (const layer of layers) {
      await fs.cp(layer.from, path.join(work, layer.to), {
        recursive: true,
        filter: src => !/(__pycache__|\.pyc$)/.test(src),
      });
    }
    for (const file of await fs
      .readdir(path.join(work, 'argocd'))
      .catch(() => [])) {
      const manifest = path.join(work, 'argocd', file);
      const text = await fs.readFile(manifest, 'utf8');
      await fs.writeFile(
        manifest,
        text.replaceAll(EXAMPLES_GIT_URL, gitServer.url),
      );
    }
    const git = (...args: string[]) =>
      exec('git', [
        '-C',
        work,
        '-c',
        'user.name=Sandbox',
        '-c',
        'user.email=sandbox@example.com',
        ...args,
      ]);
    await git('init', '--quiet', '--initial-branch=main');
    await git('add', '-A');
    await git('commit', '--quiet', '-m', `Initial ${name} from examples`);
    await gitServer.createRepository(name);
    await git('push', '--quiet', bare, 'main');
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function exists(file: string) {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
