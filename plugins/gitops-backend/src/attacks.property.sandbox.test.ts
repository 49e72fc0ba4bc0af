/* eslint jest/expect-expect: ["warn", { "assertFunctionNames": ["expect", "expectNothingChanged"] }] */
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  argo,
  helmBinary,
  Sandbox,
  settled,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import fc from 'fast-check';
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
} from './__testUtils__/sandboxBackend';

// 500 hostile requests per route against real Git, helm and the sandbox, on a loaded
// 2-core machine.
jest.setTimeout(900_000);

const RUNS = 500;

/**
 * Every write route, fed hostile values by fast-check, with a permission policy that
 * allows everything (the worst a portal may configure): every answer is a 4xx naming
 * the problem, no config repository moves, no Application changes, no promotion is
 * recorded, and no process is spawned with an attacker's value.
 */
describe('hostile input on every write route (property test, sandbox)', () => {
  let sandbox: Sandbox;
  let dir: string;
  let server: any;
  let stopBackend: () => Promise<void>;
  let db: Knex;
  let helmLog: string;
  let canary: string;

  // What an attacker types: flags, shell and YAML metacharacters, paths, selectors,
  // template syntax, unicode and NUL, a 64 KB string, and names of others' things.
  const hostile = () =>
    fc.oneof(
      fc.constantFrom(
        '--post-renderer=/bin/sh',
        `$(touch ${canary})`,
        `\`touch ${canary}\``,
        `; touch ${canary}`,
        '../../../etc/passwd',
        '/etc/passwd',
        '..',
        '%2e%2e%2f',
        'prod\nimage:\n  tag: evil',
        "'; DROP TABLE gitops_promotions; --",
        '{{ .Values.secret }}',
        '${{ secrets.TOKEN }}',
        '*',
        '!x',
        'prod\u0000',
        'ｐｒｏｄ',
        'x'.repeat(64 * 1024),
        'staging ',
        'PROD',
        'http://user:pass@evil.example.com/',
      ),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
    );
  const environments = ['dev', 'staging', 'prod'];
  /** An entity the caller names: its own, someone else's, one that claims others' Applications, or garbage. */
  const entityName = () =>
    fc.oneof(
      fc.constantFrom('intruder', 'match-all', 'ghost', 'service-b'),
      hostile(),
    );

  const entities = [
    component('service-a', {
      'argocd/app-selector': 'app.kubernetes.io/name=service-a',
    }),
    component('service-b', {
      'argocd/app-selector': 'app.kubernetes.io/name=service-b',
    }),
    // Another team's entity that claims service-b's Applications by its annotations.
    {
      ...component('intruder', {
        'argocd/app-name': 'service-b-dev,service-b-staging,service-b-prod',
        'gitops/promotion-policy':
          '{ methods: { prod: commit }, allowSkip: true }',
      }),
      spec: {
        type: 'service',
        owner: 'team-intruder',
        lifecycle: 'production',
      },
    },
    {
      ...component('match-all', { 'argocd/app-selector': '!x' }),
      spec: {
        type: 'service',
        owner: 'team-intruder',
        lifecycle: 'production',
      },
    },
  ];

  beforeAll(async () => {
    dir = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-property-')),
    );
    canary = path.join(dir, 'pwned');
    helmLog = path.join(dir, 'helm-calls.log');
    const wrapper = path.join(dir, 'helm');
    // Logs every argument helm is called with, one per line, then runs the real helm.
    await fs.writeFile(
      wrapper,
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${helmLog}'; done\nexec '${await helmBinary()}' "$@"\n`,
      { mode: 0o755 },
    );
    sandbox = await startTestSandbox({ dir: path.join(dir, 'sandbox') });
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
            helm: { command: wrapper },
            promotion: {},
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
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** What must not move: config repositories' heads and each Application's deployments. */
  async function snapshot() {
    const heads = await Promise.all(
      ['service-a-config', 'service-b-config'].map(repo =>
        gitIn(path.join(dir, 'sandbox'), repo, 'rev-parse', 'main'),
      ),
    );
    const apps: Record<string, unknown> = {};
    for (const instance of sandbox.instances) {
      const { body } = await argo(
        sandbox,
        instance.name,
        '/api/v1/applications',
      );
      for (const app of body.items) {
        apps[app.metadata.name] = {
          spec: app.spec,
          history: app.status?.history?.length ?? 0,
          operation: app.status?.operationState?.startedAt ?? null,
        };
      }
    }
    return { heads, apps };
  }

  /** Sends one request; it must be refused with a 4xx and an error that says why. */
  async function refused(method: 'post', url: string, body?: unknown) {
    const res = await request(server)
      [method](url)
      .send(body as object);
    if (res.status < 400 || res.status >= 500) {
      throw new Error(
        `${url.slice(0, 200)} ${JSON.stringify(body)?.slice(0, 200)} answered ${
          res.status
        }: ${JSON.stringify(res.body).slice(0, 300)}`,
      );
    }
    // Too large a body (413) or request line and headers (431, from Node's HTTP
    // parser) is refused before any handler runs: a status alone says it.
    if (![413, 431].includes(res.status) && !res.body?.error?.message) {
      throw new Error(
        `${url.slice(0, 200)} answered ${res.status} without a message`,
      );
    }
  }

  const entityUrl = (name: string, kind = 'component', ns = 'default') =>
    `/api/gitops/entities/${encodeURIComponent(kind)}/${encodeURIComponent(
      ns,
    )}/${encodeURIComponent(name)}`;

  /** Runs `attack`, then checks that nothing moved and nothing ran. */
  async function expectNothingChanged(attack: () => Promise<void>) {
    const before = await snapshot();
    await attack();
    expect(await snapshot()).toEqual(before);
    expect(await db('gitops_promotions').count({ n: '*' })).toEqual([{ n: 0 }]);
    await expect(fs.access(canary)).rejects.toThrow();
    const calls = await fs.readFile(helmLog, 'utf8').catch(() => '');
    for (const fragment of ['post-renderer', canary, 'passwd', '..', 'evil']) {
      expect(calls).not.toContain(fragment);
    }
  }

  it.each(['sync', 'refresh'])(
    '%s: foreign or hostile entity and environment → 4xx, nothing changed',
    async action => {
      await expectNothingChanged(() =>
        fc.assert(
          fc.asyncProperty(
            entityName(),
            fc.oneof(fc.constantFrom(...environments), hostile()),
            async (name, environment) => {
              // service-b's own lanes with a real environment would be allowed: not hostile.
              fc.pre(
                !(name === 'service-b' && environments.includes(environment)),
              );
              await refused(
                'post',
                `${entityUrl(name)}/environments/${encodeURIComponent(
                  environment,
                )}/${action}`,
              );
            },
          ),
          { numRuns: RUNS },
        ),
      );
    },
  );

  it('rollback: hostile history ids, entities and environments → 4xx, nothing changed', async () => {
    await expectNothingChanged(() =>
      fc.assert(
        fc.asyncProperty(
          entityName(),
          fc.oneof(fc.constantFrom(...environments), hostile()),
          fc.oneof(
            fc.constantFrom(-1, 1.5, 1e308, '0', null, [], {}, '0; rm -rf /'),
            hostile(),
            fc.integer({ min: 1000 }),
          ),
          async (name, environment, id) => {
            await refused(
              'post',
              `${entityUrl(name)}/environments/${encodeURIComponent(
                environment,
              )}/rollback`,
              { id },
            );
          },
        ),
        { numRuns: RUNS },
      ),
    );
  });

  it('promotions: hostile environments, keys and entities → 4xx, nothing written', async () => {
    await expectNothingChanged(() =>
      fc.assert(
        fc.asyncProperty(
          entityName(),
          fc.oneof(fc.constantFrom(...environments), hostile()),
          fc.oneof(fc.constantFrom(...environments), hostile()),
          fc.option(hostile(), { nil: undefined }),
          fc.oneof(fc.boolean(), fc.constantFrom('yes', 1, null)),
          async (name, from, to, idempotencyKey, dryRun) => {
            // A well-formed promotion of service-b's own is legitimate, not hostile.
            fc.pre(
              !(
                name === 'service-b' &&
                environments.includes(from) &&
                environments.includes(to)
              ),
            );
            await refused('post', `${entityUrl(name)}/promotions`, {
              from,
              to,
              dryRun,
              ...(idempotencyKey !== undefined && { idempotencyKey }),
            });
          },
        ),
        { numRuns: RUNS },
      ),
    );
  });

  it('hostile kinds and namespaces in the entity ref → 4xx on every route', async () => {
    await expectNothingChanged(() =>
      fc.assert(
        fc.asyncProperty(
          hostile(),
          hostile(),
          fc.constantFrom('sync', 'refresh', 'rollback', 'promotions'),
          async (kind, namespace, route) => {
            const base = entityUrl('service-b', kind, namespace);
            await refused(
              'post',
              route === 'promotions'
                ? `${base}/promotions`
                : `${base}/environments/dev/${route}`,
              route === 'promotions'
                ? { from: 'dev', to: 'staging' }
                : { id: 0 },
            );
          },
        ),
        { numRuns: RUNS },
      ),
    );
  });
});
