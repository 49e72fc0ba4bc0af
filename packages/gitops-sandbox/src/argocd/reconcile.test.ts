import { Sandbox } from '../sandbox';
import {
  argo,
  eventually,
  FAST_TIMING,
  pushChange,
  setTag,
  startTestSandbox,
  pastAutoSyncDelay,
  contractErrors,
} from '../testing/testSandbox';

// Each case waits for real helm renders and several reconciliation rounds.
// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(180_000);

describe('the Argo CD stand-in reconciles Applications from Git', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    // Automated sync waits, and canary steps last, long enough for polling to see them
    // on a loaded machine (a poll takes tens of milliseconds on an idle one).
    sandbox = await startTestSandbox({
      timing: { ...FAST_TIMING, autoSyncDelayMs: 1500, rolloutStepMs: 4000 },
    });
  });
  afterAll(() => sandbox?.stop());

  const get = async (instance: string, app: string, refresh = false) => {
    const { status, body } = await argo(
      sandbox,
      instance,
      `/api/v1/applications/${app}${refresh ? '?refresh=normal' : ''}`,
    );
    expect(status).toBe(200);
    expect(contractErrors(c => c.applicationErrors(body))).toEqual([]);
    return body;
  };

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

  const ROLLOUT =
    '/api/v1/applications/service-b-dev/resource?namespace=checkout-dev&resourceName=service-b&kind=Rollout&group=argoproj.io&version=v1alpha1';

  /** service-b's live Rollout in dev, checked against the Rollouts CRD. */
  async function liveRollout() {
    const { body } = await argo(sandbox, 'main', ROLLOUT);
    const rollout = JSON.parse(body.manifest);
    expect(contractErrors(c => c.rolloutErrors(rollout))).toEqual([]);
    return rollout;
  }

  it('walks a Rollout through its canary steps, the weight a share of pods as Argo Rollouts scales them', async () => {
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-b:c0ffee1',
    );
    await pushChange(
      sandbox,
      'service-b-config',
      {
        // Pauses without a duration wait for the test's resume: each paused step
        // is seen however slowly the test samples on a loaded machine.
        'chart/values-dev.yaml': text =>
          setTag('c0ffee1')(text)
            .replace('replicaCount: 1', 'replicaCount: 4')
            .replace(
              'rollout:\n  enabled: true',
              [
                'rollout:',
                '  enabled: true',
                '  steps:',
                '    - setWeight: 20',
                '    - pause: {}',
                '    - setWeight: 50',
                '    - pause: {}',
              ].join('\n'),
            ),
      },
      'ci: bump service-b dev, 4 replicas, pauses until resumed',
    );
    const resumed = new Map<number, number>();
    const seen: Array<{
      step: number;
      phase: string;
      pods: number[];
      updated: number;
      health: string;
    }> = [];
    await eventually(async () => {
      const app = await get('main', 'service-b-dev');
      if (app.status.history.length < 2) return undefined;
      const rollout = await liveRollout();
      // No traffic router: Argo Rollouts reports no traffic weights.
      expect(rollout.status.canary).toEqual({});
      const tree = await argo(
        sandbox,
        'main',
        '/api/v1/applications/service-b-dev/resource-tree',
      );
      const pods = (tree.body.nodes as any[])
        .filter(n => n.kind === 'ReplicaSet')
        .map(
          rs =>
            tree.body.nodes.filter(
              (n: any) => n.kind === 'Pod' && n.parentRefs[0].uid === rs.uid,
            ).length,
        )
        .sort();
      seen.push({
        step: rollout.status.currentStepIndex,
        phase: rollout.status.phase,
        pods,
        updated: rollout.status.updatedReplicas,
        health: app.status.health.status,
      });
      const step = rollout.status.currentStepIndex;
      // Resumed once the Application shows the pause too (its health follows the
      // Rollout's on its next reconcile), so the paused state is seen whole.
      if (
        rollout.status.phase === 'Paused' &&
        app.status.health.status === 'Suspended' &&
        !resumed.has(step)
      ) {
        const resume = await argo(
          sandbox,
          'main',
          '/api/v1/applications/service-b-dev/resource/actions?kind=Rollout&resourceName=service-b&group=argoproj.io&namespace=checkout-dev',
          { method: 'POST', body: 'resume' },
        );
        resumed.set(step, resume.status);
      }
      return app.status.health.status === 'Healthy' ? true : undefined;
    }, 'the canary to complete');
    expect([...resumed]).toEqual([
      [1, 200],
      [3, 200],
    ]);

    const steps = seen.map(s => s.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    // setWeight 20 of 4 replicas (maxSurge 25%): 1 canary beside 4 stable (20%);
    // setWeight 50: 2 and 2; then all 4 new.
    expect(seen).toEqual(
      expect.arrayContaining([
        {
          step: 1,
          phase: 'Paused',
          pods: [1, 4],
          updated: 1,
          health: 'Suspended',
        },
        {
          step: 3,
          phase: 'Paused',
          pods: [2, 2],
          updated: 2,
          health: 'Suspended',
        },
        { step: 4, phase: 'Healthy', pods: [4], updated: 4, health: 'Healthy' },
      ]),
    );
  });

  it('holds a canary at a pause without a duration until it is resumed', async () => {
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-b:c0ffee2',
    );
    await pushChange(
      sandbox,
      'service-b-config',
      {
        'chart/values-dev.yaml': text =>
          setTag('c0ffee2')(text).replace(
            // The steps an earlier test set, if any, are replaced.
            /rollout:\n {2}enabled: true(\n {2}steps:(\n {4}- .*)+)?/,
            'rollout:\n  enabled: true\n  steps:\n    - setWeight: 50\n    - pause: {}',
          ),
      },
      'ci: bump service-b dev, paused until resumed',
    );
    const paused = await eventually(async () => {
      const rollout = await liveRollout();
      return rollout.status.currentPodHash !== rollout.status.stableRS &&
        rollout.status.phase === 'Paused'
        ? rollout
        : undefined;
    }, 'the canary to pause');
    expect(paused.status.currentStepIndex).toBe(1);
    // Far past any step's time (the sandbox's steps take 0.1 s here), and after a
    // reconcile of its own, it still waits.
    const since = Date.parse(paused.status.pauseConditions[0].startTime);
    await new Promise(resolve =>
      setTimeout(resolve, Math.max(0, since + 2_000 - Date.now())),
    );
    await argo(
      sandbox,
      'main',
      '/api/v1/applications/service-b-dev?refresh=normal',
    );
    const still = await liveRollout();
    expect(still.status).toMatchObject({
      phase: 'Paused',
      currentStepIndex: 1,
    });
    expect((await get('main', 'service-b-dev')).status.health.status).toBe(
      'Suspended',
    );

    const resumed = await argo(
      sandbox,
      'main',
      '/api/v1/applications/service-b-dev/resource/actions?kind=Rollout&resourceName=service-b&group=argoproj.io&namespace=checkout-dev',
      { method: 'POST', body: 'resume' },
    );
    expect(resumed.status).toBe(200);
    await eventually(async () => {
      const app = await get('main', 'service-b-dev');
      return app.status.health.status === 'Healthy' ? app : undefined;
    }, 'the resumed canary to complete');
    expect((await liveRollout()).status.phase).toBe('Healthy');
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
