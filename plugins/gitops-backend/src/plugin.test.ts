import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { gitopsLiveStateSourcesExtensionPoint } from '@gitops-backstage/plugin-gitops-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import signalsPlugin from '@backstage/plugin-signals-backend';
import request from 'supertest';
import { gitopsPlugin } from './plugin';

const config = {
  argocd: {
    appLocatorMethods: [
      {
        type: 'config',
        instances: [
          {
            name: 'main',
            url: 'http://127.0.0.1:1',
            token: 'very-secret-token',
          },
          {
            name: 'edge',
            url: 'http://127.0.0.1:2',
            username: 'admin',
            password: 'very-secret-password',
          },
        ],
      },
    ],
  },
};

const sourceModule = createBackendModule({
  pluginId: 'gitops',
  moduleId: 'test-source',
  register(env) {
    env.registerInit({
      deps: { sources: gitopsLiveStateSourcesExtensionPoint },
      async init({ sources }) {
        sources.addLiveStateSource({
          id: 'test',
          listApplications: async () => [],
        });
      },
    });
  },
});

describe('gitopsPlugin', () => {
  it('serves its health with instance names, environments and module-added sources, and no secrets', async () => {
    const { server } = await startTestBackend({
      features: [
        gitopsPlugin,
        sourceModule,
        mockServices.rootConfig.factory({ data: config }),
      ],
    });
    const res = await request(server).get('/api/gitops/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      environments: ['dev', 'staging', 'prod'],
      instances: ['main', 'edge'],
      liveStateSources: ['test', 'main', 'edge'],
      // No watch of the unreachable instances is live.
      indexed: false,
    });
    expect(JSON.stringify(res.body)).not.toMatch(/very-secret/);
  });

  it('refuses to start on a bad instance configuration', async () => {
    await expect(
      startTestBackend({
        features: [
          gitopsPlugin,
          mockServices.rootConfig.factory({
            data: {
              argocd: {
                appLocatorMethods: [
                  {
                    type: 'config',
                    instances: [{ name: 'x', url: 'http://x' }],
                  },
                ],
              },
            },
          }),
        ],
      }),
    ).rejects.toThrow(/needs a token/);
  });

  it.each([
    { watch: true, signalsBackend: true, signalled: true },
    { watch: true, signalsBackend: false, signalled: false },
    { watch: false, signalsBackend: true, signalled: false },
  ])(
    'tells browsers they need not poll only when it watches and has the signals backend: %o',
    async ({ watch, signalsBackend, signalled }) => {
      const entity = {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: {
          name: 'service-a',
          namespace: 'default',
          annotations: { 'argocd/app-name': 'service-a' },
        },
        spec: { owner: 'team-a' },
      };
      const { server } = await startTestBackend({
        features: [
          gitopsPlugin,
          sourceModule,
          ...(signalsBackend ? [signalsPlugin] : []),
          catalogServiceMock.factory({ entities: [entity] }),
          mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
          mockServices.rootConfig.factory({
            data: { gitops: { watch }, argocd: { appLocatorMethods: [] } },
          }),
        ],
      });
      for (const path of [
        '/api/gitops/entities/component/default/service-a/status',
        '/api/gitops/fleet',
      ]) {
        const res = await request(server).get(path);
        expect(res.status).toBe(200);
        expect(res.body.signalled).toBe(signalled);
      }
    },
  );
});
