import vm from 'node:vm';
import { ArgoContracts } from '../contracts';
import { Sandbox } from '../sandbox';
import {
  argo,
  eventually,
  FAST_TIMING,
  startTestSandbox,
} from '../testing/testSandbox';

// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(180_000);

const contracts = ArgoContracts.load();
const describeWithContracts = contracts ? describe : describe.skip;

/**
 * @kubernetes-models is ESM only; jest's vm context cannot import() it, Node's own
 * loader of the main context can.
 */
const importEsm: (specifier: string) => Promise<any> = new vm.Script(
  'specifier => import(specifier)',
  {
    filename: __filename,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  },
).runInThisContext();

/** The Applications (or ApplicationSets, on their routes) in an answer: a List's items or a single one. */
function objectsIn(route: string, status: number, body: any): any[] {
  if (status !== 200) return [];
  // List answers items; Create (POST on the same route) answers one object.
  if (
    ['/api/v1/applications', '/api/v1/applicationsets'].includes(route) &&
    body.items
  ) {
    return body.items;
  }
  return body?.spec ? [body] : [];
}

describeWithContracts(
  'the Argo CD stand-in answers by the upstream contract',
  () => {
    let sandbox: Sandbox;
    let ApplicationSet: new (data: object) => { validate(): void };
    // Each case adds the routes it checked and the last requires them all, so the
    // cases stay in one file (the contract check itself: contract.check.test.ts).
    const checked = new Set<string>();

    beforeAll(async () => {
      // A sync lasts long enough for the next calls to find it running (busy,
      // terminate) on a loaded machine.
      sandbox = await startTestSandbox({
        timing: { ...FAST_TIMING, syncMs: 10_000 },
      });
      ({ ApplicationSet } = await importEsm(
        '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet',
      ));
    });
    afterAll(() => sandbox?.stop());

    /** Calls a route and validates the answer against swagger.json (and the CRDs, and kubernetes-models for ApplicationSets). */
    async function call(
      instance: string,
      swaggerRoute: string,
      url: string,
      init: Parameters<typeof argo>[3] & { expectStatus?: number } = {},
    ) {
      const { status, body } = await argo(sandbox, instance, url, init);
      expect({ url, status }).toEqual({
        url,
        status: init.expectStatus ?? 200,
      });
      const method = init.method ?? 'GET';
      expect(
        contracts!.responseErrors(swaggerRoute, method, status, body),
      ).toEqual([]);
      const objects = objectsIn(swaggerRoute, status, body);
      if (swaggerRoute.startsWith('/api/v1/applicationsets')) {
        objects.forEach(applicationSet => {
          expect(contracts!.applicationSetErrors(applicationSet)).toEqual([]);
          expect(() =>
            new ApplicationSet(applicationSet).validate(),
          ).not.toThrow();
        });
      } else if (!url.includes('fields=')) {
        for (const application of objects) {
          expect(contracts!.applicationErrors(application)).toEqual([]);
        }
      }
      checked.add(`${method} ${swaggerRoute} ${status}`);
      return body;
    }

    it('version, session and userinfo', async () => {
      await call('main', '/api/version', '/api/version', { token: null });
      const { token } = await call(
        'main',
        '/api/v1/session',
        '/api/v1/session',
        {
          method: 'POST',
          body: { username: 'admin', password: 'sandbox' },
          token: null,
        },
      );
      const userinfo = await call(
        'main',
        '/api/v1/session/userinfo',
        '/api/v1/session/userinfo',
        {
          token,
        },
      );
      expect(userinfo).toEqual({
        loggedIn: true,
        username: 'admin',
        iss: 'argocd',
      });
      const refused = await call('main', '/api/v1/session', '/api/v1/session', {
        method: 'POST',
        body: { username: 'admin', password: 'wrong' },
        token: null,
        expectStatus: 401,
      });
      expect(refused).toMatchObject({
        code: 16,
        message: 'Invalid username or password',
      });
    });

    it('lists applications with selector, projects, appNamespace and fields', async () => {
      const all = await call(
        'main',
        '/api/v1/applications',
        '/api/v1/applications',
      );
      // Each config repository's root Application (app of apps), and what it deploys.
      expect(all.items.map((a: any) => a.metadata.name).sort()).toEqual([
        'service-a-apps',
        'service-a-dev',
        'service-a-staging',
        'service-b-apps',
        'service-b-dev',
        'service-b-staging',
      ]);
      const selected = await call(
        'main',
        '/api/v1/applications',
        '/api/v1/applications?selector=app.kubernetes.io/name=service-a,gitops/environment%20in%20(dev)&projects=checkout&appNamespace=argocd',
      );
      expect(selected.items.map((a: any) => a.metadata.name)).toEqual([
        'service-a-dev',
      ]);
      const none = await call(
        'main',
        '/api/v1/applications',
        '/api/v1/applications?projects=other',
      );
      expect(none.items).toEqual([]);

      const projected = await call(
        'main',
        '/api/v1/applications',
        '/api/v1/applications?selector=app.kubernetes.io/name=service-a&fields=metadata.name,metadata.labels,spec.source,status.sync.status,status.summary',
      );
      for (const item of projected.items) {
        expect(Object.keys(item).sort()).toEqual([
          'metadata',
          'spec',
          'status',
        ]);
        expect(Object.keys(item.metadata).sort()).toEqual(['labels', 'name']);
        expect(Object.keys(item.status).sort()).toEqual(['summary', 'sync']);
        expect(Object.keys(item.status.sync)).toEqual(['status']);
      }
      const withoutHistory = await call(
        'main',
        '/api/v1/applications',
        '/api/v1/applications?fields=-status.history',
      );
      expect(withoutHistory.items[0].status.history).toBeUndefined();
      expect(withoutHistory.items[0].status.sync).toBeDefined();

      const bad = await call(
        'main',
        '/api/v1/applications',
        '/api/v1/applications?selector=a%20in%20b',
        {
          expectStatus: 400,
        },
      );
      expect(bad.message).toContain('unable to parse requirement');
    });

    it('gets an application (with refresh), its resource tree, a live Rollout and revision metadata', async () => {
      const app = await call(
        'main',
        '/api/v1/applications/{name}',
        '/api/v1/applications/service-b-dev?refresh=normal',
      );
      expect(app.status.summary.images).toEqual([
        'registry.example.com/checkout/service-b:9f8e7d6',
      ]);
      expect(app.status.history).toHaveLength(1);

      const tree = await call(
        'main',
        '/api/v1/applications/{applicationName}/resource-tree',
        '/api/v1/applications/service-b-dev/resource-tree',
      );
      expect(tree.nodes.map((n: any) => n.kind)).toEqual(
        expect.arrayContaining([
          'Rollout',
          'Service',
          'ServiceAccount',
          'ReplicaSet',
          'Pod',
        ]),
      );

      const resource = await call(
        'main',
        '/api/v1/applications/{name}/resource',
        '/api/v1/applications/service-b-dev/resource?namespace=checkout-dev&resourceName=service-b&kind=Rollout&group=argoproj.io&version=v1alpha1',
      );
      const rollout = JSON.parse(resource.manifest);
      expect(contracts!.rolloutErrors(rollout)).toEqual([]);
      expect(rollout.status).toMatchObject({
        phase: 'Healthy',
        currentStepIndex: 4,
      });

      const revision = app.status.sync.revision;
      const metadata = await call(
        'main',
        '/api/v1/applications/{name}/revisions/{revision}/metadata',
        `/api/v1/applications/service-b-dev/revisions/${revision}/metadata`,
      );
      expect(metadata).toMatchObject({
        author: 'Sandbox <sandbox@example.com>',
        message: 'Initial service-b-config from examples',
      });
    });

    it('syncs, terminates and rolls back with Argo CD semantics', async () => {
      const synced = await call(
        'prod',
        '/api/v1/applications/{name}/sync',
        '/api/v1/applications/service-a-prod/sync',
        {
          method: 'POST',
          body: { prune: true },
        },
      );
      expect(synced.status.operationState).toMatchObject({
        phase: 'Running',
        operation: { initiatedBy: { username: 'admin' } },
      });
      const busy = await call(
        'prod',
        '/api/v1/applications/{name}/sync',
        '/api/v1/applications/service-a-prod/sync',
        {
          method: 'POST',
          body: {},
          expectStatus: 400,
        },
      );
      expect(busy.message).toBe('another operation is already in progress');
      await call(
        'prod',
        '/api/v1/applications/{name}/operation',
        '/api/v1/applications/service-a-prod/operation',
        {
          method: 'DELETE',
        },
      );
      await eventually(async () => {
        const { body } = await argo(
          sandbox,
          'prod',
          '/api/v1/applications/service-a-prod',
        );
        return body.status.operationState.phase === 'Failed' ? body : undefined;
      }, 'the operation to be terminated');
      const idle = await call(
        'prod',
        '/api/v1/applications/{name}/operation',
        '/api/v1/applications/service-a-prod/operation',
        {
          method: 'DELETE',
          expectStatus: 400,
        },
      );
      expect(idle.message).toBe(
        'Unable to terminate operation. No operation is in progress',
      );

      // prod syncs by hand: rollback to its first deployment is allowed.
      await call(
        'prod',
        '/api/v1/applications/{name}/rollback',
        '/api/v1/applications/service-a-prod/rollback',
        {
          method: 'POST',
          body: { id: 0 },
        },
      );
      const unknown = await call(
        'prod',
        '/api/v1/applications/{name}/rollback',
        '/api/v1/applications/service-a-prod/rollback',
        {
          method: 'POST',
          body: { id: 42 },
          expectStatus: 400,
        },
      );
      expect(unknown.message).toBe(
        'application service-a-prod does not have deployment with id 42',
      );

      // dev syncs automatically: Argo CD refuses rollback.
      const refused = await call(
        'main',
        '/api/v1/applications/{name}/rollback',
        '/api/v1/applications/service-a-dev/rollback',
        {
          method: 'POST',
          body: { id: 0 },
          expectStatus: 400,
        },
      );
      expect(refused).toMatchObject({
        code: 9,
        message: 'rollback cannot be initiated when auto-sync is enabled',
      });
    });

    it('answers errors in the runtimeError shape', async () => {
      const missing = await call(
        'main',
        '/api/v1/applications/{name}',
        '/api/v1/applications/nope',
        {
          expectStatus: 404,
        },
      );
      expect(missing).toMatchObject({
        code: 5,
        message: 'applications.argoproj.io "nope" not found',
      });
      const anonymous = await call(
        'main',
        '/api/v1/applications',
        '/api/v1/applications',
        {
          token: null,
          expectStatus: 401,
        },
      );
      expect(anonymous).toMatchObject({
        code: 16,
        message: 'no session information',
      });
    });

    it('creates, updates and deletes an application (the scaffolder action)', async () => {
      const application = {
        metadata: {
          name: 'contract-created',
          labels: { 'gitops/environment': 'dev' },
        },
        spec: {
          project: 'default',
          source: {
            repoURL: sandbox.repoUrl('service-a-config'),
            targetRevision: 'main',
            path: 'chart',
            helm: { valueFiles: ['values-dev.yaml'] },
          },
          destination: {
            server: 'https://kubernetes.default.svc',
            namespace: 'contract-created',
          },
        },
      };
      // The request too is an Application by swagger.json.
      expect(
        contracts!.definitionErrors('v1alpha1Application', application),
      ).toEqual([]);
      const created = await call(
        'main',
        '/api/v1/applications',
        '/api/v1/applications',
        { method: 'POST', body: application },
      );
      expect(created.status.sync.status).toBe('OutOfSync');
      const conflict = await call(
        'main',
        '/api/v1/applications',
        '/api/v1/applications',
        {
          method: 'POST',
          body: { ...application, spec: { ...application.spec, project: 'x' } },
          expectStatus: 400,
        },
      );
      expect(conflict.code).toBe(3);
      await call(
        'main',
        '/api/v1/applications/{application.metadata.name}',
        '/api/v1/applications/contract-created',
        { method: 'PUT', body: application },
      );
      await call(
        'main',
        '/api/v1/applications/{application.metadata.name}',
        '/api/v1/applications/nope',
        { method: 'PUT', body: application, expectStatus: 404 },
      );
      await call(
        'main',
        '/api/v1/applications/{name}',
        '/api/v1/applications/contract-created',
        { method: 'DELETE' },
      );
    });

    it('creates, lists, gets and deletes an ApplicationSet, whose Applications it owns', async () => {
      const applicationSet = {
        metadata: { name: 'contract-set' },
        spec: {
          generators: [
            {
              list: {
                elements: [{ environment: 'dev' }, { environment: 'staging' }],
              },
            },
          ],
          template: {
            metadata: {
              name: 'contract-set-{{environment}}',
              labels: { 'gitops/environment': '{{environment}}' },
            },
            spec: {
              project: 'default',
              source: {
                repoURL: sandbox.repoUrl('service-a-config'),
                targetRevision: 'main',
                path: 'chart',
                helm: { valueFiles: ['values-{{environment}}.yaml'] },
              },
              destination: {
                server: 'https://kubernetes.default.svc',
                namespace: 'contract-set-{{environment}}',
              },
              syncPolicy: {
                automated: { prune: true, selfHeal: true },
                syncOptions: ['CreateNamespace=true'],
              },
            },
          },
        },
      };
      expect(
        contracts!.definitionErrors('v1alpha1ApplicationSet', applicationSet),
      ).toEqual([]);
      const created = await call(
        'main',
        '/api/v1/applicationsets',
        '/api/v1/applicationsets?upsert=true',
        { method: 'POST', body: applicationSet },
      );
      expect(created.status.resourcesCount).toBe(2);
      const bad = await call(
        'main',
        '/api/v1/applicationsets',
        '/api/v1/applicationsets',
        {
          method: 'POST',
          body: { ...applicationSet, spec: { generators: [] } },
          expectStatus: 400,
        },
      );
      expect(bad.message).toContain('spec.template: Required value');
      const listed = await call(
        'main',
        '/api/v1/applicationsets',
        '/api/v1/applicationsets',
      );
      expect(listed.items.map((s: any) => s.metadata.name)).toEqual([
        'contract-set',
      ]);
      const generated = await eventually(async () => {
        const set = await call(
          'main',
          '/api/v1/applicationsets/{name}',
          '/api/v1/applicationsets/contract-set',
        );
        return set.status.resources.every(
          (r: any) => r.status === 'Synced' && r.health?.status === 'Healthy',
        )
          ? set
          : undefined;
      }, 'the generated Applications to be Synced and Healthy');
      expect(generated.status.resources).toHaveLength(2);
      const dev = await call(
        'main',
        '/api/v1/applications/{name}',
        '/api/v1/applications/contract-set-dev',
      );
      expect(dev.metadata.ownerReferences[0]).toMatchObject({
        kind: 'ApplicationSet',
        name: 'contract-set',
      });
      await call(
        'main',
        '/api/v1/applicationsets/{name}',
        '/api/v1/applicationsets/contract-set',
        { method: 'DELETE' },
      );
      await call(
        'main',
        '/api/v1/applicationsets/{name}',
        '/api/v1/applicationsets/contract-set',
        { expectStatus: 404 },
      );
    });

    it('has checked every route the plugins use', () => {
      expect([...checked].sort()).toEqual(
        [
          'DELETE /api/v1/applicationsets/{name} 200',
          'GET /api/v1/applicationsets 200',
          'GET /api/v1/applicationsets/{name} 200',
          'GET /api/v1/applicationsets/{name} 404',
          'POST /api/v1/applicationsets 200',
          'POST /api/v1/applicationsets 400',
          'DELETE /api/v1/applications/{name} 200',
          'DELETE /api/v1/applications/{name}/operation 200',
          'DELETE /api/v1/applications/{name}/operation 400',
          'GET /api/v1/applications 200',
          'GET /api/v1/applications 400',
          'GET /api/v1/applications 401',
          'GET /api/v1/applications/{applicationName}/resource-tree 200',
          'GET /api/v1/applications/{name} 200',
          'GET /api/v1/applications/{name} 404',
          'GET /api/v1/applications/{name}/resource 200',
          'GET /api/v1/applications/{name}/revisions/{revision}/metadata 200',
          'GET /api/v1/session/userinfo 200',
          'GET /api/version 200',
          'POST /api/v1/applications 200',
          'POST /api/v1/applications 400',
          'PUT /api/v1/applications/{application.metadata.name} 200',
          'PUT /api/v1/applications/{application.metadata.name} 404',
          'POST /api/v1/applications/{name}/rollback 200',
          'POST /api/v1/applications/{name}/rollback 400',
          'POST /api/v1/applications/{name}/sync 200',
          'POST /api/v1/applications/{name}/sync 400',
          'POST /api/v1/session 200',
          'POST /api/v1/session 401',
        ].sort(),
      );
    });
  },
);
