import { Sandbox } from '../sandbox';
import {
  argo,
  eventually,
  pushChange,
  setTag,
  pastAutoSyncDelay,
} from '../testing/testSandbox';
import {
  getApplication,
  startReconcileSandbox,
} from '../__testUtils__/reconcileSandbox';

// Each case waits for real helm renders and several reconciliation rounds.
// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(180_000);

// A Rollout's canary steps: reconcile.canary.test.ts.
describe('the Argo CD stand-in reconciles Applications from Git', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startReconcileSandbox();
  });
  afterAll(() => sandbox?.stop());

  const get = (instance: string, app: string, refresh = false) =>
    getApplication(sandbox, instance, app, refresh);

  const settled = (instance: string, app: string, historyLength: number) =>
    eventually(async () => {
      const body = await get(instance, app);
      const { sync, health, history } = body.status;
      return sync.status === 'Synced' &&
        health.status === 'Healthy' &&
        history.length === historyLength
        ? body
        : undefined;
    }, `${app} to be Synced and Healthy with ${historyLength} deployments`);

  it('starts with every Application deployed once', async () => {
    const dev = await settled('main', 'service-a-dev', 1);
    expect(dev.status.summary.images).toEqual([
      'registry.example.com/checkout/service-a:4c5d6e7',
    ]);
    const prod = await settled('prod', 'service-a-prod', 1);
    expect(prod.status.summary.images).toEqual([
      'registry.example.com/checkout/service-a:v1.4.0',
    ]);
  });

  it('a tag pushed to dev values: OutOfSync, then automated sync to Synced and Healthy', async () => {
    // CI pushes the image before it bumps the tag.
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-a:feedbee',
    );
    const commit = await pushChange(
      sandbox,
      'service-a-config',
      { 'chart/values-dev.yaml': setTag('feedbee') },
      'ci: bump service-a dev to feedbee',
    );

    const outOfSync = await get('main', 'service-a-dev', true);
    expect(outOfSync.status.sync).toMatchObject({
      status: 'OutOfSync',
      revision: commit,
    });
    // What runs is still the old image until the sync.
    expect(outOfSync.status.summary.images).toEqual([
      'registry.example.com/checkout/service-a:4c5d6e7',
    ]);
    expect(outOfSync.status.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'Deployment',
          name: 'service-a',
          status: 'OutOfSync',
        }),
        expect.objectContaining({
          kind: 'Service',
          name: 'service-a',
          status: 'Synced',
        }),
      ]),
    );

    const synced = await settled('main', 'service-a-dev', 2);
    expect(synced.status.summary.images).toEqual([
      'registry.example.com/checkout/service-a:feedbee',
    ]);
    expect(synced.status.history[1]).toMatchObject({
      id: 1,
      revision: commit,
      initiatedBy: { automated: true },
    });
    expect(synced.status.operationState).toMatchObject({
      phase: 'Succeeded',
      syncResult: { revision: commit },
    });
    // The staging Application of the same repository is untouched.
    const staging = await get('main', 'service-a-staging');
    expect(staging.status.summary.images).toEqual([
      'registry.example.com/checkout/service-a:1a2b3c4',
    ]);
  });

  it('a change that renders the same manifests keeps the Application Synced', async () => {
    const commit = await pushChange(
      sandbox,
      'service-a-config',
      { 'README.md': old => `${old}\nMore words.\n` },
      'docs: more words',
    );
    const app = await get('main', 'service-a-dev', true);
    expect(app.status.sync).toMatchObject({
      status: 'Synced',
      revision: commit,
    });
  });

  it('prod waits for a manual sync, then rolls back to an earlier deployment', async () => {
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-a:v1.5.0',
    );
    const commit = await pushChange(
      sandbox,
      'service-a-config',
      { 'chart/values-prod.yaml': setTag('v1.5.0') },
      'release: service-a v1.5.0 to prod',
    );
    await get('prod', 'service-a-prod', true);
    // Past the automated delay: a manual Application does not sync itself.
    await pastAutoSyncDelay(sandbox, 1500);
    const waiting = await get('prod', 'service-a-prod');
    expect(waiting.status.sync.status).toBe('OutOfSync');
    expect(waiting.status.history).toHaveLength(1);

    const { status } = await argo(
      sandbox,
      'prod',
      '/api/v1/applications/service-a-prod/sync',
      {
        method: 'POST',
        body: {},
      },
    );
    expect(status).toBe(200);
    const synced = await settled('prod', 'service-a-prod', 2);
    expect(synced.status.summary.images).toEqual([
      'registry.example.com/checkout/service-a:v1.5.0',
    ]);
    expect(synced.status.history[1]).toMatchObject({
      revision: commit,
      initiatedBy: { username: 'admin' },
    });

    await argo(
      sandbox,
      'prod',
      '/api/v1/applications/service-a-prod/rollback',
      {
        method: 'POST',
        body: { id: 0 },
      },
    );
    const rolledBack = await eventually(async () => {
      const body = await get('prod', 'service-a-prod');
      return body.status.history.length === 3 &&
        body.status.health.status === 'Healthy'
        ? body
        : undefined;
    }, 'the rollback');
    expect(rolledBack.status.summary.images).toEqual([
      'registry.example.com/checkout/service-a:v1.4.0',
    ]);
    // Git still says v1.5.0: after a rollback the Application is OutOfSync.
    expect(rolledBack.status.sync.status).toBe('OutOfSync');
    expect(rolledBack.status.history[2].revision).toBe(
      rolledBack.status.history[0].revision,
    );
  });

  it('renders multi-source Applications with $ref value files', async () => {
    await sandbox.createRepository('service-a-values');
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-a:prev1ew',
    );
    await pushChange(
      sandbox,
      'service-a-values',
      { 'envs/preview.yaml': () => 'image:\n  tag: "prev1ew"\n' },
      'preview environment',
    );
    const created = await argo(sandbox, 'main', '/api/v1/applications', {
      method: 'POST',
      body: {
        metadata: {
          name: 'service-a-preview',
          labels: {
            'app.kubernetes.io/name': 'service-a',
            'gitops/environment': 'dev',
          },
        },
        spec: {
          project: 'checkout',
          sources: [
            {
              repoURL: sandbox.repoUrl('service-a-config'),
              targetRevision: 'main',
              path: 'chart',
              helm: {
                releaseName: 'service-a',
                valueFiles: ['values-dev.yaml', '$values/envs/preview.yaml'],
              },
            },
            {
              repoURL: sandbox.repoUrl('service-a-values'),
              targetRevision: 'main',
              ref: 'values',
            },
          ],
          destination: {
            server: 'https://kubernetes.default.svc',
            namespace: 'preview',
          },
          syncPolicy: {
            automated: {},
            syncOptions: ['CreateNamespace=true'],
          },
        },
      },
    });
    expect(created.status).toBe(200);
    const app = await settled('main', 'service-a-preview', 1);
    expect(app.status.summary.images).toEqual([
      'registry.example.com/checkout/service-a:prev1ew',
    ]);
    expect(app.status.sync.revisions).toHaveLength(2);
    expect(app.status.history[0].sources).toHaveLength(2);
  });

  it('reports a comparison error, per Application, for a source it cannot read', async () => {
    // Without validation: with it, Argo CD refuses what it cannot render.
    const created = await argo(
      sandbox,
      'main',
      '/api/v1/applications?validate=false',
      {
        method: 'POST',
        body: {
          metadata: { name: 'broken', labels: { 'gitops/environment': 'dev' } },
          spec: {
            project: 'checkout',
            source: {
              repoURL: 'https://github.com/acme/elsewhere.git',
              targetRevision: 'main',
              path: 'chart',
            },
            destination: {
              server: 'https://kubernetes.default.svc',
              namespace: 'broken',
            },
          },
        },
      },
    );
    expect(created.status).toBe(200);
    const broken = await get('main', 'broken');
    expect(broken.status.sync.status).toBe('Unknown');
    expect(broken.status.conditions[0]).toMatchObject({
      type: 'ComparisonError',
      message: expect.stringContaining('https://github.com/acme/elsewhere.git'),
    });
    expect((await get('main', 'service-a-dev')).status.sync.status).toBe(
      'Synced',
    );
  });
});
