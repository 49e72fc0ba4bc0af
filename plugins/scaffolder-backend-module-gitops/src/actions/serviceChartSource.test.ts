import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { applicationOf } from './argoCdManifests';
import { createServicePlanAction } from './servicePlan';

const action = createServicePlanAction({ config: new ConfigReader({}) });

async function plan(input: Record<string, unknown>) {
  const ctx = createMockActionContext({
    input: {
      name: 'shop',
      repoHost: 'git',
      gitBaseUrl: 'http://127.0.0.1:7090/git',
      environments: [{ name: 'dev', instance: 'main' }],
      ...input,
    } as any,
  });
  await action.handler(ctx);
  return Object.fromEntries(
    (ctx.output as jest.Mock).mock.calls.map(([k, v]) => [k, v]),
  );
}

describe("gitops:service:plan: the chart's source", () => {
  it('git by default: the chart in the config repository, as before', async () => {
    expect((await plan({})).chart).toEqual({
      source: 'git',
      name: 'shop',
      repository: '',
      path: 'config/chart',
      version: '',
      valuesFilePattern: 'values-{environment}.yaml',
    });
  });

  it('a chart repository: the chart in the app repository, starting at 0.1.0, values from the config repository', async () => {
    const out = await plan({
      chartSource: 'chartRepository',
      chartRepository: 'http://127.0.0.1:7090/charts/dev/',
    });
    expect(out.chart).toEqual({
      source: 'chartRepository',
      name: 'shop',
      repository: 'http://127.0.0.1:7090/charts/dev',
      path: 'app/chart',
      version: '0.1.0',
      valuesFilePattern: '../../config/chart/values-{environment}.yaml',
    });
  });

  it.each([
    [
      {},
      'chartRepository (the URL of the development chart repository) is required',
    ],
    [
      { chartRepository: 'oci://registry.example.com/charts' },
      'chartRepository must be http(s)',
    ],
    [
      { chartRepository: 'https://u:p@charts.example.com' },
      'must not carry credentials',
    ],
    [
      { chartRepository: 'https://charts.example.com/dev?x=1' },
      'must not have a query or fragment',
    ],
    [
      {
        chartRepository: 'https://charts.example.com/dev',
        argocdLayout: 'applicationSet',
      },
      'needs argocdLayout applications',
    ],
  ])('refuses %j with chartSource chartRepository', async (input, message) => {
    await expect(
      plan({ chartSource: 'chartRepository', ...input }),
    ).rejects.toThrow(message);
  });
});

describe('argocd:application:create: a chart from a chart repository', () => {
  const input = (chart: Record<string, unknown>) => ({
    name: 'shop-dev',
    entityRef: 'component:default/shop',
    destination: { namespace: 'shop-dev' },
    sources: [
      {
        repoURL: 'http://127.0.0.1:7090/charts/dev',
        chart: 'shop',
        targetRevision: '0.1.1-20300102030405.gabc1234',
        helm: { valueFiles: ['$values/chart/values-dev.yaml'] },
        ...chart,
      },
      {
        repoURL: 'http://127.0.0.1:7090/git/shop-config.git',
        targetRevision: 'main',
        ref: 'values',
      },
    ],
  });

  it('keeps chart and its version (or a semver range)', () => {
    for (const targetRevision of [
      '0.1.0',
      '0.1.1-20300102030405.gabc1234',
      '>=0.1.1-0 <1.0.0',
      '^1.2',
    ]) {
      const app = applicationOf(
        input({ targetRevision }) as any,
        'component:default/shop',
      );
      expect((app.spec as any).sources[0]).toMatchObject({
        chart: 'shop',
        targetRevision,
      });
    }
  });

  it.each([
    [{ chart: '../shop' }, 'sources[0].chart "../shop" is not a chart name'],
    [{ chart: '-shop' }, 'is not a chart name'],
    [{ path: 'chart' }, 'gives both chart and path'],
    [{ targetRevision: '--set=x' }, 'is not a chart version or semver range'],
    [{ targetRevision: '1.0.0;rm' }, 'is not a chart version or semver range'],
  ])('refuses %j', (chart, message) => {
    expect(() =>
      applicationOf(input(chart) as any, 'component:default/shop'),
    ).toThrow(message);
  });
});
