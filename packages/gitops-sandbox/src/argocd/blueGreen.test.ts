import { Sandbox } from '../sandbox';
import {
  argo,
  contractErrors,
  eventually,
  pastAutoSyncDelay,
  pushChange,
  setTag,
  startTestSandbox,
  createChartApplication,
} from '../testing/testSandbox';

// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(300_000);

const IMAGE = 'registry.example.com/team/bg';

/** A chart of one blue/green Rollout with an active and a preview Service. */
const chart = (autoPromotionEnabled: boolean) => ({
  'chart/Chart.yaml': () => 'apiVersion: v2\nname: bg\nversion: 0.1.0\n',
  'chart/values-dev.yaml': () => 'image:\n  tag: "one"\n',
  'chart/templates/rollout.yaml': () => `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: { name: {{ .Release.Name }} }
spec:
  replicas: 2
  selector: { matchLabels: { app: {{ .Release.Name }} } }
  template:
    metadata: { labels: { app: {{ .Release.Name }} } }
    spec:
      containers:
        - name: app
          image: ${IMAGE}:{{ .Values.image.tag }}
  strategy:
    blueGreen:
      activeService: {{ .Release.Name }}
      previewService: {{ .Release.Name }}-preview
      autoPromotionEnabled: ${autoPromotionEnabled}
`,
  'chart/templates/services.yaml': () => `apiVersion: v1
kind: Service
metadata: { name: {{ .Release.Name }} }
spec: { selector: { app: {{ .Release.Name }} }, ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: {{ .Release.Name }}-preview }
spec: { selector: { app: {{ .Release.Name }} }, ports: [{ port: 80 }] }
`,
});

