import { Sandbox } from '../sandbox';
import {
  FAST_TIMING,
  argo,
  contractErrors,
  eventually,
  pushChange,
  setTag,
  startTestSandbox,
  createChartApplication,
} from '../testing/testSandbox';

// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(300_000);

// Long enough to see Progressing before the deadline on a loaded machine.
const DEADLINE_MS = 8000;

/** A chart of one Deployment whose images the values file names in full. */
const CHART = {
  'chart/Chart.yaml': () => 'apiVersion: v2\nname: pull\nversion: 0.1.0\n',
  'chart/templates/deployment.yaml': () => `apiVersion: apps/v1
kind: Deployment
metadata: { name: {{ .Release.Name }} }
spec:
  replicas: {{ .Values.replicas | default 1 }}
  selector: { matchLabels: { app: {{ .Release.Name }} } }
  template:
    metadata: { labels: { app: {{ .Release.Name }} } }
    spec:
      {{- with .Values.init }}
      initContainers:
        - { name: init, image: {{ . | quote }} }
      {{- end }}
      containers:
        - { name: app, image: {{ .Values.image | quote }} }
`,
};

const values = (image: string, init?: string) => () =>
  `image: ${image}\n${init ? `init: ${init}\n` : ''}`;

describe('the sandbox cluster pulls images through the sandbox registry', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startTestSandbox({
      timing: { ...FAST_TIMING, progressDeadlineMs: DEADLINE_MS },
    });
  });
  afterAll(() => sandbox?.stop());

  /** A GET whose answer must be 200 and fit swagger.json. */
  const call = async (route: string, url: string, instance = 'main') => {
    const { status, body } = await argo(sandbox, instance, url);
    expect({ url, status }).toEqual({ url, status: 200 });
    expect(
      contractErrors(c => c.responseErrors(route, 'GET', status, body)),
    ).toEqual([]);
    return body;
  };
  const get = async (app: string, instance = 'main') => {
    const url = `/api/v1/applications/${app}`;
    const body = await call('/api/v1/applications/{name}', url, instance);
    expect(contractErrors(c => c.applicationErrors(body))).toEqual([]);
    return body;
  };
  const tree = async (app: string): Promise<any[]> =>
    (
      await call(
        '/api/v1/applications/{applicationName}/resource-tree',
        `/api/v1/applications/${app}/resource-tree`,
      )
    ).nodes;
  const live = async (app: string, kind: string, name: string) => {
    const group = kind === 'Rollout' ? 'argoproj.io' : '';
    const { manifest } = await call(
      '/api/v1/applications/{name}/resource',
      `/api/v1/applications/${app}/resource?kind=${kind}&resourceName=${name}&group=${group}&version=v1`,
    );
    const object = JSON.parse(manifest);
    if (kind === 'Rollout') {
      expect(contractErrors(c => c.rolloutErrors(object))).toEqual([]);
    }
    return object;
  };
  const health = (app: string, status: string, instance = 'main') =>
    eventually(async () => {
      const body = await get(app, instance);
      return body.status.health.status === status ? body : undefined;
    }, `${app} to be ${status}`);

  async function deploy(app: string, image: string, init?: string) {
    await sandbox.createRepository(`${app}-config`);
    await pushChange(
      sandbox,
      `${app}-config`,
      { ...CHART, 'chart/values-dev.yaml': values(image, init) },
      'chart',
    );
    await createChartApplication(sandbox, app);
  }

  it('seeds every image the examples deploy, multi-arch with its revision, so they are Healthy', async () => {
    for (const instance of sandbox.instances) {
      const body = await call(
        '/api/v1/applications',
        '/api/v1/applications',
        instance.name,
      );
      const services = body.items.filter(
        (a: any) => a.metadata.labels?.['gitops/environment'],
      );
      expect(services.length).toBeGreaterThan(0);
      for (const app of services) {
        await health(app.metadata.name, 'Healthy', instance.name);
      }
    }
    for (const ref of [
      'registry.example.com/checkout/service-a:4c5d6e7',
      'registry.example.com/checkout/service-a:1a2b3c4',
      'registry.example.com/checkout/service-a:v1.4.0',
      'registry.example.com/checkout/service-b:9f8e7d6',
      'registry.example.com/checkout/service-b:v0.9.2',
      // The same repository through the sandbox registry's own host.
      `${sandbox.registry.host}/checkout/service-b:v0.9.2`,
    ]) {
      expect([ref, sandbox.registry.resolve(ref)?.platforms]).toEqual([
        ref,
        ['linux/amd64', 'linux/arm64'],
      ]);
    }
    // The revision label, as skopeo or docker would read it from the image config.
    const { username, password } = sandbox.registry.credentials;
    const { token } = await fetch(
      `${sandbox.registry.url}/token?scope=repository:checkout/service-a:pull`,
      {
        headers: { authorization: `Basic ${btoa(`${username}:${password}`)}` },
      },
    ).then(r => r.json());
    const pull = (path: string, accept: string) =>
      fetch(`${sandbox.registry.url}/v2/checkout/service-a/${path}`, {
        headers: { authorization: `Bearer ${token}`, accept },
      }).then(r => r.json());
    const index = await pull(
      'manifests/4c5d6e7',
      'application/vnd.oci.image.index.v1+json',
    );
    const manifest = await pull(
      `manifests/${index.manifests[0].digest}`,
      'application/vnd.oci.image.manifest.v1+json',
    );
    const config = await pull(`blobs/${manifest.config.digest}`, '*/*');
    // The full SHA of the app-repository commit dev's version was built from (the
    // change log tests check it is that commit).
    expect(config.config.Labels).toEqual({
      'org.opencontainers.image.revision':
        expect.stringMatching(/^[0-9a-f]{40}$/),
    });
  });

  it('keeps a Deployment whose new image is missing Progressing, then Degraded, and heals it once the image is pushed', async () => {
    const image = 'registry.example.com/team/pull-a';
    await sandbox.registry.pushImage(`${image}:one`);
    await deploy('pull-a', `${image}:one`);
    await health('pull-a', 'Healthy');

    await pushChange(
      sandbox,
      'pull-a-config',
      { 'chart/values-dev.yaml': values(`${image}:two`) },
      'two, which CI never pushed',
    );
    const progressing = await eventually(async () => {
      const app = await get('pull-a');
      return app.status.summary.images.includes(`${image}:two`) &&
        app.status.health.status === 'Progressing' &&
        app.status.health.message !== 'Waiting for rollout to finish'
        ? app
        : undefined;
    }, 'pull-a to run the new image');
    // Applying the manifests worked: the sync succeeded; the rollout is what fails.
    expect(progressing.status.operationState.phase).toBe('Succeeded');
    expect(progressing.status.sync.status).toBe('Synced');
    // One replica, maxSurge 1: the old pod keeps running beside the new one.
    expect(progressing.status.health.message).toBe(
      'Waiting for rollout to finish: 1 old replicas are pending termination...',
    );
    const nodes = await tree('pull-a');
    const pods = nodes.filter(n => n.kind === 'Pod');
    expect(pods).toEqual([
      expect.objectContaining({
        images: [`${image}:one`],
        health: { status: 'Healthy' },
      }),
      expect.objectContaining({
        images: [`${image}:two`],
        health: {
          status: 'Degraded',
          message: `Back-off pulling image "${image}:two"`,
        },
        info: [
          { name: 'Status Reason', value: 'ImagePullBackOff' },
          { name: 'Containers', value: '0/1' },
        ],
      }),
    ]);
    expect(
      nodes.filter(n => n.kind === 'ReplicaSet').map(n => n.health.status),
    ).toEqual(['Healthy', 'Progressing']);
    const pod = await live('pull-a', 'Pod', pods[1].name);
    expect(pod.status.phase).toBe('Pending');
    expect(pod.status.containerStatuses).toEqual([
      expect.objectContaining({
        name: 'app',
        ready: false,
        state: {
          waiting: {
            reason: 'ImagePullBackOff',
            message: `Back-off pulling image "${image}:two"`,
          },
        },
      }),
    ]);

    const degraded = await health('pull-a', 'Degraded');
    expect(degraded.status.health.message).toBe(
      'Deployment "pull-a" exceeded its progress deadline',
    );
    // Not before the deadline: Progressing until it passed.
    expect(
      Date.parse(degraded.status.health.lastTransitionTime) -
        Date.parse(degraded.status.operationState.finishedAt),
    ).toBeGreaterThanOrEqual(DEADLINE_MS - 1000);
    expect(degraded.status.operationState.phase).toBe('Succeeded');

    // CI pushes it late: the kubelet's next retry pulls it, without a new sync.
    await sandbox.registry.pushImage(`${image}:two`);
    const healed = await health('pull-a', 'Healthy');
    expect(healed.status.history).toHaveLength(degraded.status.history.length);
    const after = (await tree('pull-a')).filter(n => n.kind === 'Pod');
    expect(after).toEqual([
      expect.objectContaining({
        images: [`${image}:two`],
        health: { status: 'Healthy' },
      }),
    ]);
    const running = await live('pull-a', 'Pod', after[0].name);
    expect(running.status.containerStatuses[0]).toMatchObject({
      ready: true,
      state: { running: expect.anything() },
      imageID: `${image}@${sandbox.registry.resolve(`${image}:two`)!.digest}`,
    });
  });

  it('pulls by digest, and Docker Hub short names as library/ images, init containers too', async () => {
    const image = 'registry.example.com/team/pull-b';
    const digest = await sandbox.registry.pushImage(`${image}:three`);
    // An init container whose image (a Docker Hub short name) nobody pushed yet.
    await deploy('pull-b', `${image}@${digest}`, 'busybox:1.36');
    const waiting = await eventually(async () => {
      const nodes = await tree('pull-b');
      const pod = nodes.find(n => n.kind === 'Pod');
      return pod?.info[0].value === 'Init:ImagePullBackOff' ? nodes : undefined;
    }, 'the pod of pull-b to wait for its init container');
    // Argo CD's pod health reads only the containers' statuses: Pending, Progressing.
    expect(waiting.find(n => n.kind === 'Pod').health).toEqual({
      status: 'Progressing',
    });
    expect((await get('pull-b')).status.health).toMatchObject({
      status: 'Progressing',
      message:
        'Waiting for rollout to finish: 0 of 1 updated replicas are available...',
    });
    const pod = await live(
      'pull-b',
      'Pod',
      waiting.find(n => n.kind === 'Pod').name,
    );
    expect(pod.status.initContainerStatuses[0].state).toEqual({
      waiting: {
        reason: 'ImagePullBackOff',
        message: 'Back-off pulling image "busybox:1.36"',
      },
    });
    expect(pod.status.containerStatuses[0].state).toEqual({
      waiting: { reason: 'PodInitializing' },
    });

    // docker.io/library/busybox is what a mirror is asked for `busybox`; pushed
    // here through the control API, as the e2e and a developer without skopeo do.
    const pushed = await fetch(`${sandbox.gitUrl}/api/sandbox/images`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sandbox.gitToken}` },
      body: JSON.stringify({ image: 'docker.io/library/busybox:1.36' }),
    });
    expect(pushed.status).toBe(201);
    await health('pull-b', 'Healthy');

    // A digest nobody pushed is missing, whatever the tag beside it.
    const unknown = `sha256:${'0'.repeat(64)}`;
    await pushChange(
      sandbox,
      'pull-b-config',
      {
        'chart/values-dev.yaml': values(
          `${image}:three@${unknown}`,
          'busybox:1.36',
        ),
      },
      'a digest nobody pushed',
    );
    const missing = await eventually(async () => {
      const backingOff = (await tree('pull-b')).find(
        n => n.kind === 'Pod' && n.images[0].endsWith(unknown),
      );
      return backingOff?.health.status === 'Degraded' ? backingOff : undefined;
    }, 'the pod with the unknown digest to back off');
    expect(missing.health.message).toBe(
      `Back-off pulling image "${image}:three@${unknown}"`,
    );
  });

  it('does not walk a canary Rollout whose new image is missing, and Degrades it as Argo Rollouts does', async () => {
    await pushChange(
      sandbox,
      'service-b-config',
      { 'chart/values-dev.yaml': setTag('deadbee') },
      'a tag nobody built',
    );
    const stuck = await eventually(async () => {
      const app = await get('service-b-dev');
      return app.status.summary.images.some((i: string) =>
        i.endsWith(':deadbee'),
      ) && app.status.health.status === 'Progressing'
        ? app
        : undefined;
    }, 'service-b-dev to roll out deadbee');
    expect(stuck.status.operationState.phase).toBe('Succeeded');
    // Step 0 (setWeight 20) of 1 replica with a 25% surge: one canary pod beside the
    // stable one, which cannot start (Argo Rollouts: available < updated).
    expect(stuck.status.health.message).toBe(
      'updated replicas are still becoming available',
    );
    const rolling = await live('service-b-dev', 'Rollout', 'service-b');
    expect(rolling.status).toMatchObject({
      phase: 'Progressing',
      currentStepIndex: 0,
    });

    const degraded = await health('service-b-dev', 'Degraded');
    const rollout = await live('service-b-dev', 'Rollout', 'service-b');
    const replicaSet = `service-b-${rollout.status.currentPodHash}`;
    expect(degraded.status.health.message).toBe(
      `ProgressDeadlineExceeded: ReplicaSet "${replicaSet}" has timed out progressing.`,
    );
    // No step was taken while the canary pods could not start.
    expect(rollout.status).toMatchObject({
      phase: 'Degraded',
      currentStepIndex: 0,
      conditions: [
        expect.objectContaining({
          type: 'Progressing',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${replicaSet}" has timed out progressing.`,
        }),
      ],
    });
    const pod = (await tree('service-b-dev')).find(
      n => n.kind === 'Pod' && n.images[0].endsWith(':deadbee'),
    );
    expect(pod.health).toEqual({
      status: 'Degraded',
      message: `Back-off pulling image "registry.example.com/checkout/service-b:deadbee"`,
    });

    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-b:deadbee',
    );
    const healed = await health('service-b-dev', 'Healthy');
    expect(healed.status.history).toHaveLength(degraded.status.history.length);
  });
});
