import { rolloutProgress } from './liveState';

const canary = (status: object, trafficRouting?: object) => ({
  metadata: { name: 'service-b' },
  spec: {
    replicas: 4,
    strategy: {
      canary: {
        steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }],
        ...(trafficRouting && { trafficRouting }),
      },
    },
  },
  status,
});

describe('rolloutProgress', () => {
  it('takes a traffic-routed canary’s weights from its status', () => {
    const progress = rolloutProgress(
      canary(
        {
          phase: 'Paused',
          currentStepIndex: 1,
          replicas: 5,
          updatedReplicas: 1,
          canary: {
            weights: {
              canary: { weight: 20, podTemplateHash: 'new' },
              stable: { weight: 80, podTemplateHash: 'old' },
            },
          },
        },
        { nginx: { stableIngress: 'service-b' } },
      ),
    );
    expect(progress).toMatchObject({ canaryWeight: 20, stableWeight: 80 });
  });

  it('gives a canary without a traffic router its share of the pods while it runs', () => {
    // setWeight 20 of 4 replicas: 1 canary pod beside 4 stable ones.
    expect(
      rolloutProgress(
        canary({
          phase: 'Paused',
          currentStepIndex: 1,
          replicas: 5,
          updatedReplicas: 1,
          canary: {},
        }),
      ),
    ).toEqual({
      name: 'service-b',
      phase: 'Paused',
      strategy: 'canary',
      currentStepIndex: 1,
      stepCount: 3,
      canaryWeight: 20,
      stableWeight: 80,
      actions: [],
    });
  });

  it('gives no weights once a canary without a traffic router is done', () => {
    const progress = rolloutProgress(
      canary({
        phase: 'Healthy',
        currentStepIndex: 3,
        replicas: 4,
        updatedReplicas: 4,
        canary: {},
      }),
    );
    expect(progress?.canaryWeight).toBeUndefined();
    expect(progress?.stableWeight).toBeUndefined();
  });

  describe("offers the Rollout actions Argo CD's discovery.lua enables", () => {
    const status = (extra: object) => ({
      currentPodHash: 'new',
      stableRS: 'old',
      replicas: 4,
      updatedReplicas: 2,
      ...extra,
    });

    it('a canary paused at a step: resume, promote-full, abort', () => {
      expect(
        rolloutProgress(
          canary(
            status({
              phase: 'Paused',
              currentStepIndex: 1,
              pauseConditions: [{ reason: 'CanaryPauseStep' }],
            }),
          ),
        )?.actions,
      ).toEqual(['resume', 'promote-full', 'abort']);
    });

    it('an aborted update: promote-full and retry, and it says aborted', () => {
      const progress = rolloutProgress(
        canary(
          status({
            phase: 'Degraded',
            abort: true,
            currentStepIndex: 1,
            updatedReplicas: 0,
            message: 'RolloutAborted: Rollout aborted update to revision 2',
          }),
        ),
      );
      expect(progress).toMatchObject({
        aborted: true,
        canaryWeight: 0,
        actions: ['promote-full', 'retry'],
      });
    });

    it('a fully promoted Rollout: nothing', () => {
      expect(
        rolloutProgress(
          canary(
            status({ phase: 'Healthy', stableRS: 'new', currentStepIndex: 3 }),
          ),
        )?.actions,
      ).toEqual([]);
    });

    it('a blue/green preview waiting for promotion, and one paused by spec.paused', () => {
      const blueGreen = (rolloutStatus: object, spec: object = {}) =>
        rolloutProgress({
          metadata: { name: 'bg', namespace: 'bg' },
          spec: {
            strategy: { blueGreen: { autoPromotionEnabled: false } },
            ...spec,
          },
          status: rolloutStatus,
        });
      expect(
        blueGreen(
          status({
            phase: 'Paused',
            pauseConditions: [{ reason: 'BlueGreenPause' }],
            blueGreen: { activeSelector: 'old', previewSelector: 'new' },
          }),
        ),
      ).toMatchObject({
        namespace: 'bg',
        activeSelector: 'old',
        previewSelector: 'new',
        actions: ['resume', 'promote-full', 'abort'],
      });
      expect(
        blueGreen(status({ phase: 'Paused' }), { paused: true })?.actions,
      ).toEqual(['resume', 'promote-full', 'abort']);
    });
  });

  it("names a blue/green preview's images and why it waits; none once it is active", () => {
    const rollout = (blueGreen: object, pauseConditions?: object[]) =>
      rolloutProgress({
        metadata: { name: 'bg' },
        spec: {
          strategy: { blueGreen: { previewService: 'bg-preview' } },
          template: {
            spec: { containers: [{ name: 'app', image: 'shop:two' }] },
          },
        },
        status: { phase: 'Paused', blueGreen, pauseConditions },
      });
    expect(
      rollout({ activeSelector: 'one', previewSelector: 'two' }, [
        { reason: 'BlueGreenPause', startTime: '2026-12-02T00:00:00Z' },
      ]),
    ).toMatchObject({
      previewImages: ['shop:two'],
      pauseReasons: ['BlueGreenPause'],
    });
    const promoted = rollout({ activeSelector: 'two', previewSelector: 'two' });
    expect(promoted?.previewImages).toBeUndefined();
    expect(promoted?.pauseReasons).toBeUndefined();
  });
});
