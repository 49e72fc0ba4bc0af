import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  ArgoCdInstance,
  ApplicationFaults,
  Timing,
} from './argocd/ArgoCdInstance';
import { ArgoCdServer, InstanceFault } from './argocd/ArgoCdServer';
import { Renderer } from './argocd/render';
import { ChartMuseum, SandboxCharts } from './charts/ChartMuseum';
import { ociCharts } from './charts/ociCharts';
import { StreamControls } from './argocd/stream';
import { generateFleet } from './argocd/scale';
import { controlApi } from './controlApi';
import { sendJson, startGitServer } from './git/GitServer';
import { WebhookReceiver, WebhookSummary } from './git/webhooks';
import { rootApplication, seedExamples } from './examples';
import {
  SandboxRegistry,
  seedExampleImages,
  startSandboxRegistry,
} from './sandboxRegistry';

export { EXAMPLES_GIT_URL } from './examples';

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
  /** The Git server's token (password of basic auth, or bearer); the registry's password too. */
  gitToken?: string;
  /** The image registry's port; a free one by default (the CLI takes git port + 3). */
  registryPort?: number;
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
  /**
   * Receivers of GitHub- or GitLab-style push webhooks, one event per ref a push
   * updates, posted after the push is answered (more: `POST /api/sandbox/webhooks`).
   */
  webhooks?: WebhookReceiver[];
}

export interface Sandbox {
  gitUrl: string;
  gitToken: string;
  /**
   * The image registry. The cluster pulls every image through it, as through a
   * containerd mirror: push an image before deploying its tag, as CI does.
   */
  registry: SandboxRegistry;
  /**
   * Classic Helm chart repositories at `${gitUrl}/charts/<repo>` (index.yaml written
   * by the real `helm repo index`), fed by ChartMuseum's upload with the Git token.
   * The registry is the OCI one (`registry.pushChart`).
   */
  charts: SandboxCharts;
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
  /** How many requests an instance has received since it started (streams included). */
  requestCount(instance: string): number;
  /** How many Git smart-HTTP requests the Git server has served. */
  gitRequestCount(): number;
  /** An instance's application watch streams: cut them, refuse them, count them. */
  streams(instance: string): StreamControls;
  /** Adds a receiver of push webhooks; answers it without its secret. */
  addWebhook(receiver: WebhookReceiver): WebhookSummary;
  /** The receivers of push webhooks, without their secrets. */
  webhooks(): WebhookSummary[];
  /** Waits until the push webhooks of every push answered so far are delivered or failed. */
  webhooksDelivered(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_TIMING: Timing = {
  reconcileMs: 1000,
  autoSyncDelayMs: 3000,
  syncMs: 2000,
  progressMs: 3000,
  rolloutStepMs: 4000,
  progressDeadlineMs: 20_000,
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

  let gitUrl = '';
  const charts = new ChartMuseum({
    root: path.join(dir, 'charts'),
    token: gitToken,
    baseUrl: () => gitUrl,
  });
  const git = await startGitServer({
    root: reposDir,
    token: gitToken,
    port: options.gitPort ?? 0,
    webhooks: options.webhooks,
    openRoutes: (req, res, url) => charts.handle(req, res, url),
    routes: async (req, res, url) => {
      if (control.sandbox) return controlApi(control.sandbox, req, res, url);
      sendJson(res, 503, { error: 'the sandbox is starting' });
      return true;
    },
  });

  gitUrl = git.url;

  // Credentials like the Git server's: user `sandbox`, the token as password.
  const { server: registryServer, registry } = await startSandboxRegistry({
    port: options.registryPort ?? 0,
    credentials: { username: 'sandbox', password: gitToken },
  });

  const ociRepository = ociCharts(registryServer);
  const renderer = new Renderer(
    git.url,
    reposDir,
    path.join(dir, 'trees'),
    repoURL => charts.repository(repoURL) ?? ociRepository(repoURL),
  );
  const instances = (options.instances ?? DEFAULT_INSTANCES).map(o => ({
    options: o,
    instance: new ArgoCdInstance(o.name, renderer, timing, {
      namespaces: options.namespaces,
      // Every node mirrors every registry to the sandbox's, in process.
      images: ref => registry.resolve(ref)?.digest,
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
    // CI built and pushed what the values files deploy before they were merged.
    await seedExampleImages(registry, options.examplesDir, reposDir);
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
        git.url,
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
    registry,
    charts,
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
    gitRequestCount: () => git.requestCount(),
    streams: name => byName(name).streams,
    addWebhook: receiver => git.addWebhook(receiver),
    webhooks: () => git.webhooks(),
    webhooksDelivered: () => git.webhooksDelivered(),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await Promise.all(servers.map(s => s.stop()));
      await registryServer.stop();
      await git.close();
    },
  };
  control.sandbox = sandbox;
  return sandbox;
}
