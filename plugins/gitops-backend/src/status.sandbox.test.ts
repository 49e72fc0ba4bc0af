import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  EntityDeploymentStatus,
  FleetStatus,
} from '@gitops-backstage/plugin-gitops-common';
import {
  InstanceFault,
  pushChange,
  settled,
  Sandbox,
  setTag,
  startTestSandbox,
  eventually,
} from '@gitops-backstage/gitops-sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import request from 'supertest';
import { gitopsPlugin } from './plugin';
import {
  component,
  sandboxBackendConfig,
  specErrors,
  tagInGit,
} from './__testUtils__/sandboxBackend';

// Real Git, helm and the sandbox on a loaded 2-core machine.
jest.setTimeout(240_000);

const entities = [
  component('service-a', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-a',
  }),
  component('service-b', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-b',
  }),
  component('service-a-prod-only', {
    'argocd/app-name': 'service-a-prod',
    'argocd/instance-name': 'prod',
  }),
  component('bad-selector', { 'argocd/app-selector': 'app in b' }),
  component('unknown-instance', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-a',
    'argocd/instance-name': 'nowhere',
  }),
  component('not-annotated', {}),
];

describe('deployment status against the sandbox (two Argo CD instances, real Git)', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;

  const backendConfig = () => sandboxBackendConfig(sandbox);

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(
      path.join(os.tmpdir(), 'gitops-backend-test-'),
    );
    sandbox = await startTestSandbox({ dir: sandboxDir });
    ({ server } = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({ data: backendConfig() }),
      ],
    }));
    await settled(sandbox);
  });
  afterAll(async () => {
    await sandbox?.stop();
    await fs.rm(sandboxDir, { recursive: true, force: true });
  });

  const status = async (name: string, expected = 200) => {
    const res = await request(server).get(
      `/api/gitops/entities/component/default/${name}/status`,
    );
    expect({ name, status: res.status, body: res.body }).toMatchObject({
      status: expected,
    });
    expect(
      expected === 200 ? specErrors('EntityDeploymentStatus', res.body) : [],
    ).toEqual([]);
    return res.body as EntityDeploymentStatus;
  };
  const expire = () => new Promise(resolve => setTimeout(resolve, 300));

  it('answers every environment, in pipeline order, across both instances', async () => {
    const body = await status('service-a');
    expect(body.errors).toEqual([]);
    expect(body.environmentOrder).toEqual(['dev', 'staging', 'prod']);
    expect(
      body.environments.map(e => [
        e.environment,
        e.instance,
        e.application.name,
      ]),
    ).toEqual([
      ['dev', 'main', 'service-a-dev'],
      ['staging', 'main', 'service-a-staging'],
      ['prod', 'prod', 'service-a-prod'],
    ]);
    for (const env of body.environments) {
      const tag = await tagInGit(
        sandboxDir,
        'service-a-config',
        `chart/values-${env.environment}.yaml`,
      );
      expect(env.desired).toMatchObject({
        repoURL: sandbox.repoUrl('service-a-config'),
        targetRevision: 'main',
        valuesFile: `chart/values-${env.environment}.yaml`,
        image: { repository: 'registry.example.com/checkout/service-a', tag },
      });
      expect(env.live.images).toEqual([
        `registry.example.com/checkout/service-a:${tag}`,
      ]);
      expect(env.live).toMatchObject({
        syncStatus: 'Synced',
        health: { status: 'Healthy' },
      });
      expect(env.live.deployed).toMatchObject({
        id: 0,
        revision: expect.stringMatching(/^[0-9a-f]{40}$/),
      });
      expect(env.drift).toBe(false);
      expect(env.application.url).toBe(
        `${
          sandbox.instances.find(i => i.name === env.instance)!.url
        }/applications/argocd/${env.application.name}`,
      );
    }
  });

  it('shows drift when Git moves ahead of what runs, until it is synced', async () => {
    // CI pushes the image before the release writes its tag.
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-a:v9.9.9',
    );
    await pushChange(
      sandbox,
      'service-a-config',
      { 'chart/values-prod.yaml': setTag('v9.9.9') },
      'release v9.9.9 to prod',
    );
    await expire();
    const body = await status('service-a');
    const prod = body.environments.find(e => e.environment === 'prod')!;
    expect(prod.desired?.image?.tag).toBe('v9.9.9');
    expect(prod.live.images).toEqual([
      'registry.example.com/checkout/service-a:v1.4.0',
    ]);
    expect(prod.drift).toBe(true);
  });

  it('reads Argo Rollouts progress and revision metadata', async () => {
    const body = await status('service-b');
    const dev = body.environments.find(e => e.environment === 'dev')!;
    expect(dev.live.rollout).toEqual({
      name: 'service-b',
      namespace: 'checkout-dev',
      actions: [],
      phase: 'Healthy',
      strategy: 'canary',
      currentStepIndex: 4,
      stepCount: 4,
    });
    // A canary without a traffic router: Argo Rollouts reports no weights.
    expect(dev.live.rollout?.canaryWeight).toBeUndefined();
    const res = await request(server).get(
      `/api/gitops/entities/component/default/service-b/environments/dev/revisions/${
        dev.live.deployed!.revision
      }`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      author: 'Sandbox <sandbox@example.com>',
      message: 'Initial service-b-config from examples',
    });
    expect(specErrors('RevisionMetadata', res.body)).toEqual([]);
  });

  it('finds Applications by name in the named instance only', async () => {
    const body = await status('service-a-prod-only');
    expect(body.environments.map(e => e.application.name)).toEqual([
      'service-a-prod',
    ]);
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    const bad = await request(server).get(
      '/api/gitops/entities/component/default/bad-selector/status',
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe(
      'Invalid annotation argocd/app-selector: "app in b" is not a valid label selector term',
    );
    const unknown = await request(server).get(
      '/api/gitops/entities/component/default/unknown-instance/status',
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toBe(
      'argocd/instance-name "nowhere" names no configured Argo CD instance; configured: main, prod',
    );
    const missing = await request(server).get(
      '/api/gitops/entities/component/default/nope/status',
    );
    expect(missing.status).toBe(404);
    const plain = await request(server).get(
      '/api/gitops/entities/component/default/not-annotated/status',
    );
    expect(plain.status).toBe(404);
    expect(plain.body.error.message).toContain(
      'has no argocd/app-selector or argocd/app-name annotation',
    );
    const badName = await request(server).get(
      '/api/gitops/entities/component/default/..%2Fx/status',
    );
    expect(badName.status).toBe(400);
  });

  it.each<[InstanceFault, string]>([
    ['refuse', 'unreachable'],
    ['hang', 'timeout'],
    ['unauthorized', 'unauthorized'],
    ['rate-limited', 'rate-limited'],
    ['error', 'upstream-error'],
    ['malformed', 'invalid-response'],
  ])(
    'keeps the other environments when prod is made to %s (%s)',
    async (fault, code) => {
      await sandbox.setInstanceFault('prod', fault);
      await expire();
      try {
        const body = await status('service-a');
        expect(body.environments.map(e => e.environment)).toEqual([
          'dev',
          'staging',
        ]);
        expect(body.errors).toEqual([
          {
            instance: 'prod',
            code,
            message: expect.stringContaining('Argo CD instance "prod"'),
          },
        ]);
        expect(JSON.stringify(body)).not.toContain('sandbox-prod-token');
      } finally {
        await sandbox.setInstanceFault('prod', undefined);
        await expire();
      }
    },
  );

  it('serves the fleet from one List per instance', async () => {
    await expire();
    const before = sandbox.requestCount('main');
    const res = await request(server).get('/api/gitops/fleet');
    expect(res.status).toBe(200);
    const fleet = res.body as FleetStatus;
    expect(specErrors('FleetStatus', fleet)).toEqual([]);
    expect(sandbox.requestCount('main') - before).toBe(1);
    const byRef = Object.fromEntries(fleet.entities.map(e => [e.entityRef, e]));
    expect(
      byRef['component:default/service-b'].environments.map(e => e.environment),
    ).toEqual(['dev', 'staging', 'prod']);
    expect(byRef['component:default/bad-selector'].error?.code).toBe(
      'invalid-annotation',
    );
    expect(byRef['component:default/not-annotated']).toBeUndefined();
  });

  it('serves a warm fleet from its cache, with no upstream call', async () => {
    // A backend of its own whose answers outlive the test however slow the machine.
    const backend = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({
          data: sandboxBackendConfig(sandbox, { cacheSeconds: 600 }),
        }),
      ],
    });
    try {
      const fleet = () => request(backend.server).get('/api/gitops/fleet');
      expect((await fleet()).status).toBe(200);
      const warm = sandbox.requestCount('main');
      expect((await fleet()).status).toBe(200);
      expect(sandbox.requestCount('main')).toBe(warm);
    } finally {
      await backend.stop();
    }
  });

  describe('actions', () => {
    const post = (env: string, action: string, body: object = {}) =>
      request(server)
        .post(
          `/api/gitops/entities/component/default/service-a/environments/${env}/${action}`,
        )
        .send(body);
    const prodImages = async () =>
      (await status('service-a')).environments.find(
        e => e.environment === 'prod',
      )!.live.images;

    it('syncs prod to what Git says, and the next view shows it', async () => {
      const res = await post('prod', 'sync');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        instance: 'prod',
        application: { name: 'service-a-prod' },
        result: { operation: { phase: 'Running' } },
      });
      expect(specErrors('ActionResult', res.body)).toEqual([]);
      await eventually(async () => {
        const images = await prodImages();
        return images[0]?.endsWith(':v9.9.9') ? true : undefined;
      }, 'prod to run v9.9.9');
    });

    it('rolls prod back through Argo CD by history id; under automated sync it goes through Git', async () => {
      // dev syncs automatically: the rollback is a commit, here with nothing to change.
      const refused = await post('dev', 'rollback', { id: 0 });
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toBe(
        'dev already has 4c5d6e7 in chart/values-dev.yaml',
      );
      const bad = await post('prod', 'rollback', { id: 'first' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain('Invalid id');

      expect((await post('prod', 'rollback', { id: 0 })).status).toBe(200);
      await eventually(async () => {
        const images = await prodImages();
        return images[0]?.endsWith(':v1.4.0') ? true : undefined;
      }, 'prod to run v1.4.0 again');
    });

    it('refreshes, and names an unknown environment', async () => {
      expect((await post('dev', 'refresh')).status).toBe(200);
      const unknown = await post('qa', 'sync');
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.message).toBe(
        'component:default/service-a has no environment "qa"; it has dev, staging, prod',
      );
    });

    it('answers 503 when the instance is down, and changes nothing', async () => {
      await sandbox.setInstanceFault('prod', 'error');
      try {
        const res = await post('prod', 'sync');
        expect(res.status).toBe(503);
        // Whether the cached view still has prod (the sync is refused) or not (prod is
        // unknown), the answer is a 503 naming the instance.
        expect(res.body.error.message).toContain('Argo CD instance "prod"');
      } finally {
        await sandbox.setInstanceFault('prod', undefined);
      }
    });
  });

  it('refuses an action the permission policy denies', async () => {
    const denied = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result: AuthorizeResult.DENY }),
        mockServices.rootConfig.factory({ data: backendConfig() }),
      ],
    });
    try {
      const res = await request(denied.server).post(
        '/api/gitops/entities/component/default/service-a/environments/prod/sync',
      );
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe(
        'You may not sync component:default/service-a (permission gitops.application.sync)',
      );
    } finally {
      denied.server.close();
    }
  });
});
