import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  EntityDeploymentStatus,
  FleetStatus,
} from '@gitops-backstage/plugin-gitops-common';
import {
  InstanceFault,
  pushChange,
  Sandbox,
  setTag,
  startTestSandbox,
  eventually,
} from '@gitops-backstage/gitops-sandbox';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import request from 'supertest';
import { parse } from 'yaml';
import { gitopsPlugin } from './plugin';

const exec = promisify(execFile);

// Every answer is checked against the plugin's own OpenAPI spec.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(
  parse(readFileSync(path.resolve(__dirname, 'schema/openapi.yaml'), 'utf8')),
  'openapi',
);
function specErrors(schema: string, body: unknown) {
  const validate = ajv.getSchema(`openapi#/components/schemas/${schema}`)!;
  return validate(body) ? [] : validate.errors;
}
jest.setTimeout(60_000);

function component(name: string, annotations: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      type: 'service',
      owner: 'team-checkout',
      lifecycle: 'production',
      system: 'checkout',
    },
  };
}

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

/** Reads a values file's tag straight from the sandbox's bare repository. */
async function tagInGit(sandboxDir: string, repo: string, file: string) {
  const { stdout } = await exec('git', [
    '-C',
    path.join(sandboxDir, 'repos', `${repo}.git`),
    'show',
    `main:${file}`,
  ]);
  return parse(stdout).image.tag;
}