describe('blue/green Rollouts in the sandbox, as Argo Rollouts runs them', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });
  afterAll(() => sandbox?.stop());

  const get = async (app: string) => {
    const { status, body } = await argo(
      sandbox,
      'main',
      `/api/v1/applications/${app}`,
    );
    expect(status).toBe(200);
    expect(contractErrors(c => c.applicationErrors(body))).toEqual([]);
    return body;
  };
  const rollout = async (app: string) => {
    const { status, body } = await argo(
      sandbox,
      'main',
      `/api/v1/applications/${app}/resource?kind=Rollout&resourceName=${app}&group=argoproj.io&version=v1alpha1&namespace=${app}`,
    );
    expect(status).toBe(200);
    const live = JSON.parse(body.manifest);
    expect(contractErrors(c => c.rolloutErrors(live))).toEqual([]);
    return live;
  };
  const replicaSets = async (app: string) =>
    (
      await argo(sandbox, 'main', `/api/v1/applications/${app}/resource-tree`)
    ).body.nodes
      .filter((n: any) => n.kind === 'ReplicaSet')
      .map((rs: any) => rs.name)
      .sort();
  const images = async (app: string) =>
    (
      await argo(sandbox, 'main', `/api/v1/applications/${app}/resource-tree`)
    ).body.nodes
      .filter((n: any) => n.kind === 'Pod')
      .flatMap((p: any) => p.images);
  const health = (app: string, status: string) =>
    eventually(async () => {
      const body = await get(app);
      return body.status.health.status === status &&
        body.status.sync.status === 'Synced'
        ? body
        : undefined;
    }, `${app} to be Synced and ${status}`);

  /** Deploys `one`, then `next` (pushed first, as CI does, unless told not to). */
  async function deploy(
    app: string,
    autoPromotionEnabled: boolean,
    { next = 'two', pushed = true } = {},
  ) {
    await sandbox.registry.pushImage(`${IMAGE}:one`);
    if (pushed) await sandbox.registry.pushImage(`${IMAGE}:${next}`);
    await sandbox.createRepository(`${app}-config`);
    await pushChange(
      sandbox,
      `${app}-config`,
      chart(autoPromotionEnabled),
      'chart',
    );
    await createChartApplication(sandbox, app);
    // The first deployment has nothing to switch from: it is active at once.
    await health(app, 'Healthy');
    await pushChange(
      sandbox,
      `${app}-config`,
      { 'chart/values-dev.yaml': setTag(next) },
      next,
    );
  }

  it('with autoPromotionEnabled false, runs the preview beside the active one and waits until someone promotes it', async () => {
    await deploy('bg-manual', false);
    const waiting = await health('bg-manual', 'Suspended');
    expect(waiting.status.health.message).toBe('Rollout is paused');
    const paused = await rollout('bg-manual');
    expect(paused.status).toMatchObject({
      phase: 'Paused',
      pauseConditions: [expect.objectContaining({ reason: 'BlueGreenPause' })],
    });
    const { activeSelector, previewSelector } = paused.status.blueGreen;
    expect(activeSelector).not.toBe(previewSelector);
    expect(paused.status.currentPodHash).toBe(previewSelector);
    // Both ReplicaSets run: the active one on the old image, the preview on the new.
    expect(await replicaSets('bg-manual')).toEqual(
      [`bg-manual-${activeSelector}`, `bg-manual-${previewSelector}`].sort(),
    );
    expect((await images('bg-manual')).sort()).toEqual([
      `${IMAGE}:one`,
      `${IMAGE}:one`,
      `${IMAGE}:two`,
      `${IMAGE}:two`,
    ]);
    // Time alone does not promote it.
    await pastAutoSyncDelay(sandbox, 500);
    expect((await get('bg-manual')).status.health.status).toBe('Suspended');

    const actions = await argo(
      sandbox,
      'main',
      '/api/v1/applications/bg-manual/resource/actions?kind=Rollout&resourceName=bg-manual&group=argoproj.io&namespace=bg-manual',
    );
    const route = '/api/v1/applications/{name}/resource/actions';
    expect(
      contractErrors(c => c.responseErrors(route, 'GET', 200, actions.body)),
    ).toEqual([]);
    expect(actions.body.actions).toEqual(
      expect.arrayContaining([
        { name: 'resume', disabled: false },
        { name: 'promote-full', disabled: false },
      ]),
    );
    const unknown = await argo(
      sandbox,
      'main',
      '/api/v1/applications/bg-manual/resource/actions?kind=Rollout&resourceName=bg-manual&namespace=bg-manual',
      { method: 'POST', body: 'explode' },
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('"explode" is not available');

    const resumed = await argo(
      sandbox,
      'main',
      '/api/v1/applications/bg-manual/resource/actions?kind=Rollout&resourceName=bg-manual&group=argoproj.io&namespace=bg-manual',
      { method: 'POST', body: 'resume' },
    );
    expect(resumed.status).toBe(200);
    expect(
      contractErrors(c => c.responseErrors(route, 'POST', 200, resumed.body)),
    ).toEqual([]);
    expect(
      contractErrors(c => c.responseErrors(route, 'POST', 400, unknown.body)),
    ).toEqual([]);
    await health('bg-manual', 'Healthy');
    const promoted = await rollout('bg-manual');
    expect(promoted.status.phase).toBe('Healthy');
    expect(promoted.status.blueGreen.activeSelector).toBe(previewSelector);
    expect(await replicaSets('bg-manual')).toEqual([
      `bg-manual-${previewSelector}`,
    ]);
  });

  it('with autoPromotionEnabled true, switches to the preview by itself once it is up', async () => {
    await deploy('bg-auto', true);
    await eventually(
      async () =>
        (await get('bg-auto')).status.summary.images[0] === `${IMAGE}:two` ||
        undefined,
      'bg-auto to sync the new image',
    );
    const promoted = await health('bg-auto', 'Healthy');
    expect(promoted.status.summary.images).toEqual([`${IMAGE}:two`]);
    const live = await rollout('bg-auto');
    expect(live.status.blueGreen.activeSelector).toBe(
      live.status.blueGreen.previewSelector,
    );
  });

  it('promote-full through the v2 action endpoint', async () => {
    await deploy('bg-v2', false);
    await health('bg-v2', 'Suspended');
    const ran = await argo(
      sandbox,
      'main',
      '/api/v1/applications/bg-v2/resource/actions/v2',
      {
        method: 'POST',
        body: {
          action: 'promote-full',
          kind: 'Rollout',
          resourceName: 'bg-v2',
          namespace: 'bg-v2',
          group: 'argoproj.io',
          version: 'v1alpha1',
        },
      },
    );
    expect(ran.status).toBe(200);
    await health('bg-v2', 'Healthy');
  });

  it('does not promote a preview whose image is missing, not even by promote-full', async () => {
    await deploy('bg-missing', true, { next: 'three', pushed: false });
    const stuck = await eventually(async () => {
      const app = await get('bg-missing');
      return app.status.summary.images.includes(`${IMAGE}:three`) &&
        app.status.health.status === 'Progressing'
        ? app
        : undefined;
    }, 'bg-missing to roll out three');
    expect(stuck.status.health.message).toBe(
      'updated replicas are still becoming available',
    );
    const promoteFull = () =>
      argo(
        sandbox,
        'main',
        '/api/v1/applications/bg-missing/resource/actions?kind=Rollout&resourceName=bg-missing&group=argoproj.io&namespace=bg-missing',
        { method: 'POST', body: 'promote-full' },
      );
    const ran = await promoteFull();
    expect(ran.status).toBe(200);
    expect(
      contractErrors(c =>
        c.responseErrors(
          '/api/v1/applications/{name}/resource/actions',
          'POST',
          200,
          ran.body,
        ),
      ),
    ).toEqual([]);
    // The active Service stays on the old pods, whose image runs.
    const degraded = await health('bg-missing', 'Degraded');
    const live = await rollout('bg-missing');
    const { activeSelector, previewSelector } = live.status.blueGreen;
    expect(activeSelector).not.toBe(previewSelector);
    expect(degraded.status.health.message).toBe(
      `ProgressDeadlineExceeded: ReplicaSet "bg-missing-${previewSelector}" has timed out progressing.`,
    );
    expect(await replicaSets('bg-missing')).toHaveLength(2);

    // Pushed late, the preview comes up and the recorded promote-full switches to it.
    await sandbox.registry.pushImage(`${IMAGE}:three`);
    await health('bg-missing', 'Healthy');
    expect((await rollout('bg-missing')).status.blueGreen.activeSelector).toBe(
      previewSelector,
    );
  });
});
