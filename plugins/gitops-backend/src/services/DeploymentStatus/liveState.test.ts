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
});
