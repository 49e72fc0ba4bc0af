import { mockServices } from '@backstage/backend-test-utils';
import { EntityDeploymentStatus } from '@gitops-backstage/plugin-gitops-common';
import {
  eventually,
  pushChange,
  Sandbox,
  settled,
  setTag,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import {
  allowedAndDeniedBackends,
  component,
  sandboxBackendConfig,
  specErrors,
} from './__testUtils__/sandboxBackend';

// Real Git, helm and the sandbox's reconciliation on a loaded 2-core machine.
jest.setTimeout(240_000);

const entities = [
  component('service-a', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-a',
  }),
  component('service-b', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-b',
  }),
];

describe("Argo Rollouts from an entity's lane: progress, previews and controls (Argo CD's Rollout actions)", () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;
  let denied: any;
  let auditor: ReturnType<typeof mockServices.auditor.mock>;
  let close = () => {};

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-rollout-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    ({ server, denied, auditor, close } = await allowedAndDeniedBackends(
      entities,
      sandboxBackendConfig(sandbox),
    ));
    await settled(sandbox);
  });
  afterAll(async () => {
    close();
    await sandbox?.stop();
    await fs.rm(sandboxDir, { recursive: true, force: true });
  });

  const environmentOf = async (name: string, environment: string) => {
    const res = await request(server).get(
      `/api/gitops/entities/component/default/${name}/status`,
    );
    expect(res.status).toBe(200);
    expect(specErrors('EntityDeploymentStatus', res.body)).toEqual([]);
    return (res.body as EntityDeploymentStatus).environments.find(
      e => e.environment === environment,
    )!;
  };
  const devOf = (name: string) => environmentOf(name, 'dev');
  const control = (to: any, name: string, action: unknown) =>
    request(to)
      .post(
        `/api/gitops/entities/component/default/${name}/environments/dev/rollout`,
      )
      .send({ action });
  const rolloutWhen = (
    test: (rollout: any, health: string) => boolean,
    what: string,
  ) =>
    eventually(async () => {
      const dev = await devOf('service-b');
      return dev.live.rollout && test(dev.live.rollout, dev.live.health.status)
        ? dev.live.rollout
        : undefined;
    }, what);

  it('aborts, retries and promotes a paused canary; what is not possible now is a 409 saying why', async () => {
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-b:abc0002',
    );
    await pushChange(
      sandbox,
      'service-b-config',
      {
        'chart/values-dev.yaml': text =>
          setTag('abc0002')(text)
            .replace('replicaCount: 1', 'replicaCount: 4')
            .replace(
              'rollout:\n  enabled: true',
              'rollout:\n  enabled: true\n  steps:\n    - setWeight: 50\n    - pause: {}\n    - setWeight: 75\n    - pause: {}',
            ),
      },
      'ci: bump service-b dev, a canary that waits',
    );
    const paused = await rolloutWhen(
      (r, health) =>
        r.phase === 'Paused' &&
        r.currentStepIndex === 1 &&
        health === 'Suspended',
      'the canary to pause at step 1',
    );
    expect(paused).toMatchObject({
      name: 'service-b',
      namespace: 'checkout-dev',
      actions: ['resume', 'promote-full', 'abort'],
    });

    // No permission: 403, and the Rollout is as it was.
    const refused = await control(denied, 'service-b', 'abort');
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe(
      'You may not control the Rollout of component:default/service-b (permission gitops.rollout.control)',
    );
    expect((await devOf('service-b')).live.rollout).toMatchObject({
      phase: 'Paused',
      currentStepIndex: 1,
    });

    const unknown = await control(server, 'service-b', 'explode');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('action');
    const notNow = await control(server, 'service-b', 'retry');
    expect(notNow.status).toBe(409);
    expect(notNow.body.error.message).toBe(
      'retry is not possible now for Rollout service-b in dev (Paused); possible now: resume, promote-full, abort',
    );
    const noRollout = await control(server, 'service-a', 'abort');
    expect(noRollout.status).toBe(400);
    expect(noRollout.body.error.message).toBe(
      'service-a-dev (dev) runs no Argo Rollouts Rollout',
    );

    const aborted = await control(server, 'service-b', 'abort');
    expect(aborted.status).toBe(200);
    expect(specErrors('ActionResult', aborted.body)).toEqual([]);
    expect(
      await rolloutWhen(
        (r, health) => Boolean(r.aborted) && health === 'Degraded',
        'the aborted canary to show',
      ),
    ).toMatchObject({
      phase: 'Degraded',
      aborted: true,
      canaryWeight: 0,
      actions: ['promote-full', 'retry'],
    });
    expect(auditor.createEvent).toHaveBeenCalledWith(
      expect.objectContaining({
        eventId: 'application-rollout',
        meta: expect.objectContaining({
          entityRef: 'component:default/service-b',
          environment: 'dev',
        }),
      }),
    );

    expect((await control(server, 'service-b', 'retry')).status).toBe(200);
    await rolloutWhen(
      r => r.phase === 'Paused' && r.currentStepIndex === 1 && !r.aborted,
      'the retried canary to pause at step 1 again',
    );
    expect((await control(server, 'service-b', 'resume')).status).toBe(200);
    await rolloutWhen(
      r => r.phase === 'Paused' && r.currentStepIndex === 3,
      'the resumed canary to pause at step 3',
    );
    expect((await control(server, 'service-b', 'promote-full')).status).toBe(
      200,
    );
    expect(
      await rolloutWhen(
        (r, health) => r.phase === 'Healthy' && health === 'Healthy',
        'the fully promoted canary to be Healthy',
      ),
    ).toMatchObject({ currentStepIndex: 4, stepCount: 4, actions: [] });
  });

  it("shows a blue/green preview (its image, the active one, its URL) and promotes it: the active selector switches to the preview's", async () => {
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-b:b1e0b1e',
    );
    await pushChange(
      sandbox,
      'service-b-config',
      {
        'chart/values-staging.yaml': text =>
          `${setTag('b1e0b1e')(text).replace(
            'rollout:\n  enabled: true',
            'rollout:\n  enabled: true\n  strategy: blueGreen',
          )}ingress:\n  previewHost: service-b-preview.staging.example.com\n`,
      },
      'ci: bump service-b staging, a blue/green preview',
    );
    const stagingRollout = (
      test: (rollout: any, env: any) => boolean,
      what: string,
    ) =>
      eventually(async () => {
        const staging = await environmentOf('service-b', 'staging');
        return staging.live.rollout && test(staging.live.rollout, staging)
          ? staging.live.rollout
          : undefined;
      }, what);
    const preview = await stagingRollout(
      r => r.phase === 'Paused' && Boolean(r.previewImages),
      'the blue/green preview to wait',
    );
    expect(preview).toMatchObject({
      strategy: 'blueGreen',
      previewImages: ['registry.example.com/checkout/service-b:b1e0b1e'],
      activeImages: ['registry.example.com/checkout/service-b:9f8e7d6'],
      previewUrl: 'http://service-b-preview.staging.example.com',
      pauseReasons: ['BlueGreenPause'],
      actions: ['resume', 'promote-full', 'abort'],
    });
    expect(preview.activeSelector).not.toBe(preview.previewSelector);

    const promoted = await request(server)
      .post(
        '/api/gitops/entities/component/default/service-b/environments/staging/rollout',
      )
      .send({ action: 'resume' });
    expect(promoted.status).toBe(200);
    const active = await stagingRollout(
      (r, env) =>
        r.activeSelector === preview.previewSelector &&
        env.live.health.status === 'Healthy',
      'the preview to become the active one',
    );
    expect(active.previewImages).toBeUndefined();
    expect((await environmentOf('service-b', 'staging')).live.images).toEqual([
      'registry.example.com/checkout/service-b:b1e0b1e',
    ]);
  });
});
