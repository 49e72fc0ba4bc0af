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

// Real Git and helm, several reconciliation rounds, on a loaded 2-core machine.
jest.setTimeout(180_000);

describe("the Argo CD stand-in runs Argo CD's Rollout actions as Argo Rollouts acts on them", () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startReconcileSandbox();
  });
  afterAll(() => sandbox?.stop());

  const ROLLOUT =
    '/api/v1/applications/service-b-dev/resource?namespace=checkout-dev&resourceName=service-b&kind=Rollout&group=argoproj.io&version=v1alpha1';
  const ACTIONS =
    '/api/v1/applications/service-b-dev/resource/actions?kind=Rollout&resourceName=service-b&group=argoproj.io&namespace=checkout-dev';
  const route = '/api/v1/applications/{name}/resource/actions';

  async function liveRollout() {
    const { body } = await argo(sandbox, 'main', ROLLOUT);
    const rollout = JSON.parse(body.manifest);
    expect(contractErrors(c => c.rolloutErrors(rollout))).toEqual([]);
    return rollout;
  }

  async function actions() {
    const { status, body } = await argo(sandbox, 'main', ACTIONS);
    expect(status).toBe(200);
    expect(
      contractErrors(c => c.responseErrors(route, 'GET', 200, body)),
    ).toEqual([]);
    return Object.fromEntries(
      body.actions.map((a: { name: string; disabled: boolean }) => [
        a.name,
        a.disabled,
      ]),
    );
  }

  async function run(action: string) {
    const answer = await argo(sandbox, 'main', ACTIONS, {
      method: 'POST',
      body: action,
    });
    expect(
      contractErrors(c =>
        c.responseErrors(route, 'POST', answer.status, answer.body),
      ),
    ).toEqual([]);
    return answer;
  }

  const pausedAtStep = (step: number) =>
    eventually(async () => {
      const rollout = await liveRollout();
      const app = await getApplication(sandbox, 'main', 'service-b-dev');
      return rollout.status.phase === 'Paused' &&
        rollout.status.currentStepIndex === step &&
        app.status.health.status === 'Suspended'
        ? rollout
        : undefined;
    }, `the canary to pause at step ${step}`);

  it('aborts a paused canary back to stable (Degraded), retries it from its first step, and promotes it fully', async () => {
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-b:abc0001',
    );
    await pushChange(
      sandbox,
      'service-b-config',
      {
        'chart/values-dev.yaml': text =>
          setTag('abc0001')(text)
            .replace('replicaCount: 1', 'replicaCount: 4')
            .replace(
              'rollout:\n  enabled: true',
              'rollout:\n  enabled: true\n  steps:\n    - setWeight: 50\n    - pause: {}\n    - setWeight: 75\n    - pause: {}',
            ),
      },
      'ci: bump service-b dev, a canary that waits',
    );
    const paused = await pausedAtStep(1);
    expect(paused.status.updatedReplicas).toBe(2);
    expect(await actions()).toEqual({
      resume: false,
      abort: false,
      retry: true,
      'promote-full': false,
    });

    expect((await run('retry')).status).toBe(400);
    expect((await run('abort')).status).toBe(200);
    const aborted = await eventually(async () => {
      const app = await getApplication(sandbox, 'main', 'service-b-dev');
      return app.status.health.status === 'Degraded' ? app : undefined;
    }, 'the aborted Rollout to be Degraded');
    expect(aborted.status.health.message).toMatch(
      /^RolloutAborted: Rollout aborted update to revision \d+$/,
    );
    const rollout = await liveRollout();
    expect(rollout.status).toMatchObject({
      phase: 'Degraded',
      abort: true,
      updatedReplicas: 0,
      currentPodHash: paused.status.currentPodHash,
      stableRS: paused.status.stableRS,
    });
    expect(rollout.status.pauseConditions).toBeUndefined();
    expect(await actions()).toEqual({
      resume: true,
      abort: true,
      retry: false,
      'promote-full': false,
    });
    // Aborted, it stays so: no step is taken by time.
    await argo(
      sandbox,
      'main',
      '/api/v1/applications/service-b-dev?refresh=normal',
    );
    expect((await liveRollout()).status.phase).toBe('Degraded');

    expect((await run('retry')).status).toBe(200);
    const again = await pausedAtStep(1);
    expect(again.status.abort).toBeUndefined();
    expect(again.status.updatedReplicas).toBe(2);

    expect((await run('promote-full')).status).toBe(200);
    await eventually(async () => {
      const app = await getApplication(sandbox, 'main', 'service-b-dev');
      return app.status.health.status === 'Healthy' ? app : undefined;
    }, 'the fully promoted canary to be Healthy');
    const done = await liveRollout();
    expect(done.status.stableRS).toBe(done.status.currentPodHash);
    expect(await actions()).toEqual({
      resume: true,
      abort: true,
      retry: true,
      'promote-full': true,
    });
  });
});
