import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  EntityDeploymentStatus,
  EnvironmentStatus,
} from '@gitops-backstage/plugin-gitops-common';
import { ArgoContracts, eventually } from '@gitops-backstage/gitops-sandbox';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import request from 'supertest';
import { gitopsPlugin } from './plugin';
import { component, specErrors } from './__testUtils__/sandboxBackend';

jest.setTimeout(180_000);

/** msw stands in for one Argo CD instance; its answers are held to Argo CD's swagger. */
const ARGOCD = 'http://argocd.test';
const contracts = ArgoContracts.load();

function application(name: string, labels: Record<string, string>) {
  return {
    metadata: {
      name,
      namespace: 'argocd',
      labels,
      annotations: {
        'gitops.backstage.io/entity-ref': 'component:default/service-a',
      },
    },
    spec: {
      project: 'checkout',
      // A chart from a Helm repository: no values file in Git, so no Git read here.
      source: {
        repoURL: 'https://charts.example.com',
        chart: 'service-a',
        targetRevision: '1.0.0',
      },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: `checkout-${labels['gitops/environment']}`,
      },
    },
    status: {
      sync: { status: 'Synced', revision: '1.0.0' },
      health: { status: 'Healthy' },
      summary: { images: ['registry.example.com/checkout/service-a:1.0.0'] },
      history: [
        { id: 0, revision: '1.0.0', deployedAt: '2026-11-01T12:00:00Z' },
      ],
    },
  };
}

const environment = (app: string, env: string) =>
  application(`${app}-${env}`, {
    'app.kubernetes.io/name': app,
    'gitops/environment': env,
  });

/** A List as Argo CD answers it, checked against the swagger definition. */
function list(items: unknown[]) {
  const body = { metadata: {}, items };
  expect(
    contracts?.definitionErrors('v1alpha1ApplicationList', body) ?? [],
  ).toEqual([]);
  return body;
}

const entities = [
  component('service-a', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-a',
  }),
  component('many', { 'argocd/app-selector': 'app.kubernetes.io/name=many' }),
  component('many-names', {
    'argocd/app-name': 'n-1,n-2,n-3,n-4,n-5,n-6',
  }),
  component('five-names', { 'argocd/app-name': 'n-1,n-2,n-3,n-4,n-5' }),
  component('flaky', { 'argocd/app-selector': 'app.kubernetes.io/name=flaky' }),
];

/** Answers of the stand-in, by selector or name; counts requests and those in flight. */
let answers: Record<string, () => Promise<Response> | Response> = {};
let inFlight = 0;
let maxInFlight = 0;
const requested: string[] = [];

const server = setupServer(
  http.get(`${ARGOCD}/api/v1/applications`, async ({ request: req }) => {
    const url = new URL(req.url);
    const name = url.searchParams.get('name');
    // A fleet view lists everything: no selector, no name.
    const key = name ? `name=${name}` : url.searchParams.get('selector') ?? '';
    requested.push(key);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      // Long enough that concurrent requests overlap, even on a loaded machine.
      await delay(100);
      const answer = answers[key];
      return answer ? await answer() : HttpResponse.json(list([]));
    } finally {
      inFlight--;
    }
  }),
);

