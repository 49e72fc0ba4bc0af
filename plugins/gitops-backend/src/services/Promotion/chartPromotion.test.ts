import { ConfigRepoWriter } from '@gitops-backstage/plugin-gitops-node';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import {
  ApplicationManifests,
  versionKeyIn,
} from '../ChartRepository/applicationManifests';
import { ChartVersionReader } from '../ChartRepository/ChartVersionReader';
import { combinePlans, planChartPromotion } from './chartPromotion';
import { Plan } from './plan';

const CHARTS = 'https://charts.example.com/stable';

const env = (
  environment: string,
  chart: Partial<NonNullable<EnvironmentStatus['chart']>> | undefined,
): EnvironmentStatus => ({
  environment,
  instance: 'main',
  application: {
    name: `shop-${environment}`,
    namespace: 'argocd',
    project: 'default',
  },
  live: {
    syncStatus: 'Synced',
    health: { status: 'Healthy' },
    images: [],
    automatedSync: true,
    history: [],
  },
  writable: true,
  ...(chart && {
    chart: {
      repoURL: CHARTS,
      chart: 'shop',
      wanted: '1.0.0',
      deployedBy: { name: 'shop-apps' },
      ...chart,
    },
  }),
});

const STAGING_FILE = `# staging pins its chart version
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop-staging
spec:
  source:
    repoURL: ${CHARTS}
    chart: shop
    targetRevision: 1.0.0 # promoted from dev
`;

function plan(options: {
  source: EnvironmentStatus;
  target: EnvironmentStatus;
  offered: string[];
}) {
  const charts = {
    versions: async () => ({ value: options.offered }),
  } as unknown as ChartVersionReader;
  const locate = jest.fn(async () => ({
    repoURL: 'https://git.example.com/shop-config.git',
    branch: 'main',
    file: 'argocd/staging.yaml',
    versionKey: 'spec.source.targetRevision',
    stillPins: (text: string) =>
      versionKeyIn(
        text,
        { name: 'shop-staging', namespace: 'argocd' },
        { repoURL: CHARTS, chart: 'shop' },
      ) === 'spec.source.targetRevision',
  }));
  const writer = { id: 'git' } as ConfigRepoWriter;
  return {
    locate,
    planned: planChartPromotion({
      entity: {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: { name: 'shop' },
      },
      source: options.source,
      target: options.target,
      method: 'commit',
      gates: [],
      actor: 'user:default/ada',
      charts,
      manifests: { locate } as unknown as ApplicationManifests,
      writerFor: () => writer,
    }),
  };
}

describe('planChartPromotion', () => {
  it("pins the version dev resolves to in staging's Application, keeping the file's comments", async () => {
    const { planned } = plan({
      source: env('dev', { wanted: '^1.0.0', resolved: '1.1.0' }),
      target: env('staging', { wanted: '1.0.0', running: '1.0.0' }),
      offered: ['1.0.0', '1.1.0'],
    });
    const p = await planned;
    expect(p).toMatchObject({
      from: 'dev',
      to: 'staging',
      version: '1.1.0',
      previous: '1.0.0',
      valueKey: 'spec.source.targetRevision',
    });
    expect(p.change.file).toBe('argocd/staging.yaml');
    expect(p.change.edit(STAGING_FILE)).toBe(
      STAGING_FILE.replace(
        'targetRevision: 1.0.0 # promoted',
        'targetRevision: 1.1.0 # promoted',
      ),
    );
    expect(p.change.message).toMatch(
      /^Promote shop chart shop 1.1.0 from dev to staging\n\nstaging ran 1.0.0\. Requested by user:default\/ada/,
    );
    // The file changed meanwhile: it no longer holds the Application; nothing is written.
    expect(() =>
      p.change.edit(STAGING_FILE.replace('name: shop-staging', 'name: other')),
    ).toThrow(/no longer pins the chart version of Application shop-staging/);
  });

  it('refuses a version the chart repository does not offer, before looking for any file', async () => {
    const { planned, locate } = plan({
      source: env('dev', { wanted: '1.2.0', resolved: '1.2.0' }),
      target: env('staging', {}),
      offered: ['1.0.0', '1.1.0'],
    });
    await expect(planned).rejects.toThrow(
      `${CHARTS} has no shop 1.2.0; nothing was written`,
    );
    expect(locate).not.toHaveBeenCalled();
  });

  it('refuses environments that deploy differently, and versions that are no semantic version', async () => {
    await expect(
      plan({
        source: env('dev', { resolved: '1.1.0' }),
        target: env('staging', undefined),
        offered: ['1.1.0'],
      }).planned,
    ).rejects.toThrow(/staging deploys a chart from Git/);
    await expect(
      plan({
        source: env('dev', { resolved: '1.1.0' }),
        target: env('staging', { chart: 'cart' }),
        offered: ['1.1.0'],
      }).planned,
    ).rejects.toThrow(/there is no version to carry over/);
    await expect(
      plan({
        source: env('dev', { resolved: '1.1.0\nspec: evil' }),
        target: env('staging', {}),
        offered: ['1.1.0\nspec: evil'],
      }).planned,
    ).rejects.toThrow(/is not a semantic version/);
  });
});

describe('combinePlans', () => {
  const planIn = (repoURL: string, file: string, what: 'chart' | 'image') =>
    ({
      kind: 'promotion',
      from: 'dev',
      to: 'staging',
      version: what === 'chart' ? '1.1.0' : 'abc1234',
      moves: [{ what, to: 'x', file, key: 'k' }],
      change: { repoURL, branch: 'main', file, edit: (t: string) => t },
    } as unknown as Plan);
  const entity = { metadata: { name: 'shop' } } as any;

  it('edits both files in one commit of one repository, however its URL is written', () => {
    const combined = combinePlans(
      planIn(
        'https://git.example.com/shop-config.git',
        'argocd/staging.yaml',
        'chart',
      ),
      planIn(
        'https://git.example.com/shop-config/',
        'envs/staging.yaml',
        'image',
      ),
      { entity, actor: 'user:default/ada' },
    );
    expect(combined.change.file).toBe('argocd/staging.yaml');
    expect(combined.change.alsoEdit?.map(e => e.file)).toEqual([
      'envs/staging.yaml',
    ]);
    expect(combined.moves.map(m => m.what)).toEqual(['chart', 'image']);
  });

  it('refuses (409) files in two repositories: no one commit holds both', () => {
    expect(() =>
      combinePlans(
        planIn(
          'https://git.example.com/shop-config.git',
          'argocd/staging.yaml',
          'chart',
        ),
        planIn(
          'https://git.example.com/shop-values.git',
          'envs/staging.yaml',
          'image',
        ),
        { entity, actor: 'user:default/ada' },
      ),
    ).toThrow('one commit cannot move both');
  });
});
