import { Sandbox } from '../sandbox';
import {
  argo,
  contractErrors,
  eventually,
  pushChange,
  setTag,
} from '../testing/testSandbox';
import {
  getApplication,
  startReconcileSandbox,
} from '../__testUtils__/reconcileSandbox';

// Each case waits for real helm renders and several reconciliation rounds.
// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(180_000);

// Only service-b in dev, which no case of reconcile.test.ts touches: a sandbox of its own.
describe('the Argo CD stand-in reconciles Applications from Git', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startReconcileSandbox();
  });
  afterAll(() => sandbox?.stop());

  const get = (instance: string, app: string, refresh = false) =>
    getApplication(sandbox, instance, app, refresh);

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
});