describe('hostile entities and broken upstream answers cost only themselves (msw Argo CD)', () => {
  let backend: Awaited<ReturnType<typeof startTestBackend>>;

  beforeAll(async () => {
    // The backend under test listens locally: only the Argo CD host is stood in for.
    server.listen({ onUnhandledRequest: 'bypass' });
    backend = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({
          data: {
            argocd: {
              appLocatorMethods: [
                {
                  type: 'config',
                  instances: [{ name: 'main', url: ARGOCD, token: 'secret' }],
                },
              ],
            },
            gitops: {
              // Answers are kept ten minutes: only failures expire within the test.
              cacheSeconds: 600,
              timeoutSeconds: 10,
              // The request path: every view asks msw, through the cache.
              watch: false,
              maxApplicationsPerEntity: 5,
              concurrencyPerInstance: 2,
            },
          },
        }),
      ],
    });
  });
  afterAll(async () => {
    await backend?.stop();
    server.close();
  });
  beforeEach(() => {
    answers = {};
    requested.length = 0;
    maxInFlight = 0;
  });

  const status = (entity: string) =>
    request(backend.server).get(
      `/api/gitops/entities/component/default/${entity}/status`,
    );

  describe('a malformed Application costs only itself', () => {
    it("shows the instance's other Applications when one item of its List has no spec and another no status, each with its own error", async () => {
      const noSpec = environment('service-a', 'staging') as any;
      delete noSpec.spec;
      const noStatus = environment('service-a', 'prod') as any;
      delete noStatus.status;
      answers['app.kubernetes.io/name=service-a'] = answers[''] = () =>
        HttpResponse.json(
          list([environment('service-a', 'dev'), noSpec, noStatus]),
        );

      const res = await status('service-a');
      expect(res.status).toBe(200);
      expect(specErrors('EntityDeploymentStatus', res.body)).toEqual([]);
      const body = res.body as EntityDeploymentStatus;
      expect(body.errors).toEqual([]);
      expect(
        body.environments.map(e => [
          e.environment,
          e.application.name,
          e.live.syncStatus,
          e.writable,
          e.error?.message ?? null,
        ]),
      ).toEqual([
        ['dev', 'service-a-dev', 'Synced', true, null],
        [
          'staging',
          'service-a-staging',
          'Unknown',
          false,
          'Instance "main" answered Application service-a-staging with an unexpected shape: spec: Required',
        ],
        [
          'prod',
          'service-a-prod',
          'Unknown',
          false,
          'Instance "main" answered Application service-a-prod with an unexpected shape: status: Required',
        ],
      ]);
      expect(body.environments[0].live.images).toEqual([
        'registry.example.com/checkout/service-a:1.0.0',
      ]);

      // The fleet view keeps the instance's other Applications too.
      const fleet = await request(backend.server).get('/api/gitops/fleet');
      expect(fleet.status).toBe(200);
      expect(specErrors('FleetStatus', fleet.body)).toEqual([]);
      expect(fleet.body.errors).toEqual([]);
      const inFleet = fleet.body.entities.find(
        (e: { entityRef: string }) =>
          e.entityRef === 'component:default/service-a',
      );
      expect(
        inFleet.environments.map((e: EnvironmentStatus) => [
          e.application.name,
          e.error?.code ?? null,
        ]),
      ).toEqual([
        ['service-a-dev', null],
        ['service-a-staging', 'invalid-response'],
        ['service-a-prod', 'invalid-response'],
      ]);

      // An action on the malformed one is refused, naming the problem.
      const sync = await request(backend.server).post(
        '/api/gitops/entities/component/default/service-a/environments/staging/sync',
      );
      expect(sync.status).toBe(403);
      expect(sync.body.error.message).toContain('spec: Required');
    });
  });

  describe('bounded work per request', () => {
    it('answers an error naming gitops.maxApplicationsPerEntity when a selector matches more, and reads nothing more', async () => {
      answers['app.kubernetes.io/name=many'] = () =>
        HttpResponse.json(
          list(
            ['a', 'b', 'c', 'd', 'e', 'f'].map(env => environment('many', env)),
          ),
        );
      const res = await status('many');
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(
        'component:default/many matches 6 Applications, more than gitops.maxApplicationsPerEntity (5); narrow its argocd/app-selector or argocd/app-name',
      );
      expect(requested).toEqual(['app.kubernetes.io/name=many']);
    });

    it('refuses an argocd/app-name list longer than the limit before calling Argo CD once', async () => {
      const res = await status('many-names');
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(
        'component:default/many-names names 6 Applications, more than gitops.maxApplicationsPerEntity (5); narrow its argocd/app-name list',
      );
      expect(requested).toEqual([]);
    });

    it('keeps at most gitops.concurrencyPerInstance calls in flight to an instance', async () => {
      const res = await status('five-names');
      expect(res.status).toBe(200);
      expect(requested).toHaveLength(5);
      expect(maxInFlight).toBeLessThanOrEqual(2);
    });

    it('keeps a failure for seconds, not as long as an answer (cacheSeconds 600)', async () => {
      answers['app.kubernetes.io/name=flaky'] = () =>
        HttpResponse.json({ message: 'down' }, { status: 500 });
      const down = await status('flaky');
      expect(down.status).toBe(200);
      expect(down.body.errors).toEqual([
        expect.objectContaining({ instance: 'main', code: 'upstream-error' }),
      ]);

      answers['app.kubernetes.io/name=flaky'] = () =>
        HttpResponse.json(list([environment('flaky', 'dev')]));
      const back = await eventually(async () => {
        const res = await status('flaky');
        return res.body.environments?.length === 1 ? res.body : undefined;
      }, 'the failure to expire and the instance to be asked again');
      expect(back.errors).toEqual([]);
    });

    it('tells the names it runs with only to signed-in callers on /health', async () => {
      const anonymous = await request(backend.server)
        .get('/api/gitops/health')
        .set('authorization', mockCredentials.none.header());
      expect(anonymous.status).toBe(200);
      expect(anonymous.body).toEqual({ status: 'ok' });

      const user = await request(backend.server)
        .get('/api/gitops/health')
        .set('authorization', mockCredentials.user.header());
      expect(user.body).toEqual({
        status: 'ok',
        environments: ['dev', 'staging', 'prod'],
        instances: ['main'],
        liveStateSources: ['main'],
        // gitops.watch is off here: views ask Argo CD.
        indexed: false,
      });
    });
  });
});
