import { mockServices } from '@backstage/backend-test-utils';
import { ArgoApplication } from '@gitops-backstage/plugin-gitops-node';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import { ConfigRepoIndex } from '../ConfigRepo/configRepoIndex';
import { DesiredStateReader, driftOf } from '../DeploymentStatus/desiredState';
import { UpstreamCache } from '../UpstreamCache';
import { ChartVersionReader } from './ChartVersionReader';

const CHARTS = 'https://charts.example.com/stable';
const VALUES = 'https://git.example.com/shop-config.git';

/** An Application deploying `shop` from the chart repository, values from Git. */
function chartApp(options: {
  targetRevision: string;
  synced?: string;
  deployed?: string[];
  multiSource?: boolean;
}): ArgoApplication {
  const chart = {
    repoURL: CHARTS,
    chart: 'shop',
    targetRevision: options.targetRevision,
    ...(options.multiSource && {
      helm: { valueFiles: ['$values/envs/values-dev.yaml'] },
    }),
  };
  const history = (options.deployed ?? []).map((version, i) => ({
    id: i,
    deployedAt: `2026-11-0${i + 1}T00:00:00Z`,
    ...(options.multiSource
      ? { revisions: [version, 'a'.repeat(40)] }
      : { revision: version }),
  }));
  return {
    metadata: { name: 'shop-dev', namespace: 'argocd' },
    spec: {
      project: 'default',
      destination: { namespace: 'shop' },
      ...(options.multiSource
        ? {
            sources: [
              chart,
              { repoURL: VALUES, targetRevision: 'main', ref: 'values' },
            ],
          }
        : { source: chart }),
    },
    status: {
      sync: options.multiSource
        ? { status: 'Synced', revisions: [options.synced, 'a'.repeat(40)] }
        : { status: 'Synced', revision: options.synced },
      history,
    },
  } as unknown as ArgoApplication;
}

function reader(versions: () => Promise<string[]>) {
  const charts = new ChartVersionReader({
    repositories: [{ url: CHARTS, enableOCI: false, insecure: false }],
    cache: new UpstreamCache(mockServices.cache.mock()),
    cacheSeconds: 10,
    timeoutMs: 1000,
  });
  jest.spyOn(charts, 'versions').mockImplementation(async () => {
    try {
      return { value: await versions() };
    } catch (error) {
      return { error: { code: 'unreachable', message: String(error) } };
    }
  });
  return charts;
}

describe('ChartVersionReader', () => {
  it('puts wanted, resolved, running and newest side by side, newest from releases only', async () => {
    const charts = reader(async () => [
      '1.0.0',
      '1.1.0',
      '1.2.0',
      '2.0.0-rc.1',
    ]);
    const app = chartApp({
      targetRevision: '^1.0.0',
      synced: '1.2.0',
      deployed: ['1.0.0', '1.1.0'],
    });
    const versions = await charts.read(app);
    expect(versions).toEqual({
      repoURL: CHARTS,
      chart: 'shop',
      wanted: '^1.0.0',
      resolved: '1.2.0',
      running: '1.1.0',
      newest: '1.2.0',
    });
    // Git resolves to 1.2.0 while 1.1.0 runs: drift, whatever the image says.
    expect(
      driftOf({ repoURL: CHARTS, targetRevision: '^1.0.0' }, [], versions),
    ).toBe(true);
  });

  it('reads the chart position of a multi-source Application, and no drift when running what Git resolves to', async () => {
    const charts = reader(async () => ['1.0.0']);
    const versions = await charts.read(
      chartApp({
        targetRevision: '1.0.0',
        synced: '1.0.0',
        deployed: ['1.0.0'],
        multiSource: true,
      }),
    );
    expect(versions).toMatchObject({ resolved: '1.0.0', running: '1.0.0' });
    expect(
      driftOf({ repoURL: CHARTS, targetRevision: '1.0.0' }, [], versions),
    ).toBe(false);
  });

  it('keeps what Argo CD says when the repository cannot be read, with the reason', async () => {
    const charts = reader(async () => {
      throw new Error('connection refused');
    });
    const versions = await charts.read(
      chartApp({
        targetRevision: '1.0.0',
        synced: '1.0.0',
        deployed: ['1.0.0'],
      }),
    );
    expect(versions).toMatchObject({
      wanted: '1.0.0',
      running: '1.0.0',
      error: { code: 'unreachable' },
    });
    expect(versions?.newest).toBeUndefined();
  });

  it('never contacts a repository that is not configured', async () => {
    const charts = new ChartVersionReader({
      repositories: [],
      cache: new UpstreamCache(mockServices.cache.mock()),
      cacheSeconds: 10,
      timeoutMs: 1000,
    });
    const fetchSpy = jest.spyOn(global, 'fetch');
    const versions = await charts.read(chartApp({ targetRevision: '1.0.0' }));
    expect(versions?.error).toEqual({
      code: 'not-found',
      message: `${CHARTS} is not among gitops.chartRepositories: its versions are not read`,
    });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('is silent for an Application whose chart is in Git', async () => {
    const charts = reader(async () => []);
    const app = {
      metadata: { name: 'a', namespace: 'argocd' },
      spec: { source: { repoURL: VALUES, path: 'chart' } },
    } as unknown as ArgoApplication;
    expect(await charts.read(app)).toBeUndefined();
  });
});

describe('DesiredStateReader: a chart from a chart repository', () => {
  const desiredReader = (files: Record<string, string>) =>
    new DesiredStateReader(
      new ConfigRepoIndex(
        {
          readFiles: async () => ({ commit: 'c'.repeat(40), files }),
        } as unknown as GitConfigRepoReader,
        { maxAgeMs: 60_000 },
      ),
      {
        repository: 'image.repository',
        tag: 'image.tag',
        digest: 'image.digest',
      },
    );

  it('reads the image from the `$values` file in Git when it sets one', async () => {
    const [state] = await desiredReader({
      'envs/values-dev.yaml':
        'image:\n  repository: registry.example.com/shop\n  tag: abc1234\n',
    }).readAll([chartApp({ targetRevision: '1.0.0', multiSource: true })]);
    expect(state).toEqual({
      repoURL: CHARTS,
      targetRevision: '1.0.0',
      valuesFile: 'envs/values-dev.yaml',
      // The $values source's repository and branch: where a promotion writes.
      valuesRepoURL: VALUES,
      valuesTargetRevision: 'main',
      image: { repository: 'registry.example.com/shop', tag: 'abc1234' },
    });
  });

  it('leaves the image to the chart when Git sets none: no error', async () => {
    const [single] = await desiredReader({}).readAll([
      chartApp({ targetRevision: '1.0.0' }),
    ]);
    expect(single).toEqual({ repoURL: CHARTS, targetRevision: '1.0.0' });
    const [multi] = await desiredReader({
      'envs/values-dev.yaml': 'replicaCount: 2\n',
    }).readAll([chartApp({ targetRevision: '1.0.0', multiSource: true })]);
    expect(multi).toEqual({ repoURL: CHARTS, targetRevision: '1.0.0' });
  });
});
