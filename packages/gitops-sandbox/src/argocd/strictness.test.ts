import { Sandbox } from '../sandbox';
import {
  argo,
  contractErrors,
  eventually,
  pastAutoSyncDelay,
  pushChange,
  startTestSandbox,
} from '../testing/testSandbox';

// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(300_000);

/** An Application manifest of the `fleet-config` repository's chart. */
function application(
  sandbox: Sandbox,
  name: string,
  namespace: string,
  syncPolicy: object,
) {
  return `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${name}
  namespace: argocd
  labels: { app.kubernetes.io/name: fleet, gitops/environment: dev }
spec:
  project: default
  source:
    repoURL: ${sandbox.repoUrl('service-a-config')}
    targetRevision: main
    path: chart
    helm: { releaseName: ${name}, valueFiles: [values-dev.yaml] }
  destination: { server: https://kubernetes.default.svc, namespace: ${namespace} }
  syncPolicy: ${JSON.stringify(syncPolicy)}
`;
}

describe('the sandbox refuses what Argo CD and Kubernetes refuse', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startTestSandbox({ namespaces: ['preset'] });
    await sandbox.createRepository('fleet-config');
  });
  afterAll(() => sandbox?.stop());

  const get = async (app: string) => {
    const { status, body } = await argo(
      sandbox,
      'main',
      `/api/v1/applications/${app}`,
    );
    if (status !== 200) return undefined;
    expect(contractErrors(c => c.applicationErrors(body))).toEqual([]);
    return body;
  };
  const names = async () =>
    (await argo(sandbox, 'main', '/api/v1/applications')).body.items.map(
      (a: any) => a.metadata.name,
    );
  const createRoot = (name: string, include: string) =>
    argo(sandbox, 'main', '/api/v1/applications', {
      method: 'POST',
      body: {
        metadata: { name },
        spec: {
          project: 'default',
          source: {
            repoURL: sandbox.repoUrl('fleet-config'),
            targetRevision: 'main',
            path: 'argocd',
            directory: { include },
          },
          destination: {
            server: 'https://kubernetes.default.svc',
            namespace: 'argocd',
          },
          syncPolicy: { automated: { selfHeal: true } },
        },
      },
    });

  it('knows an Application in Git only once a root Application deploys it', async () => {
    await pushChange(
      sandbox,
      'fleet-config',
      {
        'argocd/fleet-a.yaml': () =>
          application(sandbox, 'fleet-a', 'fleet-a', {
            automated: {},
            syncOptions: ['CreateNamespace=true'],
          }),
        'argocd/other.yaml': () =>
          application(sandbox, 'fleet-other', 'preset', {}),
      },
      'fleet-a and another Application, in Git only',
    );
    await pastAutoSyncDelay(sandbox);
    expect(await names()).not.toContain('fleet-a');

    expect((await createRoot('fleet-apps', 'fleet-*.yaml')).status).toBe(200);
    const fleetA = await eventually(async () => {
      const app = await get('fleet-a');
      return app?.status.health.status === 'Healthy' ? app : undefined;
    }, 'fleet-a to be deployed by the root Application and Healthy');
    expect(fleetA.status.sync.status).toBe('Synced');
    // The include glob leaves other.yaml out.
    expect(await names()).not.toContain('fleet-other');
    const root = await get('fleet-apps');
    expect(root.status.resources).toEqual([
      expect.objectContaining({
        group: 'argoproj.io',
        kind: 'Application',
        name: 'fleet-a',
        status: 'Synced',
      }),
    ]);

    // A file merged later deploys through the root's automated sync.
    await pushChange(
      sandbox,
      'fleet-config',
      {
        'argocd/fleet-b.yaml': () =>
          application(sandbox, 'fleet-b', 'preset', { automated: {} }),
      },
      'add fleet-b',
    );
    await eventually(
      async () =>
        (await get('fleet-b'))?.status.health.status === 'Healthy' || undefined,
      'fleet-b to be deployed after the merge',
    );
  });

  it('fails a sync into a namespace nobody created, as Argo CD does, and syncs once it exists', async () => {
    await pushChange(
      sandbox,
      'fleet-config',
      {
        'argocd/fleet-c.yaml': () =>
          application(sandbox, 'fleet-c', 'fleet-c', { automated: {} }),
      },
      'fleet-c without CreateNamespace',
    );
    const failed = await eventually(async () => {
      const app = await get('fleet-c');
      return app?.status.operationState?.phase === 'Failed' ? app : undefined;
    }, 'the sync of fleet-c to fail');
    expect(failed.status.operationState.message).toBe(
      'one or more synchronization tasks are not valid',
    );
    expect(failed.status.operationState.syncResult.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'Deployment',
          namespace: 'fleet-c',
          status: 'SyncFailed',
          message: 'namespaces "fleet-c" not found',
        }),
      ]),
    );
    expect(failed.status.sync.status).toBe('OutOfSync');
    expect(failed.status.health.status).toBe('Missing');

    // The fix: CreateNamespace=true. Argo CD does not retry a failed automated sync of
    // the same revision and source, so someone presses Sync.
    await pushChange(
      sandbox,
      'fleet-config',
      {
        'argocd/fleet-c.yaml': () =>
          application(sandbox, 'fleet-c', 'fleet-c', {
            automated: {},
            syncOptions: ['CreateNamespace=true'],
          }),
      },
      'fleet-c creates its namespace',
    );
    await eventually(
      async () =>
        (await get('fleet-c'))?.spec.syncPolicy.syncOptions?.length === 1 ||
        undefined,
      'the root Application to update fleet-c',
    );
    await pastAutoSyncDelay(sandbox);
    expect((await get('fleet-c')).status.operationState.phase).toBe('Failed');
    const sync = await argo(
      sandbox,
      'main',
      '/api/v1/applications/fleet-c/sync',
      {
        method: 'POST',
        body: {},
      },
    );
    expect(sync.status).toBe(200);
    await eventually(
      async () =>
        (await get('fleet-c'))?.status.health.status === 'Healthy' || undefined,
      'fleet-c to sync once its namespace is created',
    );
  });

  it('puts back a change made in the cluster with self-heal, and shows it OutOfSync without', async () => {
    // fleet-b (preset namespace) has no self-heal; service-a-dev has.
    await eventually(
      async () =>
        (await get('fleet-b'))?.status.sync.status === 'Synced' || undefined,
      'fleet-b to be Synced',
    );
    const before = (await get('fleet-b')).status.history.length;
    sandbox.editLive(
      'main',
      'fleet-b',
      { kind: 'Deployment', name: 'fleet-b' },
      {
        spec: { replicas: 7 },
      },
    );
    await pastAutoSyncDelay(sandbox);
    await pastAutoSyncDelay(sandbox);
    const drifted = await get('fleet-b');
    expect(drifted.status.sync.status).toBe('OutOfSync');
    expect(drifted.status.history).toHaveLength(before);
    expect(drifted.status.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'Deployment', status: 'OutOfSync' }),
      ]),
    );

    const dev = await get('service-a-dev');
    expect(dev.spec.syncPolicy.automated.selfHeal).toBe(true);
    sandbox.editLive(
      'main',
      'service-a-dev',
      { kind: 'Deployment', name: 'service-a' },
      { spec: { replicas: 7 } },
    );
    expect((await get('service-a-dev')).status.sync.status).toBe('OutOfSync');
    const healed = await eventually(async () => {
      const app = await get('service-a-dev');
      return app?.status.sync.status === 'Synced' &&
        app.status.history.length === dev.status.history.length + 1
        ? app
        : undefined;
    }, 'self-heal to sync service-a-dev back');
    expect(healed.status.operationState.operation.initiatedBy).toEqual({
      automated: true,
    });
  });

  it('re-creates an Application deleted through the API only when its root self-heals', async () => {
    expect(
      (
        await argo(sandbox, 'main', '/api/v1/applications/fleet-a', {
          method: 'DELETE',
        })
      ).status,
    ).toBe(200);
    await eventually(
      async () => (await get('fleet-a')) ?? undefined,
      'the root Application to re-create fleet-a',
    );
  });
});
