import { mockServices } from '@backstage/backend-test-utils';
import {
  EntityDeploymentStatus,
  PromotionRecord,
} from '@gitops-backstage/plugin-gitops-common';
import {
  createAppOfApps,
  eventually,
  helmBinary,
  pushChange,
  Sandbox,
  settled,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import {
  allowedAndDeniedBackends,
  component,
  gitIn,
  sandboxBackendConfig,
  specErrors,
} from './__testUtils__/sandboxBackend';

// Real Git, helm (package, repo index, template) and the sandbox on a loaded 2-core machine.
jest.setTimeout(240_000);

const entities = [
  component('shop', { 'argocd/app-selector': 'app.kubernetes.io/name=shop' }),
];

/**
 * Version `version` of the shop chart: a ConfigMap greeting with its values, naming
 * the image from the values when `withImage`.
 */
async function chartDir(
  dir: string,
  version: string,
  greeting: string,
  withImage = false,
) {
  const chart = path.join(dir, `shop-${version}`);
  await fs.mkdir(path.join(chart, 'templates'), { recursive: true });
  await fs.writeFile(
    path.join(chart, 'Chart.yaml'),
    `apiVersion: v2\nname: shop\nversion: ${version}\n`,
  );
  await fs.writeFile(
    path.join(chart, 'values.yaml'),
    `greeting: ${greeting}\nsuffix: ""\n`,
  );
  await fs.writeFile(
    path.join(chart, 'templates', 'configmap.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\ndata:\n  greeting: {{ printf "%s%s" .Values.greeting .Values.suffix | quote }}\n${
      withImage
        ? '  image: {{ printf "%s:%s" .Values.image.repository .Values.image.tag | quote }}\n'
        : ''
    }`,
  );
  return chart;
}

/** An Application of the shop deploying the chart from the classic repository. */
function application(
  sandbox: Sandbox,
  environment: string,
  targetRevision: string,
) {
  const chart = {
    repoURL: sandbox.charts.repoUrl('stable'),
    chart: 'shop',
    targetRevision,
    helm: { valueFiles: [`$values/envs/values-${environment}.yaml`] },
  };
  return `# The shop in ${environment}: the chart from the chart repository, values from Git.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop-${environment}
  namespace: argocd
  labels:
    app.kubernetes.io/name: shop
    gitops/environment: ${environment}
  annotations:
    gitops.backstage.io/entity-ref: component:default/shop
spec:
  project: default
  sources:
    - repoURL: ${chart.repoURL}
      chart: shop
      targetRevision: ${targetRevision} # the chart version ${environment} runs
      helm:
        valueFiles:
          - ${chart.helm.valueFiles[0]}
    - repoURL: ${sandbox.repoUrl('shop-config')}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: shop-${environment}
  syncPolicy:
    automated: {}
    syncOptions: [CreateNamespace=true]
`;
}

describe('charts from a chart repository: status and promotion of chart versions', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;
  let denied: any;
  let auditor: ReturnType<typeof mockServices.auditor.mock>;
  let close = () => {};

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-charts-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    const charts = path.join(sandboxDir, 'chart-sources');
    await sandbox.charts.publish(
      'stable',
      await chartDir(charts, '1.0.0', 'hello'),
    );
    await sandbox.charts.publish(
      'stable',
      await chartDir(charts, '1.1.0', 'good day'),
    );
    await sandbox.createRepository('shop-config');
    await pushChange(
      sandbox,
      'shop-config',
      {
        'argocd/dev.yaml': () => application(sandbox, 'dev', "'>=1.0.0'"),
        'argocd/staging.yaml': () => application(sandbox, 'staging', '1.0.0'),
        'envs/values-dev.yaml': () => 'suffix: " from dev"\n',
        'envs/values-staging.yaml': () => 'suffix: " from staging"\n',
      },
      'the shop, deployed from the chart repository',
    );
    // The platform's app of apps over argocd/, as the templates register it.
    await createAppOfApps(sandbox, 'shop-apps', 'shop-config', 'argocd');

    const helm = await helmBinary();
    ({ server, denied, auditor, close } = await allowedAndDeniedBackends(
      entities,
      sandboxBackendConfig(sandbox, {
        helm: { command: helm },
        chartRepositories: [{ url: sandbox.charts.repoUrl('stable') }],
      }),
    ));
    await settled(sandbox);
  });
  afterAll(async () => {
    close();
    await sandbox?.stop();
    await fs.rm(sandboxDir, { recursive: true, force: true });
  });

  const status = async () => {
    const res = await request(server).get(
      '/api/gitops/entities/component/default/shop/status',
    );
    expect(res.status).toBe(200);
    expect(specErrors('EntityDeploymentStatus', res.body)).toEqual([]);
    return res.body as EntityDeploymentStatus;
  };
  const laneWhen = (
    environment: string,
    ready: (env: EntityDeploymentStatus['environments'][number]) => boolean,
    what: string,
  ) =>
    eventually(async () => {
      const env = (await status()).environments.find(
        e => e.environment === environment,
      );
      return env && ready(env) ? env : undefined;
    }, what);
  const promote = (to: any, body: object) =>
    request(to)
      .post('/api/gitops/entities/component/default/shop/promotions')
      .send(body);
  const filesOfLastCommit = async () =>
    (
      await gitIn(
        sandboxDir,
        'shop-config',
        'diff',
        '--name-only',
        'main~1',
        'main',
      )
    )
      .trim()
      .split('\n');
  const stagingFile = () =>
    gitIn(sandboxDir, 'shop-config', 'show', 'main:argocd/staging.yaml');

  it('shows per environment the chart version running, asked for by Git, resolved and newest', async () => {
    const dev = await laneWhen(
      'dev',
      e => e.chart?.running === '1.1.0',
      'dev to run the newest chart its range allows',
    );
    expect(dev.chart).toEqual({
      repoURL: sandbox.charts.repoUrl('stable'),
      chart: 'shop',
      wanted: '>=1.0.0',
      resolved: '1.1.0',
      running: '1.1.0',
      newest: '1.1.0',
      deployedBy: { name: 'shop-apps' },
      pinnedAt: { kind: 'application' },
      values: [
        {
          repoURL: sandbox.repoUrl('shop-config'),
          targetRevision: 'main',
          path: 'envs/values-dev.yaml',
        },
      ],
    });
    expect(dev.drift).toBe(false);
    const staging = await laneWhen(
      'staging',
      e => e.chart?.running === '1.0.0',
      'staging to run its pinned chart',
    );
    expect(staging.chart).toMatchObject({
      wanted: '1.0.0',
      resolved: '1.0.0',
      newest: '1.1.0',
    });
    expect(staging.drift).toBe(false);
  });

  it("previews the promotion of dev's chart version to staging: the pin, and the manifests both versions render", async () => {
    const res = await promote(server, {
      from: 'dev',
      to: 'staging',
      dryRun: true,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      version: '1.1.0',
      previousVersion: '1.0.0',
      dryRun: true,
    });
    expect(res.body.diff).toContain(
      '-      targetRevision: 1.0.0 # the chart version staging runs',
    );
    expect(res.body.diff).toContain(
      '+      targetRevision: 1.1.0 # the chart version staging runs',
    );
    // helm template of both versions with staging's values from Git.
    expect(res.body.renderedDiff).toContain(
      '-  greeting: "hello from staging"',
    );
    expect(res.body.renderedDiff).toContain(
      '+  greeting: "good day from staging"',
    );
    expect(res.body.gates.every((g: { passed: boolean }) => g.passed)).toBe(
      true,
    );
  });

  it('refuses a caller without the promote permission with 403, writing nothing', async () => {
    const before = await stagingFile();
    const res = await promote(denied, { from: 'dev', to: 'staging' });
    expect(res.status).toBe(403);
    expect(await stagingFile()).toBe(before);
  });

  it("promotes: one commit pins 1.1.0 in staging's Application, staging deploys it, the record says deployed", async () => {
    const res = await promote(server, { from: 'dev', to: 'staging' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ version: '1.1.0', status: 'committed' });
    expect(await stagingFile()).toContain(
      'targetRevision: 1.1.0 # the chart version staging runs',
    );
    expect(
      await gitIn(sandboxDir, 'shop-config', 'log', '-1', '--format=%B'),
    ).toMatch(/^Promote shop chart shop 1\.1\.0 from dev to staging/);
    expect(auditor.createEvent).toHaveBeenCalledWith(
      expect.objectContaining({
        eventId: 'promotion',
        meta: expect.objectContaining({ from: 'dev', to: 'staging' }),
      }),
    );
    await laneWhen(
      'staging',
      e => e.chart?.running === '1.1.0' && e.drift === false,
      'staging to run the promoted chart version',
    );
    await eventually(async () => {
      const { body } = await request(server).get(
        '/api/gitops/entities/component/default/shop/promotions',
      );
      const [latest] = body.items as PromotionRecord[];
      return latest?.status === 'deployed' ? latest : undefined;
    }, 'the promotion to be recorded as deployed');
  });

  it('moves the chart and the image together in one commit when both differ, and the image alone when the chart does not', async () => {
    await sandbox.charts.publish(
      'stable',
      await chartDir(
        path.join(sandboxDir, 'chart-sources'),
        '1.2.0',
        'welcome',
        true,
      ),
    );
    const image = (tag: string) =>
      `suffix: " from $ENV"\nimage:\n  repository: registry.example.test/shop\n  tag: "${tag}" # CI writes it\n`;
    await pushChange(
      sandbox,
      'shop-config',
      {
        'envs/values-dev.yaml': () => image('a1b2c3d').replace('$ENV', 'dev'),
        'envs/values-staging.yaml': () =>
          image('0000000').replace('$ENV', 'staging'),
      },
      'images in the values',
    );
    await laneWhen(
      'dev',
      e => e.chart?.running === '1.2.0' && e.desired?.image?.tag === 'a1b2c3d',
      'dev to run chart 1.2.0 with its image in the values',
    );
    await laneWhen(
      'staging',
      e => e.desired?.image?.tag === '0000000',
      "staging's image in the values",
    );

    const preview = await promote(server, {
      from: 'dev',
      to: 'staging',
      dryRun: true,
    });
    expect(preview.status).toBe(200);
    expect(preview.body.moves).toEqual([
      {
        what: 'chart',
        from: '1.1.0',
        to: '1.2.0',
        file: 'argocd/staging.yaml',
        key: 'spec.sources.0.targetRevision',
      },
      {
        what: 'image',
        from: '0000000',
        to: 'a1b2c3d',
        file: 'envs/values-staging.yaml',
        key: 'image.tag',
      },
    ]);
    expect(preview.body.diff).toContain('+++ b/argocd/staging.yaml');
    expect(preview.body.diff).toContain('+  tag: "a1b2c3d" # CI writes it');
    // The new chart rendered with the new image: what staging will run.
    expect(preview.body.renderedDiff).toContain(
      '+  image: "registry.example.test/shop:a1b2c3d"',
    );

    const before = await gitIn(sandboxDir, 'shop-config', 'rev-parse', 'main');
    const res = await promote(server, { from: 'dev', to: 'staging' });
    expect(res.status).toBe(201);
    expect(res.body.moves).toHaveLength(2);
    // One commit, both files.
    expect(await gitIn(sandboxDir, 'shop-config', 'rev-parse', 'main~1')).toBe(
      before,
    );
    expect(await filesOfLastCommit()).toEqual([
      'argocd/staging.yaml',
      'envs/values-staging.yaml',
    ]);
    expect(
      (
        await gitIn(sandboxDir, 'shop-config', 'log', '-1', '--format=%s')
      ).trim(),
    ).toBe('Promote shop chart 1.2.0 and image a1b2c3d from dev to staging');
    await laneWhen(
      'staging',
      e => e.chart?.running === '1.2.0' && e.desired?.image?.tag === 'a1b2c3d',
      'staging to run chart 1.2.0 with the image',
    );

    // CI builds a new image in dev; the chart stays: only the values file moves.
    await pushChange(
      sandbox,
      'shop-config',
      {
        'envs/values-dev.yaml': () => image('e4f5a6b').replace('$ENV', 'dev'),
      },
      'ci: e4f5a6b',
    );
    await laneWhen(
      'dev',
      e => e.desired?.image?.tag === 'e4f5a6b',
      "dev's new image",
    );
    const imagePreview = await promote(server, {
      from: 'dev',
      to: 'staging',
      dryRun: true,
    });
    // The chart staging runs, rendered with the new image.
    expect(imagePreview.body.renderedDiff).toContain(
      '+  image: "registry.example.test/shop:e4f5a6b"',
    );
    const imageOnly = await promote(server, { from: 'dev', to: 'staging' });
    expect(imageOnly.status).toBe(201);
    expect(imageOnly.body.moves).toEqual([
      expect.objectContaining({ what: 'image', to: 'e4f5a6b' }),
    ]);
    expect(await filesOfLastCommit()).toEqual(['envs/values-staging.yaml']);
  });
});
