import { SchedulerService } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  eventually,
  Sandbox,
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
  sandboxBackendConfig,
  specErrors,
} from './__testUtils__/sandboxBackend';

// The sandbox and a backend recording in the background, on a loaded 2-core machine.
jest.setTimeout(240_000);

const entities = [
  component('service-a', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-a',
  }),
  component('service-b', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-b',
  }),
];

describe('the DORA figures over HTTP, recorded from the sandbox', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let db: Knex;

  /** The test backend's scheduler: its recording task runs when the test says. */
  type Scheduler = SchedulerService & {
    factory(options: { skipTaskRunOnStartup: boolean }): any;
    triggerTask(id: string): Promise<void>;
  };
  let scheduler: Scheduler;
  const record = () => scheduler.triggerTask('gitops-record-deployments');

  const backend = async () => {
    scheduler = mockServices.scheduler() as Scheduler;
    const { server } = await startTestBackend({
      features: [
        scheduler.factory({ skipTaskRunOnStartup: true }),
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({
          data: sandboxBackendConfig(sandbox),
        }),
        mockServices.database.factory({ knex: db }),
      ],
    });
    return server;
  };

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-dora-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    // One database across the "restart" of the backend, as in production.
    db = knexFactory({
      client: 'better-sqlite3',
      connection: ':memory:',
      useNullAsDefault: true,
    });
  });

  afterAll(async () => {
    await db?.destroy();
    await sandbox?.stop();
    await fs.rm(sandboxDir, { recursive: true, force: true });
  });

  it('records the deployments Argo CD shows, answers the figures per entity and per team, and keeps them across a restart', async () => {
    const recording = await backend();
    const entityDora = (server: any) =>
      request(server).get(
        '/api/gitops/entities/component/default/service-a/dora?environment=dev&days=7',
      );
    expect((await entityDora(recording)).body.deployments).toBe(0);
    const first = await eventually(async () => {
      await record();
      const res = await entityDora(recording);
      return res.body.deployments > 0 ? res : undefined;
    }, 'service-a recorded in dev');
    expect(first.status).toBe(200);
    expect(specErrors('EntityDora', first.body)).toEqual([]);
    expect(first.body).toMatchObject({
      entityRef: 'component:default/service-a',
      environment: 'dev',
      windowDays: 7,
      deploymentFrequency: { band: expect.any(String) },
      changeFailureRate: { failed: 0, rate: 0, band: 'elite' },
    });
    // The pipeline's last environment by default.
    const byDefault = await request(recording).get(
      '/api/gitops/entities/component/default/service-a/dora',
    );
    expect(byDefault.body).toMatchObject({
      environment: 'prod',
      windowDays: 30,
    });

    const fleet = await eventually(async () => {
      await record();
      const res = await request(recording).get(
        '/api/gitops/dora?environment=dev',
      );
      return res.body.entities?.every((e: any) => e.figures.deployments > 0)
        ? res
        : undefined;
    }, 'both services recorded in dev');
    expect(specErrors('FleetDora', fleet.body)).toEqual([]);
    expect(fleet.body.entities.map((e: any) => e.entityRef)).toEqual([
      'component:default/service-a',
      'component:default/service-b',
    ]);
    expect(fleet.body.teams).toEqual([
      expect.objectContaining({
        owner: 'team-checkout',
        entities: 2,
        figures: expect.objectContaining({
          deployments:
            fleet.body.entities[0].figures.deployments +
            fleet.body.entities[1].figures.deployments,
        }),
      }),
    ]);
    recording.close();

    // A restarted backend that records nothing yet answers what was recorded.
    const restarted = await backend();
    const after = await entityDora(restarted);
    expect(after.body.deployments).toBe(first.body.deployments);
    expect(after.body.from).not.toBe(first.body.from);
    restarted.close();
  });

  it('refuses a bad window or an unknown environment, naming it', async () => {
    const server = await backend();
    const zero = await request(server).get('/api/gitops/dora?days=0');
    expect(zero.status).toBe(400);
    expect(zero.body.error.message).toContain('days must be 1 to 365');
    const unknown = await request(server).get(
      '/api/gitops/entities/component/default/service-a/dora?environment=qa',
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('No environment "qa"');
    server.close();
  });
});
