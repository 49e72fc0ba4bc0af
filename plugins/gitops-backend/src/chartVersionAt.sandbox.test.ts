import { mockServices } from '@backstage/backend-test-utils';
import {
  EntityDeploymentStatus,
  PromotionRecord,
} from '@gitops-backstage/plugin-gitops-common';
import {
  createAppOfApps,
  eventually,
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

// Real Git, helm and the sandbox on a loaded 2-core machine.
jest.setTimeout(240_000);

// The cafe's Applications are rendered by a Helm chart in Git (app of apps as a chart,
// as the argocd-apps chart does): each environment's chart version is a key of its
// values, which is where promotions write, as the entity's annotation says.
const selector = { 'argocd/app-selector': 'app.kubernetes.io/name=cafe' };
const cafe = (chartVersionAt: string) =>
  component('cafe', { ...selector, 'gitops/chart-version-at': chartVersionAt });
const entities = [cafe('values:environments.{environment}.chartVersion')];

async function publishCafe(sandbox: Sandbox, dir: string, version: string) {
  const chart = path.join(dir, `cafe-${version}`);
  await fs.mkdir(path.join(chart, 'templates'), { recursive: true });
  await fs.writeFile(
    path.join(chart, 'Chart.yaml'),
    `apiVersion: v2\nname: cafe\nversion: ${version}\n`,
  );
  await fs.writeFile(
    path.join(chart, 'templates', 'configmap.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-menu\ndata:\n  menu: "version ${version}"\n`,
  );
  await sandbox.charts.publish('stable', chart);
}

const APPLICATIONS = `{{- range $env, $cfg := .Values.environments }}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: cafe-{{ $env }}
  namespace: argocd
  labels:
    app.kubernetes.io/name: cafe
    gitops/environment: {{ $env }}
  annotations:
    gitops.backstage.io/entity-ref: component:default/cafe
spec:
  project: default
  source:
    repoURL: {{ $.Values.chartRepository }}
    chart: cafe
    targetRevision: {{ $cfg.chartVersion | quote }}
  destination:
    server: https://kubernetes.default.svc
    namespace: cafe-{{ $env }}
  syncPolicy:
    automated: {}
    syncOptions: [CreateNamespace=true]
{{- end }}
`;

describe('chart versions pinned in the values of the Helm chart rendering the Applications (gitops/chart-version-at)', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;
  let denied: any;
  let auditor: ReturnType<typeof mockServices.auditor.mock>;
  let close = () => {};
  let config: Record<string, unknown>;

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-chart-at-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    const sources = path.join(sandboxDir, 'chart-sources');
    await publishCafe(sandbox, sources, '1.0.0');
    await publishCafe(sandbox, sources, '1.1.0');
    await sandbox.createRepository('cafe-config');
    await pushChange(
      sandbox,
      'cafe-config',
      {
        'apps/Chart.yaml': () =>
          'apiVersion: v2\nname: cafe-apps\nversion: 0.1.0\n',
        'apps/values.yaml': () =>
          `chartRepository: ${sandbox.charts.repoUrl('stable')}
# The chart version each environment runs: promotions write them.
environments:
  dev:
    chartVersion: 1.1.0
    replicas: 1
  staging:
    chartVersion: 1.0.0 # promoted from dev
    replicas: 2
`,
        'apps/templates/applications.yaml': () => APPLICATIONS,
      },
      'the cafe, its Applications rendered by a chart',
    );
    await createAppOfApps(sandbox, 'cafe-apps', 'cafe-config', 'apps');
    config = sandboxBackendConfig(sandbox, {
      chartRepositories: [{ url: sandbox.charts.repoUrl('stable') }],
    });
    ({ server, denied, auditor, close } = await allowedAndDeniedBackends(
      entities,
      config,
    ));
    await settled(sandbox);
  });
  afterAll(async () => {
    close();
    await sandbox?.stop();
    await fs.rm(sandboxDir, { recursive: true, force: true });
  });

  const status = async (backend = server) => {
    const res = await request(backend).get(
      '/api/gitops/entities/component/default/cafe/status',
    );
    expect(res.status).toBe(200);
    expect(specErrors('EntityDeploymentStatus', res.body)).toEqual([]);
    return res.body as EntityDeploymentStatus;
  };
  const lane = async (environment: string, backend = server) =>
    (await status(backend)).environments.find(
      e => e.environment === environment,
    );
  const promote = (to: any, body: object) =>
    request(to)
      .post('/api/gitops/entities/component/default/cafe/promotions')
      .send(body);
  const valuesFile = () =>
    gitIn(sandboxDir, 'cafe-config', 'show', 'main:apps/values.yaml');

  it('names the values key pinning each environment’s chart version', async () => {
    const staging = await eventually(async () => {
      const env = await lane('staging');
      return env?.chart?.running === '1.0.0' ? env : undefined;
    }, 'staging to run chart 1.0.0');
    expect(staging.chart).toMatchObject({
      chart: 'cafe',
      wanted: '1.0.0',
      newest: '1.1.0',
      deployedBy: { name: 'cafe-apps' },
      pinnedAt: { kind: 'values', key: 'environments.staging.chartVersion' },
    });
  });

  it('previews the promotion as an edit of that key in the values file', async () => {
    const res = await promote(server, {
      from: 'dev',
      to: 'staging',
      dryRun: true,
    });
    expect(res.status).toBe(200);
    expect(res.body.moves).toEqual([
      {
        what: 'chart',
        from: '1.0.0',
        to: '1.1.0',
        file: 'apps/values.yaml',
        key: 'environments.staging.chartVersion',
      },
    ]);
    expect(res.body.diff).toContain(
      '-    chartVersion: 1.0.0 # promoted from dev',
    );
    expect(res.body.diff).toContain(
      '+    chartVersion: 1.1.0 # promoted from dev',
    );
  });

  it('refuses a malformed annotation (400) and a key that does not pin the version (409), writing nothing', async () => {
    const before = await valuesFile();
    const malformed = await allowedAndDeniedBackends(
      [cafe('values:environments.{environment}..chartVersion')],
      config,
    );
    const wrongKey = await allowedAndDeniedBackends(
      [cafe('values:environments.{environment}.replicas')],
      config,
    );
    try {
      // Named where the chart is shown; the rest still is.
      expect((await lane('staging', malformed.server))?.chart).toMatchObject({
        running: '1.0.0',
        error: {
          code: 'invalid-annotation',
          message: expect.stringContaining('gitops/chart-version-at'),
        },
      });
      const refused = await promote(malformed.server, {
        from: 'dev',
        to: 'staging',
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toContain('gitops/chart-version-at');
      const notPinning = await promote(wrongKey.server, {
        from: 'dev',
        to: 'staging',
      });
      expect(notPinning.status).toBe(409);
      expect(notPinning.body.error.message).toBe(
        'environments.staging.replicas in apps/values.yaml of cafe-apps is 2, but the Application asks for 1.0.0: that key does not pin its chart version (check gitops/chart-version-at)',
      );
    } finally {
      malformed.close();
      wrongKey.close();
    }
    const denial = await promote(denied, { from: 'dev', to: 'staging' });
    expect(denial.status).toBe(403);
    expect(await valuesFile()).toBe(before);
  });

  it('promotes: one commit sets the key, the chart renders staging’s Application with it, the record says deployed', async () => {
    const res = await promote(server, { from: 'dev', to: 'staging' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ version: '1.1.0', status: 'committed' });
    expect(await valuesFile()).toContain(
      '    chartVersion: 1.1.0 # promoted from dev',
    );
    expect(auditor.createEvent).toHaveBeenCalledWith(
      expect.objectContaining({
        eventId: 'promotion',
        meta: expect.objectContaining({ from: 'dev', to: 'staging' }),
      }),
    );
    await eventually(async () => {
      const env = await lane('staging');
      return env?.chart?.running === '1.1.0' ? env : undefined;
    }, 'staging to run chart 1.1.0');
    await eventually(async () => {
      const { body } = await request(server).get(
        '/api/gitops/entities/component/default/cafe/promotions',
      );
      const [latest] = body.items as PromotionRecord[];
      return latest?.status === 'deployed' ? latest : undefined;
    }, 'the promotion to be recorded as deployed');
  });
});
