import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  coreServices,
  createBackendModule,
  createServiceFactory,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import { EventsService, eventsServiceRef } from '@backstage/plugin-events-node';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  SignalPayload,
  signalsServiceRef,
} from '@backstage/plugin-signals-node';
import {
  EntityDeploymentStatus,
  entitySignalChannel,
  FLEET_SIGNAL_CHANNEL,
} from '@gitops-backstage/plugin-gitops-common';
import {
  eventually,
  pushChange,
  Sandbox,
  setTag,
  settled,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { gitopsPlugin } from './plugin';
import {
  component,
  sandboxBackendConfig,
  specErrors,
} from './__testUtils__/sandboxBackend';

// Real Git, helm and the sandbox on a loaded 2-core machine.
jest.setTimeout(600_000);

const entities = [
  component('service-a', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-a',
  }),
  component('service-b', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-b',
  }),
];

describe('the watch: views from memory, changes signalled (sandbox, two instances)', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;
  let published: SignalPayload[];
  let relay: http.Server | undefined;

  /** A backend watching the sandbox; its signals and events bus are the test's. */
  async function startLiveBackend(gitops: Record<string, unknown> = {}) {
    const signals: SignalPayload[] = [];
    let events: EventsService | undefined;
    let scheduler: SchedulerService | undefined;
    const backend = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({
          data: sandboxBackendConfig(sandbox, { watch: true, ...gitops }),
        }),
        createBackendModule({
          pluginId: 'gitops',
          moduleId: 'test-events',
          register(env) {
            env.registerInit({
              deps: {
                service: eventsServiceRef,
                schedulerService: coreServices.scheduler,
              },
              async init({ service, schedulerService }) {
                events = service;
                scheduler = schedulerService;
              },
            });
          },
        }),
        createServiceFactory({
          service: signalsServiceRef,
          deps: {},
          factory: () => ({
            publish: async (signal: SignalPayload<any>) => {
              signals.push(signal);
            },
          }),
        }),
      ],
    });
    return { backend, signals, events: events!, scheduler: scheduler! };
  }

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-live-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    await settled(sandbox);
    const live = await startLiveBackend();
    server = live.backend.server;
    published = live.signals;
  });
  afterAll(async () => {
    relay?.close();
    await sandbox?.stop();
    await fs.rm(sandboxDir, { recursive: true, force: true });
  });

  const upstreamRequests = () =>
    sandbox.instances.reduce((n, i) => n + sandbox.requestCount(i.name), 0);
  const status = async (name: string, on = server) => {
    const res = await request(on).get(
      `/api/gitops/entities/component/default/${name}/status`,
    );
    expect(res.status).toBe(200);
    expect(specErrors('EntityDeploymentStatus', res.body)).toEqual([]);
    return res.body as EntityDeploymentStatus;
  };
  /** The view, once it costs no request to Argo CD (both watches are live). */
  const viewFromMemory = (name: string, on = server) =>
    eventually(async () => {
      await status(name, on); // warms the desired state (Git), not Argo CD
      const before = upstreamRequests();
      const body = await status(name, on);
      // An instance that was down is back once its watch is: no error, no request.
      return upstreamRequests() === before && !body.errors.length
        ? body
        : undefined;
    }, `a view of ${name} without errors or upstream requests`);
  const imageOf = (body: EntityDeploymentStatus, env: string) =>
    body.environments.find(e => e.environment === env)?.live.images;

  it('holds one watch per instance and serves entity views and the fleet from memory', async () => {
    const body = await viewFromMemory('service-a');
    expect(body.environments.map(e => e.environment)).toEqual([
      'dev',
      'staging',
      'prod',
    ]);
    expect(body.errors).toEqual([]);
    for (const instance of sandbox.instances) {
      expect(sandbox.streams(instance.name).open).toBe(1);
    }
    const before = upstreamRequests();
    const fleet = await request(server).get('/api/gitops/fleet');
    expect(fleet.status).toBe(200);
    expect(upstreamRequests()).toBe(before);
  });

  it('shows a change as Argo CD makes it and signals the entity and the fleet, not others', async () => {
    await viewFromMemory('service-a');
    await viewFromMemory('service-b');
    published.length = 0;
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-a:v7.7.7',
    );
    await pushChange(
      sandbox,
      'service-a-config',
      { 'chart/values-dev.yaml': setTag('v7.7.7') },
      'dev gets v7.7.7',
    );
    // The automated dev Application syncs; the watch brings it into memory.
    const body = await eventually(async () => {
      const view = await status('service-a');
      return imageOf(view, 'dev')?.includes(
        'registry.example.com/checkout/service-a:v7.7.7',
      )
        ? view
        : undefined;
    }, 'dev of service-a running v7.7.7');
    expect(body.errors).toEqual([]);
    const channels = new Set(published.map(p => p.channel));
    expect(channels).toContain(
      entitySignalChannel('component:default/service-a'),
    );
    expect(channels).toContain(FLEET_SIGNAL_CHANNEL);
    expect(channels).not.toContain(
      entitySignalChannel('component:default/service-b'),
    );
    for (const signal of published) {
      expect(signal.recipients).toEqual({ type: 'broadcast' });
      // A signal says only that something changed, nothing a reader could not see.
      expect(Object.keys(signal.message)).toEqual(['changed']);
    }
  });

  it('reconnects after the stream is cut and repairs what changed meanwhile', async () => {
    await viewFromMemory('service-a');
    const main = sandbox.streams('main');
    // Refused while cut: the watch lists instead (every 10 s), then streams again.
    main.refuse = true;
    main.cut();
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-a:v7.7.8',
    );
    await pushChange(
      sandbox,
      'service-a-config',
      { 'chart/values-dev.yaml': setTag('v7.7.8') },
      'dev gets v7.7.8 while the watch is cut',
    );
    await eventually(async () => {
      const view = await status('service-a');
      return imageOf(view, 'dev')?.includes(
        'registry.example.com/checkout/service-a:v7.7.8',
      )
        ? view
        : undefined;
    }, 'dev of service-a running v7.7.8, seen without the stream');
    expect(main.open).toBe(0);
    main.refuse = false;
  });

  it('shows an instance that goes down as an error beside the other instance, and recovers', async () => {
    await viewFromMemory('service-a');
    await sandbox.setInstanceFault('prod', 'refuse');
    try {
      const body = await eventually(async () => {
        const view = await status('service-a');
        return view.errors.length ? view : undefined;
      }, 'prod to be shown as down');
      expect(body.errors).toEqual([
        expect.objectContaining({ instance: 'prod', code: 'unreachable' }),
      ]);
      expect(body.environments.map(e => e.environment)).toEqual([
        'dev',
        'staging',
      ]);
    } finally {
      await sandbox.setInstanceFault('prod', undefined);
    }
    const back = await viewFromMemory('service-a');
    expect(back.environments.map(e => e.environment)).toEqual([
      'dev',
      'staging',
      'prod',
    ]);
  });

  it("once indexed, an entity's first view asks neither Argo CD nor Git: the config was read ahead", async () => {
    const live = await startLiveBackend({ cacheSeconds: 600 });
    try {
      const on = live.backend.server;
      await eventually(async () => {
        const health = await request(on).get('/api/gitops/health');
        return health.body.indexed === true || undefined;
      }, 'the health to say indexed');
      const [argo, git] = [upstreamRequests(), sandbox.gitRequestCount()];
      const body = await status('service-b', on);
      expect([upstreamRequests(), sandbox.gitRequestCount()]).toEqual([
        argo,
        git,
      ]);
      expect(body.errors).toEqual([]);
      for (const env of body.environments) {
        expect(env.desired?.image?.tag).toBeTruthy();
        expect(env.desired?.error).toBeUndefined();
      }
      // The fleet has the desired state of every entity, from memory too.
      const fleet = await request(on).get('/api/gitops/fleet');
      expect(fleet.status).toBe(200);
      for (const entity of fleet.body.entities) {
        for (const env of entity.environments) {
          expect(env.desired?.image ?? env.desired?.noVersionYet).toBeDefined();
        }
      }
      expect(sandbox.gitRequestCount()).toBe(git);
    } finally {
      await live.backend.stop();
    }
  });

  it('finds a branch that moved without a webhook at the next ref check, reads it and signals the entity', async () => {
    const live = await startLiveBackend({ cacheSeconds: 600 });
    try {
      const on = live.backend.server;
      const before = await viewFromMemory('service-b', on);
      const stagingTag = (body: EntityDeploymentStatus) =>
        body.environments.find(e => e.environment === 'staging')?.desired?.image
          ?.tag;
      expect(stagingTag(before)).not.toBe('v9.9.1');
      await sandbox.registry.pushImage(
        'registry.example.com/checkout/service-b:v9.9.1',
      );
      await pushChange(
        sandbox,
        'service-b-config',
        { 'chart/values-staging.yaml': setTag('v9.9.1') },
        'staging gets v9.9.1',
      );
      // No webhook and a ten-minute cache: the view keeps what memory holds.
      expect(stagingTag(await status('service-b', on))).toBe(
        stagingTag(before),
      );
      await live.scheduler.triggerTask('gitops-config-ref-checks');
      const after = await eventually(async () => {
        const view = await status('service-b', on);
        return stagingTag(view) === 'v9.9.1' ? view : undefined;
      }, "staging's desired tag v9.9.1 after the ref check");
      expect(after.errors).toEqual([]);
      await eventually(
        async () =>
          live.signals.some(
            signal =>
              signal.channel ===
                entitySignalChannel('component:default/service-b') &&
              signal.message.changed === 'desired',
          ) || undefined,
        "a 'desired' signal on service-b's channel",
      );
    } finally {
      await live.backend.stop();
    }
  });

  it("reads a config repository again when its push webhook arrives: Git's side without waiting for the cache", async () => {
    // Answers kept ten minutes: only the push can bring Git's change sooner.
    const live = await startLiveBackend({ cacheSeconds: 600 });
    const { events } = live;
    // The sandbox's GitHub push webhooks, relayed onto the events bus as the
    // events backend's GitHub module does once it has checked the signature.
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', chunk => (body += chunk));
      req.on('end', async () => {
        await events.publish({
          topic: `github.${req.headers['x-github-event']}`,
          eventPayload: JSON.parse(body),
        });
        res.end();
      });
    });
    relay = receiver;
    await new Promise<void>(resolve =>
      receiver.listen(0, '127.0.0.1', resolve),
    );
    sandbox.addWebhook({
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
      kind: 'github',
    });
    const before = await viewFromMemory('service-a', live.backend.server);
    const prodTag = (body: EntityDeploymentStatus) =>
      body.environments.find(e => e.environment === 'prod')?.desired?.image
        ?.tag;
    expect(prodTag(before)).not.toBe('v8.8.8');
    // A release waiting in Git: prod syncs by hand, so only Git changed.
    await pushChange(
      sandbox,
      'service-a-config',
      { 'chart/values-prod.yaml': setTag('v8.8.8') },
      'release v8.8.8 to prod',
    );
    const after = await eventually(async () => {
      const view = await status('service-a', live.backend.server);
      return prodTag(view) === 'v8.8.8' ? view : undefined;
    }, "prod's desired tag v8.8.8, within the ten-minute cache");
    const prod = after.environments.find(e => e.environment === 'prod')!;
    expect(prod.drift).toBe(true);
    // The signal follows the read (within its 100 ms coalescing window).
    await eventually(
      async () =>
        live.signals.some(
          signal =>
            signal.channel ===
              entitySignalChannel('component:default/service-a') &&
            signal.message.changed === 'desired',
        ) || undefined,
      "a 'desired' signal on service-a's channel",
    );
    await live.backend.stop();
  });
});
