import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  EntityDeploymentStatus,
  PromotionRecord,
} from '@gitops-backstage/plugin-gitops-common';
import {
  eventually,
  helmBinary,
  pushChange,
  settled,
  Sandbox,
  setTag,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import knexFactory, { Knex } from 'knex';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { gitopsPlugin } from './plugin';
import {
  component,
  gitIn,
  sandboxBackendConfig,
  specErrors,
  tagInGit,
} from './__testUtils__/sandboxBackend';

// Real Git, helm and the sandbox on a loaded 2-core machine: the file took 670 s for its
// ten tests in a CI run with two more suites beside it.
jest.setTimeout(600_000);

const selectorOf = (app: string) => ({
  'argocd/app-selector': `app.kubernetes.io/name=${app}`,
});
const withPolicy = (app: string, policy: string) => ({
  ...selectorOf(app),
  'gitops/promotion-policy': policy,
});

const entities = [
  component('service-a', selectorOf('service-a')),
  component('service-b', selectorOf('service-b')),
  // The same Applications under other policies (entity annotations).
  component(
    'service-b-soaking',
    withPolicy('service-b', '{ soakMinutes: { dev: 100000 } }'),
  ),
  component(
    'service-b-frozen',
    withPolicy(
      'service-b',
      JSON.stringify({
        freezeWindows: [
          {
            environments: ['staging'],
            start: '2020-01-01T00:00:00Z',
            end: '2100-01-01T00:00:00Z',
            reason: 'Year-end freeze',
          },
        ],
      }),
    ),
  ),
  component(
    'service-b-by-pr',
    withPolicy('service-b', '{ methods: { staging: pull-request } }'),
  ),
  component(
    'service-b-bad-policy',
    withPolicy('service-b', '{ methods: { staging: merge } }'),
  ),
  component(
    'service-b-skipping',
    withPolicy('service-b', '{ allowSkip: true }'),
  ),
];

describe('promotion and rollback against the sandbox (real Git, real helm)', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;
  let stopBackend: () => Promise<void>;
  let db: Knex;
  let config: ReturnType<typeof sandboxBackendConfig>;

  const startBackend = (
    result:
      | AuthorizeResult.ALLOW
      | AuthorizeResult.DENY = AuthorizeResult.ALLOW,
  ) =>
    startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result }),
        mockServices.rootConfig.factory({ data: config }),
        mockServices.database.factory({ knex: db }),
      ],
    });

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-promo-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    config = sandboxBackendConfig(sandbox, {
      helm: { command: await helmBinary() },
    });
    // One database across "restarts" of the backend, as in production.
    db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
    });
    const backend = await startBackend();
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

  const promote = (entity: string, body: object) =>
    request(server)
      .post(`/api/gitops/entities/component/default/${entity}/promotions`)
      .send(body);
  const promotions = async (entity: string): Promise<PromotionRecord[]> =>
    (
      await request(server).get(
        `/api/gitops/entities/component/default/${entity}/promotions`,
      )
    ).body.items;
  const lane = async (entity: string, environment: string) => {
    const res = await request(server).get(
      `/api/gitops/entities/component/default/${entity}/status`,
    );
    return (res.body as EntityDeploymentStatus).environments.find(
      e => e.environment === environment,
    )!;
  };
  const head = async (repo: string) =>
    (await gitIn(sandboxDir, repo, 'rev-parse', 'main')).trim();
  const running = (entity: string, environment: string, tag: string) =>
    eventually(async () => {
      const env = await lane(entity, environment);
      return env.live.images[0]?.endsWith(`:${tag}`) &&
        env.live.health.status === 'Healthy' &&
        env.live.syncStatus === 'Synced'
        ? env
        : undefined;
    }, `${entity} ${environment} to run ${tag}`);

  it('previews every gate, the values diff and the rendered-manifest diff, writing nothing', async () => {
    // CI pushes the image before it bumps the tag.
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-b:c0ffee2',
    );
    await pushChange(
      sandbox,
      'service-b-config',
      { 'chart/values-dev.yaml': setTag('c0ffee2') },
      'ci: c0ffee2',
    );
    await running('service-b', 'dev', 'c0ffee2');

    const before = await head('service-b-config');
    const preview = await promote('service-b', {
      from: 'dev',
      to: 'staging',
      dryRun: true,
    });
    expect(preview.status).toBe(200);
    expect(specErrors('PromotionResult', preview.body)).toEqual([]);
    expect(preview.body).toMatchObject({
      dryRun: true,
      kind: 'promotion',
      method: 'commit',
      version: 'c0ffee2',
      previousVersion: '9f8e7d6',
    });
    expect(preview.body.gates.map((g: any) => [g.name, g.passed])).toEqual([
      ['source synced', true],
      ['source healthy', true],
      ['source runs its config', true],
      ['rollout completed', true],
      ['no freeze window', true],
      ['version changes', true],
    ]);
    expect(preview.body.diff).toContain("-  tag: '9f8e7d6'");
    expect(preview.body.diff).toContain("+  tag: 'c0ffee2'");
    // helm template before and after: the pod template's image changes.
    expect(preview.body.renderedDiff).toMatch(
      /^-\s+image: "registry.example.com\/checkout\/service-b:9f8e7d6"$/m,
    );
    expect(preview.body.renderedDiff).toMatch(
      /^\+\s+image: "registry.example.com\/checkout\/service-b:c0ffee2"$/m,
    );
    expect(await promotions('service-b')).toEqual([]);
    expect(await head('service-b-config')).toBe(before);
  });

  it('applies the policy of the entity, which only tightens app-config: soak time, freeze windows, method; names the gate that refuses', async () => {
    const before = await head('service-b-config');
    const soaking = await promote('service-b-soaking', {
      from: 'dev',
      to: 'staging',
      dryRun: true,
    });
    expect(soaking.status).toBe(200);
    expect(soaking.body.gates).toContainEqual({
      name: 'soak time',
      passed: false,
      message: expect.stringMatching(
        /^dev has run its version for \d+ min; the policy asks 100000 min$/,
      ),
    });
    const refused = await promote('service-b-soaking', {
      from: 'dev',
      to: 'staging',
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/^Gate "soak time" refused: /);

    const frozen = await promote('service-b-frozen', {
      from: 'dev',
      to: 'staging',
    });
    expect(frozen.status).toBe(409);
    expect(frozen.body.error.message).toBe(
      'Gate "no freeze window" refused: staging is frozen until 2100-01-01T00:00:00Z: Year-end freeze',
    );

    const byPr = await promote('service-b-by-pr', {
      from: 'dev',
      to: 'staging',
    });
    expect(byPr.status).toBe(400);
    expect(byPr.body.error.message).toContain(
      'Promotion to staging is by pull request, but',
    );

    const bad = await promote('service-b-bad-policy', {
      from: 'dev',
      to: 'staging',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain(
      'Annotation gitops/promotion-policy is invalid: gitops/promotion-policy.methods.staging',
    );

    const skip = await promote('service-b', { from: 'dev', to: 'prod' });
    expect(skip.status).toBe(400);
    expect(skip.body.error.message).toBe(
      'Promotions go one step forward along dev → staging → prod: dev → prod is not one (it skips staging)',
    );
    // An entity may tighten app-config's policy, never loosen it.
    const skipping = await promote('service-b-skipping', {
      from: 'dev',
      to: 'prod',
      dryRun: true,
    });
    expect(skipping.status).toBe(400);
    expect(skipping.body.error.message).toBe(
      'gitops/promotion-policy asks allowSkip: true, but app-config gitops.promotion.allowSkip is not set (false); an entity may only tighten the policy',
    );

    expect(await head('service-b-config')).toBe(before);
    expect(await promotions('service-b-soaking')).toEqual([]);
  });

  it("commits dev's version into staging's values file, one line, once per idempotency key; the record turns deployed", async () => {
    const key = 'promote-service-b-dev-staging-1';
    // The same key twice at once: one commit, both answer it.
    const [first, second] = await Promise.all([
      promote('service-b', { from: 'dev', to: 'staging', idempotencyKey: key }),
      promote('service-b', { from: 'dev', to: 'staging', idempotencyKey: key }),
    ]);
    const [created, replayed] =
      first.status === 201 ? [first, second] : [second, first];
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'committed',
      method: 'commit',
      version: 'c0ffee2',
      previousVersion: '9f8e7d6',
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(specErrors('PromotionResult', created.body)).toEqual([]);
    expect(replayed.status).toBe(200);
    expect(replayed.body).toMatchObject({
      id: created.body.id,
      replayed: true,
      commit: created.body.commit,
    });

    const staging = await gitIn(
      sandboxDir,
      'service-b-config',
      'show',
      'main:chart/values-staging.yaml',
    );
    expect(staging).toContain("tag: 'c0ffee2'");
    expect(staging).toContain('# Bumped by CI');
    const numstat = await gitIn(
      sandboxDir,
      'service-b-config',
      'show',
      '--numstat',
      '--format=%an%n%s',
      created.body.commit,
    );
    expect(numstat.trim().split('\n')).toEqual([
      expect.stringMatching(/^user:default\//),
      'Promote service-b c0ffee2 from dev to staging',
      '',
      '1\t1\tchart/values-staging.yaml',
    ]);
    const subjects = await gitIn(
      sandboxDir,
      'service-b-config',
      'log',
      '--format=%s',
      '-3',
    );
    expect(
      subjects.split('\n').filter(l => l.startsWith('Promote service-b')),
    ).toHaveLength(1);

    // Staging syncs automatically; once it runs the version, the record says deployed.
    await running('service-b', 'staging', 'c0ffee2');
    const deployed = await eventually(async () => {
      const [latest] = await promotions('service-b');
      return latest?.status === 'deployed' ? latest : undefined;
    }, 'the promotion to be deployed');
    expect(deployed).toMatchObject({ id: created.body.id, to: 'staging' });
  });

  it('keeps every update under 50 concurrent promotions and a CI push: commits equal committed records', async () => {
    const before = await head('service-a-config');
    const [ci, ...answers] = await Promise.all([
      // CI changes the same file meanwhile (another line): it must survive.
      pushChange(
        sandbox,
        'service-a-config',
        {
          'chart/values-staging.yaml': old =>
            old!.replace('replicaCount: 1', 'replicaCount: 2'),
        },
        'ci: two replicas in staging',
      ),
      ...Array.from({ length: 50 }, () =>
        promote('service-a', { from: 'dev', to: 'staging' }),
      ),
    ]);
    expect(ci).toMatch(/^[0-9a-f]{40}$/);
    expect(
      answers.filter(r => r.status !== 201 && !r.body.error?.message),
    ).toEqual([]);
    for (const res of answers) {
      // Committed, or refused with a reason: already there, or Git too contended.
      expect([201, 409, 503]).toContain(res.status);
    }
    const commits = (
      await gitIn(
        sandboxDir,
        'service-a-config',
        'log',
        '--format=%s',
        `${before}..main`,
      )
    )
      .trim()
      .split('\n')
      .filter(s => s.startsWith('Promote service-a'));
    const records = await promotions('service-a');
    expect(records).toHaveLength(50);
    const committed = records.filter(r => r.status !== 'failed');
    expect(committed).toHaveLength(commits.length);
    expect(commits).toHaveLength(1);
    expect(answers.filter(r => r.status === 201)).toHaveLength(1);
    for (const r of records.filter(x => x.status === 'failed'))
      expect(r.message).toBeTruthy();

    const file = await gitIn(
      sandboxDir,
      'service-a-config',
      'show',
      'main:chart/values-staging.yaml',
    );
    expect(file).toContain("tag: '4c5d6e7'");
    expect(file).toContain('replicaCount: 2');
  }, 600_000);

  describe('bad input: a 4xx naming the problem, and the repository unchanged', () => {
    const brokenDev = async (
      change: (old: string | undefined) => string,
      expected: { status: number; message: string },
    ) => {
      await pushChange(
        sandbox,
        'service-a-config',
        { 'chart/values-dev.yaml': change },
        'a broken dev',
      );
      const before = await head('service-a-config');
      const res = await eventually(async () => {
        const r = await promote('service-a', { from: 'dev', to: 'staging' });
        // The view may still hold the previous commit for a moment.
        return r.status === expected.status &&
          r.body.error?.message.includes(expected.message)
          ? r
          : undefined;
      }, `a ${expected.status} saying ${expected.message}`);
      expect(res.body.error.message).toContain(expected.message);
      expect(await head('service-a-config')).toBe(before);
    };

    it('refuses tags with YAML metacharacters or newlines and invalid digests', async () => {
      expect.assertions(6);
      await brokenDev(old => old!.replace(/tag: .*/, 'tag: "v1: {x}"'), {
        status: 400,
        message: `The image version "v1: {x}" in dev's chart/values-dev.yaml is not a valid OCI tag`,
      });
      await brokenDev(
        old => old!.replace(/tag: .*/, 'tag: "v1\\nkind: Secret"'),
        {
          status: 400,
          message: `The image version "v1\\nkind: Secret" in dev's chart/values-dev.yaml is not a valid OCI tag`,
        },
      );
      await brokenDev(
        old => old!.replace(/tag: .*/, 'tag: "v1"\n  digest: "sha256:not-hex"'),
        {
          status: 400,
          message: `The image version "sha256:not-hex" in dev's chart/values-dev.yaml is not a valid OCI digest`,
        },
      );
    });

    it('refuses unknown, backward and skipping environments', async () => {
      const before = await head('service-a-config');
      for (const [body, message] of [
        [
          { from: 'dev', to: 'qa' },
          'has no environment "qa"; it has dev, staging, prod',
        ],
        [{ from: 'staging', to: 'dev' }, 'staging → dev is not one'],
        [{ from: 'dev', to: 'prod' }, 'dev → prod is not one'],
        [{ from: 'dev' }, 'Invalid to: Required'],
      ] as const) {
        const res = await promote('service-a', body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body.error.message).toContain(message);
      }
      expect(await head('service-a-config')).toBe(before);
    });

    it('refuses a target without its values file or without the image key', async () => {
      const before = await head('service-b-config');
      await pushChange(
        sandbox,
        'service-b-config',
        { 'chart/values-prod.yaml': old => old!.replace(/ *tag: .*\n/, '') },
        'prod loses its tag',
      );
      const noKey = await eventually(async () => {
        const r = await promote('service-b', { from: 'staging', to: 'prod' });
        return r.status === 409 ? r : undefined;
      }, 'a 409 for the missing key');
      // Helm then takes the chart's default: not a file to promote into.
      expect(noKey.body.error.message).toBe(
        "prod takes its image version from chart/values.yaml, which every environment shares; set it in prod's own values file (helm.valueFiles) first",
      );
      // Nothing was written: the last commit is still the one that broke prod.
      expect(
        await gitIn(sandboxDir, 'service-b-config', 'log', '--format=%s', '-1'),
      ).toContain('prod loses its tag');
      expect(await head('service-b-config')).not.toBe(before);

      const beforeA = await head('service-a-config');
      await pushChange(
        sandbox,
        'service-a-config',
        { 'chart/values-prod.yaml': () => undefined },
        'prod loses its values file',
      );
      const noFile = await eventually(async () => {
        const r = await promote('service-a', { from: 'staging', to: 'prod' });
        return r.status === 409 ? r : undefined;
      }, 'a 409 for the missing file');
      expect(noFile.body.error.message).toContain(
        'prod takes its image version from chart/values.yaml',
      );
      expect(
        await gitIn(
          sandboxDir,
          'service-a-config',
          'log',
          '--format=%s',
          `${beforeA}..main`,
        ),
      ).toBe('prod loses its values file\n');
    });

    it('refuses an oversized body (413) and an unauthorized user (403), writing nothing', async () => {
      const before = await head('service-b-config');
      const huge = await promote('service-b', {
        from: 'dev',
        to: 'staging',
        idempotencyKey: 'x'.repeat(100_000),
      });
      expect(huge.status).toBe(413);
      expect(huge.body.error.message).toMatch(/too large/i);

      const denied = await startBackend(AuthorizeResult.DENY);
      try {
        const res = await request(denied.server)
          .post('/api/gitops/entities/component/default/service-b/promotions')
          .send({ from: 'dev', to: 'staging' });
        expect(res.status).toBe(403);
        expect(res.body.error.message).toBe(
          'You may not promote component:default/service-b (permission gitops.promotion.create)',
        );
        const rollback = await request(denied.server)
          .post(
            '/api/gitops/entities/component/default/service-b/environments/dev/rollback',
          )
          .send({ id: 0 });
        expect(rollback.status).toBe(403);
      } finally {
        await denied.stop();
      }
      expect(await head('service-b-config')).toBe(before);
    });
  });

  it('rolls back under automated sync the GitOps way: a commit of the earlier version, recorded', async () => {
    // service-b's dev ran 9f8e7d6 first, then c0ffee2.
    const dev = await running('service-b', 'dev', 'c0ffee2');
    const first = dev.live.history[dev.live.history.length - 1];
    expect(dev.live.automatedSync).toBe(true);

    const res = await request(server)
      .post(
        '/api/gitops/entities/component/default/service-b/environments/dev/rollback',
      )
      .send({ id: first.id });
    expect(res.status).toBe(200);
    expect(specErrors('ActionResult', res.body)).toEqual([]);
    expect(res.body.promotion).toMatchObject({
      kind: 'rollback',
      from: 'dev',
      to: 'dev',
      version: '9f8e7d6',
      previousVersion: 'c0ffee2',
      status: 'committed',
    });
    expect(
      await tagInGit(sandboxDir, 'service-b-config', 'chart/values-dev.yaml'),
    ).toBe('9f8e7d6');
    await running('service-b', 'dev', '9f8e7d6');

    const missing = await request(server)
      .post(
        '/api/gitops/entities/component/default/service-b/environments/dev/rollback',
      )
      .send({ id: 999 });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain(
      'dev has no deployment with history id 999',
    );
  });

  it('settles promotions a restart cut short from Git: committed with the commit its Promotion-Id trailer names, else failed', async () => {
    const longAgo = new Date(Date.now() - 60 * 60_000);
    const row = (id: string, version: string) => ({
      id,
      kind: 'promotion',
      entity_ref: 'component:default/service-b',
      from_environment: 'dev',
      to_environment: 'staging',
      version,
      method: 'commit',
      status: 'requested',
      actor: 'user:default/guest',
      repo_url: sandbox.repoUrl('service-b-config'),
      branch: 'main',
      values_file: 'chart/values-staging.yaml',
      value_key: 'image.tag',
      created_at: longAgo,
      updated_at: longAgo,
    });
    // As a backend that stopped after its push (its commit, with the trailer every
    // promotion's commit carries, is in Git), and one that stopped before it.
    const pushed = await pushChange(
      sandbox,
      'service-b-config',
      {
        'chart/values-staging.yaml': text =>
          `${setTag('c0ffee2')(text)}# promoted\n`,
      },
      'Promote service-b c0ffee2 to staging\n\nPromotion-Id: pushed-before-restart',
    );
    await db('gitops_promotions').insert([
      row('pushed-before-restart', 'c0ffee2'),
      row('stopped-before-push', 'not-pushed'),
    ]);
    const restarted = await startBackend();
    try {
      const interrupted = await eventually(async () => {
        const rows = await db('gitops_promotions').whereIn('id', [
          'pushed-before-restart',
          'stopped-before-push',
        ]);
        return rows.every(r => r.status !== 'requested') ? rows : undefined;
      }, 'the interrupted promotions to be settled');
      const byId = Object.fromEntries(interrupted.map(r => [r.id, r]));
      expect(byId['pushed-before-restart']).toMatchObject({
        status: 'committed',
        commit_sha: pushed,
      });
      expect(byId['stopped-before-push']).toMatchObject({
        status: 'failed',
        message:
          'Interrupted before its commit (backend restart); nothing was written',
      });
    } finally {
      await restarted.stop();
    }
  });
});
