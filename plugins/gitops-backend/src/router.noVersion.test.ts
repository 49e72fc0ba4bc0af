import {
  AuditorService,
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import { Knex } from 'knex';
import request from 'supertest';
import { createRouter } from './router';
import {
  config,
  entity,
  environment,
  environmentWithoutVersion,
  MemoryWriter,
  promotionsDb,
  promotionService,
} from './__testUtils__/promotionFixtures';
import { testDatabases } from './__testUtils__/testServices';
import { DeploymentStatusService } from './services/DeploymentStatus/DeploymentStatusService';

// A backend started per test on a loaded 2-core machine.
jest.setTimeout(60_000);

const REPOSITORY = 'registry.example.com/checkout/service-a';
const NEW_VALUES = "image:\n  # Empty until a promotion sets it.\n  tag: ''\n";
const PROMOTIONS =
  '/api/gitops/entities/component/default/service-a/promotions';

/** Every audit event: its id, severity and meta, and how it ended. */
function recordingAuditor() {
  const events: Array<{
    eventId: string;
    severityLevel?: string;
    meta?: unknown;
    outcome?: 'success' | 'failure';
    error?: string;
  }> = [];
  const auditor: AuditorService = {
    async createEvent(options) {
      const event: (typeof events)[number] = {
        eventId: options.eventId,
        severityLevel: options.severityLevel,
        meta: options.meta,
      };
      events.push(event);
      return {
        async success() {
          event.outcome = 'success';
        },
        async fail({ error }) {
          event.outcome = 'failure';
          event.error = error.message;
        },
      };
    },
  };
  return { auditor, events };
}

const databases = testDatabases();

describe.each(databases.eachSupportedId())('on %s', databaseId => {
  let db: Knex;
  beforeEach(async () => {
    db = await promotionsDb(databases, databaseId);
  });
  afterEach(async () => {
    await db.destroy();
  });

  /**
   * The plugin's router as the backend serves it (Backstage's error handling, the
   * caller's credentials, the catalog and permissions), over a PromotionService whose
   * view of the entity is given and whose writer keeps files in memory.
   */
  async function startRouter(environments: EnvironmentStatus[]) {
    const writer = new MemoryWriter({
      'chart/values-dev.yaml': NEW_VALUES,
      'chart/values-staging.yaml': NEW_VALUES,
    });
    const { auditor, events } = recordingAuditor();
    const promotions = promotionService({
      db,
      environments,
      writers: [writer],
    });
    const routerPlugin = createBackendPlugin({
      pluginId: 'gitops',
      register(env) {
        env.registerInit({
          deps: {
            httpRouter: coreServices.httpRouter,
            httpAuth: coreServices.httpAuth,
            permissions: coreServices.permissions,
            catalog: catalogServiceRef,
          },
          async init({ httpRouter, httpAuth, permissions, catalog }) {
            httpRouter.use(
              await createRouter({
                config,
                liveStateSourceIds: () => [],
                status: {} as DeploymentStatusService,
                catalog,
                httpAuth,
                permissions,
                auditor,
                promotions,
              }),
            );
          },
        });
      },
    });
    const backend = await startTestBackend({
      features: [
        routerPlugin,
        catalogServiceMock.factory({ entities: [entity] }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
      ],
    });
    return { backend, writer, events };
  }

  describe('POST promotions with an environment that has no version yet', () => {
    it.each([false, true])(
      'from it (dry run %s): 409 naming the environment, nothing written or recorded, the refusal audited',
      async dryRun => {
        const { backend, writer, events } = await startRouter([
          environmentWithoutVersion('dev', REPOSITORY),
          environmentWithoutVersion('staging', REPOSITORY),
        ]);
        try {
          const res = await request(backend.server)
            .post(PROMOTIONS)
            .send({ from: 'dev', to: 'staging', dryRun });

          expect(res.status).toBe(409);
          expect(res.body.error).toMatchObject({
            name: 'ConflictError',
            message: expect.stringMatching(
              /^dev has no version yet, so there is nothing to promote: chart\/values-dev\.yaml names no image tag or digest/,
            ),
          });
          expect(writer.commits).toEqual([]);
          expect(writer.files['chart/values-staging.yaml']).toBe(NEW_VALUES);
          expect(await db('gitops_promotions').select()).toEqual([]);
          expect(events).toEqual([
            {
              eventId: 'promotion',
              severityLevel: 'medium',
              meta: {
                entityRef: 'component:default/service-a',
                from: 'dev',
                to: 'staging',
                dryRun,
              },
              outcome: 'failure',
              error: res.body.error.message,
            },
          ]);
        } finally {
          await backend.stop();
        }
      },
    );

    it('into it from an environment with a version: 201, its first version committed and audited', async () => {
      const { backend, writer, events } = await startRouter([
        environment('dev', { repository: REPOSITORY, tag: 'abc1234' }),
        environmentWithoutVersion('staging', REPOSITORY),
      ]);
      try {
        const res = await request(backend.server)
          .post(PROMOTIONS)
          .send({ from: 'dev', to: 'staging' });

        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({
          from: 'dev',
          to: 'staging',
          version: 'abc1234',
          status: 'committed',
          commit: writer.commits[0],
        });
        expect(res.body.previousVersion).toBeUndefined();
        expect(writer.files['chart/values-staging.yaml']).toBe(
          NEW_VALUES.replace("tag: ''", "tag: 'abc1234'"),
        );
        expect(events.map(e => [e.eventId, e.outcome])).toEqual([
          ['promotion', 'success'],
        ]);
      } finally {
        await backend.stop();
      }
    });
  });
});