describe('deployment status against the sandbox (two Argo CD instances, real Git)', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;

  /** The plugin's config for the sandbox: a token for main, a user for prod. */
  const backendConfig = () => {
    const gitHost = new URL(sandbox.gitUrl).host;
    return {
      argocd: {
        appLocatorMethods: [
          {
            type: 'config',
            instances: sandbox.instances.map(i => ({
              name: i.name,
              url: i.url,
              ...(i.name === 'prod'
                ? { username: 'admin', password: 'sandbox' }
                : { token: i.token }),
            })),
          },
        ],
      },
      gitops: {
        promotion: { methods: { prod: 'commit' } },
        cacheSeconds: 0.2,
        timeoutSeconds: 0.5,
        git: {
          credentials: [{ host: gitHost, password: sandbox.gitToken }],
        },
      },
    };
  };

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
    // Wait for the initial deployments to settle.
    await new Promise(resolve => setTimeout(resolve, 1000));
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
      phase: 'Healthy',
      strategy: 'canary',
      currentStepIndex: 4,
      stepCount: 4,
      canaryWeight: 0,
      stableWeight: 100,
    });
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

    // Warm: served from the cache, no upstream call.
    const warm = sandbox.requestCount('main');
    expect((await request(server).get('/api/gitops/fleet')).status).toBe(200);
    expect(sandbox.requestCount('main')).toBe(warm);
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

    it('rolls prod back by history id, and refuses where automated sync is on', async () => {
      const refused = await post('dev', 'rollback', { id: 0 });
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toContain(
        'rollback cannot be initiated when auto-sync is enabled',
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

  describe('promotion', () => {
    const promote = (body: object) =>
      request(server)
        .post('/api/gitops/entities/component/default/service-b/promotions')
        .send(body);

    it('previews a promotion as the diff of the target values file', async () => {
      // CI ships a new build to dev; it rolls out there first.
      await pushChange(
        sandbox,
        'service-b-config',
        { 'chart/values-dev.yaml': setTag('c0ffee2') },
        'ci: c0ffee2',
      );
      await eventually(async () => {
        const dev = (await status('service-b')).environments.find(
          e => e.environment === 'dev',
        )!;
        return dev.live.images[0]?.endsWith(':c0ffee2') &&
          dev.live.health.status === 'Healthy'
          ? true
          : undefined;
      }, 'dev to run c0ffee2');

      const preview = await promote({
        from: 'dev',
        to: 'staging',
        dryRun: true,
      });
      expect(preview.status).toBe(200);
      expect(preview.body).toMatchObject({
        dryRun: true,
        version: 'c0ffee2',
        previousVersion: '9f8e7d6',
      });
      expect(preview.body.diff).toContain("+  tag: 'c0ffee2'");
      // A preview writes nothing.
      const listed = await request(server).get(
        '/api/gitops/entities/component/default/service-b/promotions',
      );
      expect(listed.body.items).toEqual([]);
    });

    it("moves dev's version into staging's values file, keeping the rest of the file", async () => {
      const key = 'promote-service-b-dev-staging-1';
      const first = await promote({
        from: 'dev',
        to: 'staging',
        idempotencyKey: key,
      });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({
        status: 'committed',
        method: 'commit',
        version: 'c0ffee2',
        previousVersion: '9f8e7d6',
        commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      });
      expect(specErrors('PromotionResult', first.body)).toEqual([]);
      expect(first.body.diff).toContain("-  tag: '9f8e7d6'");
      expect(first.body.diff).toContain("+  tag: 'c0ffee2'");
      const staging = await exec('git', [
        '-C',
        path.join(sandboxDir, 'repos', 'service-b-config.git'),
        'show',
        'main:chart/values-staging.yaml',
      ]);
      expect(staging.stdout).toContain("tag: 'c0ffee2'");
      expect(staging.stdout).toContain('# Bumped by CI');
      // The commit changes exactly one line of one file.
      const numstat = await exec('git', [
        '-C',
        path.join(sandboxDir, 'repos', 'service-b-config.git'),
        'show',
        '--numstat',
        '--format=',
        first.body.commit,
      ]);
      expect(numstat.stdout.trim()).toBe('1\t1\tchart/values-staging.yaml');

      const again = await promote({
        from: 'dev',
        to: 'staging',
        idempotencyKey: key,
      });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({
        id: first.body.id,
        replayed: true,
        commit: first.body.commit,
      });
      const log = await exec('git', [
        '-C',
        path.join(sandboxDir, 'repos', 'service-b-config.git'),
        'log',
        '--format=%s',
        '-3',
      ]);
      expect(
        log.stdout.split('\n').filter(l => l.startsWith('Promote service-b')),
      ).toHaveLength(1);

      // Staging syncs automatically; once it runs the version, the record says deployed.
      const deployed = await eventually(async () => {
        const listed = await request(server).get(
          '/api/gitops/entities/component/default/service-b/promotions',
        );
        return listed.body.items[0]?.status === 'deployed'
          ? listed.body.items[0]
          : undefined;
      }, 'the promotion to be deployed');
      expect(deployed).toMatchObject({
        id: first.body.id,
        to: 'staging',
        version: 'c0ffee2',
      });
      // Let staging's canary finish, so later cases start from a settled staging.
      await eventually(async () => {
        const lane = (await status('service-b')).environments.find(
          e => e.environment === 'staging',
        )!;
        return lane.live.health.status === 'Healthy' ? true : undefined;
      }, 'staging to be Healthy');
    });

    it('refuses a version that is not a valid OCI tag, and writes nothing', async () => {
      await pushChange(
        sandbox,
        'service-a-config',
        {
          'chart/values-dev.yaml': old =>
            old!.replace(/tag: .*/, 'tag: "v1: {x}"'),
        },
        'a broken tag in dev',
      );
      const before = await exec('git', [
        '-C',
        path.join(sandboxDir, 'repos', 'service-a-config.git'),
        'rev-parse',
        'main',
      ]);
      const res = await eventually(async () => {
        const r = await request(server)
          .post('/api/gitops/entities/component/default/service-a/promotions')
          .send({ from: 'dev', to: 'staging' });
        return r.status === 400 ? r : undefined;
      }, 'the broken tag to be refused');
      expect(res.body.error.message).toContain(
        `dev's image version "v1: {x}" in chart/values-dev.yaml is not a valid OCI tag`,
      );
      const after = await exec('git', [
        '-C',
        path.join(sandboxDir, 'repos', 'service-a-config.git'),
        'rev-parse',
        'main',
      ]);
      expect(after.stdout).toBe(before.stdout);
    });

    it('refuses a skipped step, an unknown environment and a source that is not synced, naming why', async () => {
      const skip = await promote({ from: 'dev', to: 'prod' });
      expect(skip.status).toBe(400);
      expect(skip.body.error.message).toBe(
        'Promotions go one step forward along dev → staging → prod: dev → prod is not one',
      );
      const unknown = await promote({ from: 'dev', to: 'qa' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toContain('has no environment "qa"');

      await pushChange(
        sandbox,
        'service-b-config',
        { 'chart/values-staging.yaml': setTag('deadbee') },
        'staging moves on',
      );
      sandbox.setApplicationFaults('main', 'service-b-staging', {
        syncFails: true,
      });
      try {
        await eventually(async () => {
          const res = await promote({
            from: 'staging',
            to: 'prod',
            dryRun: true,
          });
          return res.status === 409 ? res : undefined;
        }, 'staging to be out of sync').then(res => {
          expect(res.body.error.message).toMatch(
            /^Gate "source (synced|runs its config)" refused: staging/,
          );
        });
      } finally {
        sandbox.setApplicationFaults('main', 'service-b-staging', {});
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
