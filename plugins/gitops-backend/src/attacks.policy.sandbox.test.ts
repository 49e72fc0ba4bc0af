import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { EntityDeploymentStatus } from '@gitops-backstage/plugin-gitops-common';
import {
  argo,
  eventually,
  pushChange,
  Sandbox,
  settled,
  setTag,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import knexFactory, { Knex } from 'knex';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { gitopsPlugin } from './plugin';
import {
  component,
  gitIn,
  sandboxBackendConfig,
} from './__testUtils__/sandboxBackend';

jest.setTimeout(180_000);

/**
 * A catalog author's entity cannot loosen the organisation's promotion policy, a
 * rollback obeys it too, and what a promotion writes pins exactly the promoted version.
 * app-config here: prod by pull request, staging soaks an hour, no skipping.
 */
const selector = (app: string) => ({
  'argocd/app-selector': `app.kubernetes.io/name=${app}`,
});
const withPolicy = (app: string, policy: object) => ({
  ...selector(app),
  'gitops/promotion-policy': JSON.stringify(policy),
});
const FOREVER = {
  start: '2020-01-01T00:00:00Z',
  end: '2100-01-01T00:00:00Z',
  reason: 'Year-end freeze',
};

const entities = [
  component('service-a', selector('service-a')),
  component('service-b', selector('service-b')),
  component(
    'b-straight-to-prod',
    withPolicy('service-b', {
      methods: { prod: 'commit' },
      soakMinutes: { staging: 0 },
    }),
  ),
  component(
    'b-no-soak',
    withPolicy('service-b', { soakMinutes: { staging: 0 } }),
  ),
  component('b-skipping', withPolicy('service-b', { allowSkip: true })),
  component('b-dev-prod', {
    ...selector('service-b'),
    'gitops/environments': 'dev,prod',
  }),
  component('b-reordered', {
    ...selector('service-b'),
    'gitops/environments': 'prod,staging,dev',
  }),
  component('b-frozen', withPolicy('service-b', { freezeWindows: [FOREVER] })),
  component(
    'b-rollback-by-pr',
    withPolicy('service-b', { methods: { dev: 'pull-request' } }),
  ),
];

describe('attacks on the promotion policy and on what Git says (sandbox)', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;
  let stopBackend: () => Promise<void>;
  let db: Knex;

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-policy-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
    });
    const backend = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({
          data: sandboxBackendConfig(sandbox, {
            promotion: {
              methods: { prod: 'pull-request' },
              soakMinutes: { staging: 60 },
            },
          }),
        }),
        mockServices.database.factory({ knex: db }),
      ],
    });
    server = backend.server;
    stopBackend = () => backend.stop();
    await settled(sandbox);
  });
  afterAll(async () => {
    await stopBackend?.();
    await sandbox?.stop();
    await db?.destroy();
    await fs.rm(sandboxDir, { recursive: true, force: true });
  });

  const api = (entity: string, route: string) =>
    `/api/gitops/entities/component/default/${entity}/${route}`;
  const promote = (entity: string, body: object) =>
    request(server).post(api(entity, 'promotions')).send(body);
  const rollback = (entity: string, environment: string, id: number) =>
    request(server)
      .post(api(entity, `environments/${environment}/rollback`))
      .send({ id });
  const head = async (repo: string) =>
    (await gitIn(sandboxDir, repo, 'rev-parse', 'main')).trim();
  const fileInGit = async (repo: string, file: string) =>
    gitIn(sandboxDir, repo, 'show', `main:${file}`);
  const lane = async (entity: string, environment: string) => {
    const res = await request(server).get(api(entity, 'status'));
    return (res.body as EntityDeploymentStatus).environments.find(
      e => e.environment === environment,
    )!;
  };
  const records = async (entity: string) =>
    (await request(server).get(api(entity, 'promotions'))).body.items;

  describe('an entity annotation cannot loosen app-config (400 naming the rule, nothing written)', () => {
    it('refuses methods.prod: commit with soakMinutes.staging: 0 where app-config asks a pull request and an hour (straight to prod main)', async () => {
      const before = await head('service-b-config');
      const res = await promote('b-straight-to-prod', {
        from: 'staging',
        to: 'prod',
      });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(
        'gitops/promotion-policy asks methods.prod: commit, but app-config gitops.promotion.methods.prod is pull-request; ' +
          'gitops/promotion-policy asks soakMinutes.staging: 0, but app-config gitops.promotion.soakMinutes.staging is 60; ' +
          'an entity may only tighten the policy',
      );
      expect(await head('service-b-config')).toBe(before);
      expect(await records('b-straight-to-prod')).toEqual([]);
    });

    it('refuses soakMinutes.staging: 0 where app-config says 60, even for a dry run', async () => {
      const before = await head('service-b-config');
      for (const dryRun of [false, true]) {
        const res = await promote('b-no-soak', {
          from: 'staging',
          to: 'prod',
          dryRun,
        });
        expect(res.status).toBe(400);
        expect(res.body.error.message).toBe(
          'gitops/promotion-policy asks soakMinutes.staging: 0, but app-config gitops.promotion.soakMinutes.staging is 60; an entity may only tighten the policy',
        );
      }
      expect(await head('service-b-config')).toBe(before);
    });

    it('refuses allowSkip: true where app-config forbids skipping', async () => {
      const before = await head('service-b-config');
      const res = await promote('b-skipping', { from: 'dev', to: 'prod' });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(
        'gitops/promotion-policy asks allowSkip: true, but app-config gitops.promotion.allowSkip is not set (false); an entity may only tighten the policy',
      );
      expect(await head('service-b-config')).toBe(before);
    });

    it('gitops/environments: dev,prod does not make dev → prod one step past staging', async () => {
      const before = await head('service-b-config');
      const res = await promote('b-dev-prod', { from: 'dev', to: 'prod' });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(
        'Promotions go one step forward along dev → staging → prod: dev → prod is not one (it skips staging)',
      );
      expect(await head('service-b-config')).toBe(before);
    });

    it('gitops/environments cannot reorder the pipeline of app-config', async () => {
      const before = await head('service-b-config');
      const res = await promote('b-reordered', { from: 'staging', to: 'dev' });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(
        'gitops/environments lists staging after prod, but app-config gitops.environments orders dev → staging → prod; an entity may only tighten the policy (leave environments out, not reorder them)',
      );
      expect(await head('service-b-config')).toBe(before);
    });
  });

  describe('a rollback follows the policy of a promotion', () => {
    let firstDevDeployment: number;

    beforeAll(async () => {
      // A second deployment in dev, so that rolling back to the first changes something.
      // CI pushes the image before it bumps the tag.
      await sandbox.registry.pushImage(
        'registry.example.com/checkout/service-b:d1e2f3a',
      );
      await pushChange(
        sandbox,
        'service-b-config',
        { 'chart/values-dev.yaml': setTag('d1e2f3a') },
        'ci: d1e2f3a',
      );
      const dev = await eventually(async () => {
        const env = await lane('service-b', 'dev');
        return env?.live.images[0]?.endsWith(':d1e2f3a') &&
          env.live.syncStatus === 'Synced' &&
          env.live.history.length > 1
          ? env
          : undefined;
      }, 'service-b dev to run d1e2f3a');
      firstDevDeployment = dev.live.history[dev.live.history.length - 1].id;
    });

    it('refuses (409, naming the window) a GitOps rollback into a frozen environment: Git unchanged', async () => {
      const before = await head('service-b-config');
      const res = await rollback('b-frozen', 'dev', firstDevDeployment);
      expect(res.status).toBe(409);
      expect(res.body.error.message).toBe(
        'Gate "no freeze window" refused: dev is frozen until 2100-01-01T00:00:00Z: Year-end freeze',
      );
      expect(await head('service-b-config')).toBe(before);
      expect(await records('b-frozen')).toEqual([]);
    });

    it("refuses (409) Argo CD's rollback of a manually synced Application in a frozen environment: the Application unchanged", async () => {
      const application = async () => {
        const { body } = await argo(
          sandbox,
          'prod',
          '/api/v1/applications/service-b-prod?appNamespace=argocd',
        );
        return {
          spec: body.spec,
          history: body.status.history,
          operation: body.status.operationState,
          revision: body.status.sync.revision,
        };
      };
      const prod = await lane('service-b', 'prod');
      expect(prod.live.automatedSync).toBe(false);
      expect(prod.live.history.length).toBeGreaterThan(0);
      const before = await application();

      const res = await rollback('b-frozen', 'prod', prod.live.history[0].id);
      expect(res.status).toBe(409);
      expect(res.body.error.message).toBe(
        'Gate "no freeze window" refused: prod is frozen until 2100-01-01T00:00:00Z: Year-end freeze',
      );
      expect(await application()).toEqual(before);
    });

    it('writes a rollback by pull request where the policy asks one: refused on a Git server without pull requests, nothing written', async () => {
      const before = await head('service-b-config');
      const res = await rollback('b-rollback-by-pr', 'dev', firstDevDeployment);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(
        /^A rollback of dev is by pull request, but .* is on a Git server without pull requests \(writer "git"\)/,
      );
      expect(await head('service-b-config')).toBe(before);
    });
  });

  describe('what a promotion writes pins exactly the promoted version', () => {
    it('promoting a tag into a values file that pins a digest leaves the file pinning the tag only', async () => {
      const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
      await pushChange(
        sandbox,
        'service-a-config',
        {
          'chart/values-staging.yaml': old =>
            old!.replace(/( *)tag: .*\n/, `$&$1digest: '${digest}'\n`),
        },
        'ci: staging pinned by digest',
      );
      expect(
        parse(await fileInGit('service-a-config', 'chart/values-staging.yaml'))
          .image.digest,
      ).toBe(digest);
      const devTag = (await lane('service-a', 'dev')).desired!.image!.tag!;

      const res = await promote('service-a', { from: 'dev', to: 'staging' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'committed', version: devTag });
      const { image } = parse(
        await fileInGit('service-a-config', 'chart/values-staging.yaml'),
      );
      expect(image.tag).toBe(devTag);
      expect(image.digest || undefined).toBeUndefined();
      const staging = await eventually(async () => {
        const env = await lane('service-a', 'staging');
        return env.desired?.image?.tag === devTag ? env : undefined;
      }, "staging's desired state to read the new tag");
      expect(staging.desired!.image).toEqual({
        repository: 'registry.example.com/checkout/service-a',
        tag: devTag,
      });
    });

    it.each([
      [
        'the image map is an alias (anchors)',
        `base: &base\n  repository: registry.example.com/checkout/service-a\n  tag: '1a2b3c4'\nimage: *base\nreplicaCount: 1\n`,
        '"image" is a scalar, not a map',
      ],
      [
        'the tag key is set twice in the same file',
        `image:\n  repository: registry.example.com/checkout/service-a\n  tag: '1a2b3c4'\n  tag: '0000000'\nreplicaCount: 1\n`,
        'Map keys must be unique',
      ],
    ])(
      'fails (409) with nothing pushed when the edit cannot pin the version: %s',
      async (_name, text, reason) => {
        await pushChange(
          sandbox,
          'service-a-config',
          { 'chart/values-staging.yaml': () => text },
          'staging values the edit cannot pin',
        );
        const before = await head('service-a-config');
        const res = await promote('service-a', { from: 'dev', to: 'staging' });
        expect(res.status).toBe(409);
        expect(res.body.error.message).toMatch(
          /^staging's chart\/values-staging\.yaml cannot take \S+: /,
        );
        expect(res.body.error.message).toContain(reason);
        expect(res.body.error.message).toMatch(/; nothing was written$/);
        expect(await head('service-a-config')).toBe(before);
        expect(
          await fileInGit('service-a-config', 'chart/values-staging.yaml'),
        ).toBe(text);
      },
    );
  });
});
