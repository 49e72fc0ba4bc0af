import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeChart } from '../__testUtils__/charts';
import { getApplication } from '../__testUtils__/reconcileSandbox';
import { Sandbox, startSandbox } from '../sandbox';
import {
  argo,
  contractErrors,
  eventually,
  FAST_TIMING,
  pushChange,
} from '../testing/testSandbox';

// Real helm (package, push, repo index, template) and several syncs per case, on a
// loaded 2-core machine.
jest.setTimeout(180_000);

type Json = any;

describe('Applications of charts from chart repositories', () => {
  let sandbox: Sandbox;
  let dir: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandbox-charts-'));
    sandbox = await startSandbox({
      timing: FAST_TIMING,
      instances: [{ name: 'main', environments: ['dev'] }],
    });
  });
  afterAll(async () => {
    await sandbox?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const publish = async (repo: string, ...versions: string[]) => {
    for (const version of versions) {
      await sandbox.charts.publish(
        repo,
        await writeChart(path.join(dir, repo), version),
      );
    }
  };

  /** Creates `name` (manual unless the spec says otherwise) into the namespace `name`. */
  const create = (name: string, spec: Json, query = '') =>
    argo(sandbox, 'main', `/api/v1/applications${query}`, {
      method: 'POST',
      body: {
        metadata: { name },
        spec: {
          project: 'default',
          destination: {
            server: 'https://kubernetes.default.svc',
            namespace: name,
          },
          syncPolicy: { syncOptions: ['CreateNamespace=true'] },
          ...spec,
        },
      },
    });
  const application = (name: string, refresh = false) =>
    getApplication(sandbox, 'main', name, refresh);
  const post = (name: string, action: string, body: Json = {}) =>
    argo(sandbox, 'main', `/api/v1/applications/${name}/${action}`, {
      method: 'POST',
      body,
    });
  /** The app once its `count`th sync succeeded. */
  const synced = (name: string, count: number) =>
    eventually(async () => {
      const app = await application(name);
      const { operationState, history = [] } = app.status;
      return operationState?.phase === 'Succeeded' && history.length === count
        ? app
        : undefined;
    }, `sync ${count} of ${name}`);
  /** The data of the ConfigMap the chart deployed. */
  const deployed = async (name: string) => {
    const { status, body } = await argo(
      sandbox,
      'main',
      `/api/v1/applications/${name}/resource?kind=ConfigMap&resourceName=${name}-greeting&namespace=${name}&version=v1`,
    );
    expect(status).toBe(200);
    return JSON.parse(body.manifest).data;
  };

  it('deploys the newest version a constraint allows, and a newer one after a refresh', async () => {
    await publish('team', '1.0.0', '1.0.5', '2.0.0');
    const source = {
      repoURL: sandbox.charts.repoUrl('team'),
      chart: 'hello',
      targetRevision: '^1.0.0',
      helm: { valueFiles: ['values-prod.yaml'] },
    };
    expect((await create('hello-classic', { source })).status).toBe(200);
    const created = await application('hello-classic');
    expect(created.spec.source.targetRevision).toBe('^1.0.0');
    expect(created.status.sync).toMatchObject({
      status: 'OutOfSync',
      revision: '1.0.5',
    });

    expect((await post('hello-classic', 'sync')).status).toBe(200);
    const first = await synced('hello-classic', 1);
    expect(first.status.history[0]).toMatchObject({
      id: 0,
      revision: '1.0.5',
      source,
    });
    expect(first.status.operationState.syncResult.revision).toBe('1.0.5');
    expect(first.status.sync).toMatchObject({
      status: 'Synced',
      revision: '1.0.5',
    });
    expect(await deployed('hello-classic')).toEqual({
      chartVersion: '1.0.5',
      greeting: 'hello from prod',
    });

    const route =
      '/api/v1/applications/{name}/revisions/{revision}/chartdetails';
    const details = await argo(
      sandbox,
      'main',
      '/api/v1/applications/hello-classic/revisions/1.0.0/chartdetails',
    );
    expect(details).toEqual({
      status: 200,
      body: {
        description: 'a tiny chart',
        home: 'https://example.com/hello',
        maintainers: ['Platform Team <platform@example.com>'],
      },
    });
    expect(
      contractErrors(c => c.responseErrors(route, 'GET', 200, details.body)),
    ).toEqual([]);

    const metadata = await argo(
      sandbox,
      'main',
      '/api/v1/applications/hello-classic/revisions/1.0.0/metadata',
    );
    expect(metadata.status).toBe(400);

    await publish('team', '1.1.0');
    const refreshed = await application('hello-classic', true);
    expect(refreshed.status.sync).toMatchObject({
      status: 'OutOfSync',
      revision: '1.1.0',
    });

    // Turned automated: it syncs the new version itself.
    const { spec } = refreshed;
    const updated = await argo(
      sandbox,
      'main',
      '/api/v1/applications/hello-classic',
      {
        method: 'PUT',
        body: {
          metadata: { name: 'hello-classic' },
          spec: {
            ...spec,
            syncPolicy: { ...spec.syncPolicy, automated: {} },
          },
        },
      },
    );
    expect(updated.status).toBe(200);
    const second = await synced('hello-classic', 2);
    expect(second.status.history[1].revision).toBe('1.1.0');
    expect(second.status.operationState.operation.initiatedBy).toEqual({
      automated: true,
    });
    expect((await deployed('hello-classic')).chartVersion).toBe('1.1.0');
  });

  it('syncs to an earlier chart version and rolls back to a history entry', async () => {
    await publish('pinned', '1.0.0', '1.1.0');
    const source = {
      repoURL: sandbox.charts.repoUrl('pinned'),
      chart: 'hello',
      targetRevision: '^1.0.0',
    };
    expect((await create('hello-pinned', { source })).status).toBe(200);
    await post('hello-pinned', 'sync');
    expect((await synced('hello-pinned', 1)).status.history[0].revision).toBe(
      '1.1.0',
    );

    expect(
      (await post('hello-pinned', 'sync', { revision: '1.0.0' })).status,
    ).toBe(200);
    const older = await synced('hello-pinned', 2);
    expect(older.status.history[1].revision).toBe('1.0.0');
    expect(older.status.operationState.syncResult.revision).toBe('1.0.0');
    // The constraint still names 1.1.0.
    expect(older.status.sync).toMatchObject({
      status: 'OutOfSync',
      revision: '1.1.0',
    });
    expect((await deployed('hello-pinned')).chartVersion).toBe('1.0.0');

    const missing = await post('hello-pinned', 'sync', { revision: '9.9.9' });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain(
      'chart "hello" version "9.9.9" not found',
    );

    expect((await post('hello-pinned', 'rollback', { id: 0 })).status).toBe(
      200,
    );
    const rolledBack = await synced('hello-pinned', 3);
    expect(rolledBack.status.history[2].revision).toBe('1.1.0');
    expect(rolledBack.status.sync.status).toBe('Synced');
    expect((await deployed('hello-pinned')).chartVersion).toBe('1.1.0');
  });

  it('fails with Argo CD messages for a version or repository that is not there', async () => {
    await publish('strict', '1.0.0');
    const source = {
      repoURL: sandbox.charts.repoUrl('strict'),
      chart: 'hello',
      targetRevision: '1.2.3',
    };
    const refused = await create('hello-missing', { source });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe(
      `application spec for hello-missing is invalid: InvalidSpecError: Unable to generate manifests: chart "hello" version "1.2.3" not found in ${source.repoURL} repository`,
    );

    expect(
      (await create('hello-missing', { source }, '?validate=false')).status,
    ).toBe(200);
    const app = await application('hello-missing', true);
    expect(app.status.conditions).toEqual([
      expect.objectContaining({
        type: 'ComparisonError',
        message: `Failed to load target state: chart "hello" version "1.2.3" not found in ${source.repoURL} repository`,
      }),
    ]);

    const noMatch = await create('hello-nomatch', {
      source: { ...source, targetRevision: '>=2.0.0' },
    });
    expect(noMatch.body.message).toContain('constraint not found in index');
    const elsewhere = await create('hello-elsewhere', {
      source: { ...source, repoURL: 'https://charts.example.com/stable' },
    });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.message).toContain('repository not found');
  });

  it('deploys a chart helm pushed to the OCI registry', async () => {
    const pushed = await sandbox.registry.pushChart(
      await writeChart(path.join(dir, 'oci'), '1.0.0'),
    );
    expect(pushed).toMatchObject({
      name: 'hello',
      version: '1.0.0',
      repoURL: `${sandbox.registry.host}/charts`,
      digest: expect.stringMatching(/^sha256:/),
    });
    await sandbox.registry.pushChart(
      await writeChart(path.join(dir, 'oci'), '1.2.0+build.3'),
    );
    expect(sandbox.registry.resolve(`${pushed.repoURL}/hello:1.0.0`)).toEqual({
      digest: pushed.digest,
      platforms: [],
    });

    const source = {
      repoURL: pushed.repoURL,
      chart: 'hello',
      targetRevision: '>=1.1.0',
    };
    expect((await create('hello-oci', { source })).status).toBe(200);
    await post('hello-oci', 'sync');
    const app = await synced('hello-oci', 1);
    expect(app.status.history[0].revision).toBe('1.2.0+build.3');
    expect(await deployed('hello-oci')).toEqual({
      chartVersion: '1.2.0+build.3',
      greeting: 'hello from the chart',
    });

    const scheme = await create('hello-oci-scheme', {
      source: {
        ...source,
        repoURL: `oci://${pushed.repoURL}`,
        targetRevision: '1.0.0',
      },
    });
    expect(scheme.status).toBe(200);
    expect(scheme.body.status.sync.revision).toBe('1.0.0');
    const noMatch = await create('hello-oci-nomatch', {
      source: { ...source, targetRevision: '^2.0.0' },
    });
    expect(noMatch.body.message).toContain('constraint not found in 2 tags');
  });

  it('renders a chart with values from Git (multi-source), and again when they change', async () => {
    await publish('multi', '1.0.0');
    await sandbox.createRepository('hello-values');
    const first = await pushChange(
      sandbox,
      'hello-values',
      { 'env/values-dev.yaml': () => 'greeting: dev one\n' },
      'dev values',
    );
    const sources = [
      {
        repoURL: sandbox.charts.repoUrl('multi'),
        chart: 'hello',
        targetRevision: '1.0.0',
        helm: { valueFiles: ['$values/env/values-dev.yaml'] },
      },
      {
        repoURL: sandbox.repoUrl('hello-values'),
        targetRevision: 'main',
        ref: 'values',
      },
    ];
    const created = await create('hello-multi', {
      sources,
      syncPolicy: {
        automated: {},
        syncOptions: ['CreateNamespace=true'],
      },
    });
    expect(created.status).toBe(200);
    const app = await synced('hello-multi', 1);
    expect(app.status.sync.revisions).toEqual(['1.0.0', first]);
    expect(app.status.history[0].revisions).toEqual(['1.0.0', first]);
    expect(app.status.operationState.syncResult.revisions).toEqual([
      '1.0.0',
      first,
    ]);
    expect((await deployed('hello-multi')).greeting).toBe('dev one');

    const second = await pushChange(
      sandbox,
      'hello-values',
      { 'env/values-dev.yaml': () => 'greeting: dev two\n' },
      'new dev values',
    );
    await application('hello-multi', true);
    const again = await synced('hello-multi', 2);
    expect(again.status.history[1].revisions).toEqual(['1.0.0', second]);
    expect(await deployed('hello-multi')).toEqual({
      chartVersion: '1.0.0',
      greeting: 'dev two',
    });
  });

  it('passes helm values and parameters to a chart source', async () => {
    await publish('inline', '1.0.0');
    const source = {
      repoURL: sandbox.charts.repoUrl('inline'),
      chart: 'hello',
      targetRevision: '1.0.0',
      helm: {
        valuesObject: { greeting: 'from valuesObject' },
        parameters: [{ name: 'greeting', value: 'from a parameter' }],
      },
    };
    expect((await create('hello-inline', { source })).status).toBe(200);
    await post('hello-inline', 'sync');
    await synced('hello-inline', 1);
    expect((await deployed('hello-inline')).greeting).toBe('from a parameter');
  });
});
