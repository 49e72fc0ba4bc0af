import {
  ArgoApplication,
  GitopsLiveStateSource,
} from '@gitops-backstage/plugin-gitops-node';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import {
  ApplicationManifests,
  parentOf,
  versionKeyIn,
} from './applicationManifests';

const app = (metadata: Partial<ArgoApplication['metadata']>) =>
  ({ metadata: { name: 'shop-dev', ...metadata } } as ArgoApplication);

describe('parentOf', () => {
  it("reads Argo CD 3's tracking annotation, and Argo CD 2's instance label", () => {
    expect(
      parentOf(
        app({
          annotations: {
            'argocd.argoproj.io/tracking-id':
              'shop-apps:argoproj.io/Application:argocd/shop-dev',
          },
        }),
      ),
    ).toEqual({ name: 'shop-apps' });
    expect(
      parentOf(
        app({
          annotations: {
            'argocd.argoproj.io/tracking-id':
              'team-a_shop-apps:argoproj.io/Application:team-a/shop-dev',
          },
        }),
      ),
    ).toEqual({ name: 'shop-apps', namespace: 'team-a' });
    expect(
      parentOf(app({ labels: { 'app.kubernetes.io/instance': 'shop-apps' } })),
    ).toEqual({ name: 'shop-apps' });
    expect(parentOf(app({}))).toBeUndefined();
  });
});

describe('versionKeyIn', () => {
  const application = { name: 'shop-dev', namespace: 'argocd' };
  const chart = { repoURL: 'https://charts.example.com', chart: 'shop' };
  const manifest = (spec: string, metadata = 'name: shop-dev') =>
    `apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  ${metadata}\nspec:\n${spec}`;

  it('finds the chart source of this Application, single or among sources', () => {
    expect(
      versionKeyIn(
        manifest(
          '  source:\n    repoURL: https://charts.example.com\n    chart: shop\n    targetRevision: 1.0.0\n',
        ),
        application,
        chart,
      ),
    ).toBe('spec.source.targetRevision');
    expect(
      versionKeyIn(
        manifest(
          '  sources:\n    - repoURL: https://git.example.com/c.git\n      ref: values\n    - repoURL: https://charts.example.com\n      chart: shop\n      targetRevision: 1.0.0\n',
        ),
        application,
        chart,
      ),
    ).toBe('spec.sources.1.targetRevision');
  });

  it('ignores other Applications, other charts, several documents and broken YAML', () => {
    const source =
      '  source:\n    repoURL: https://charts.example.com\n    chart: shop\n';
    expect(
      versionKeyIn(manifest(source, 'name: other'), application, chart),
    ).toBeUndefined();
    expect(
      versionKeyIn(
        manifest(source, 'name: shop-dev\n  namespace: team-a'),
        application,
        chart,
      ),
    ).toBeUndefined();
    expect(
      versionKeyIn(manifest(source), application, { ...chart, chart: 'cart' }),
    ).toBeUndefined();
    expect(
      versionKeyIn(
        `${manifest(source)}---\n${manifest(source)}`,
        application,
        chart,
      ),
    ).toBeUndefined();
    expect(versionKeyIn('spec: [unclosed', application, chart)).toBeUndefined();
  });
});

describe('ApplicationManifests.locate with gitops/chart-version-at values:<key>', () => {
  const deployer = {
    metadata: { name: 'shop-apps', namespace: 'argocd' },
    spec: {
      source: {
        repoURL: 'https://git.example.com/apps.git',
        targetRevision: 'main',
        path: 'apps',
        helm: { valueFiles: ['values-prod.yaml', 'values-override.yaml'] },
      },
    },
  } as unknown as ArgoApplication;
  const locate = (files: Record<string, string>, wanted = '1.2.0') =>
    new ApplicationManifests({
      sources: () =>
        [
          { id: 'main', listApplications: async () => [deployer] },
        ] as unknown as GitopsLiveStateSource[],
      reader: {
        readFiles: async (_: string, __: string, paths: string[]) => ({
          commit: 'c'.repeat(40),
          files: Object.fromEntries(paths.map(p => [p, files[p]])),
        }),
      } as unknown as GitConfigRepoReader,
    }).locate({
      instance: 'main',
      application: { name: 'shop-prod', namespace: 'argocd' },
      parent: { name: 'shop-apps' },
      chart: { repoURL: 'https://charts.example.com', chart: 'shop', wanted },
      location: { kind: 'values', key: 'shop.version' },
    });

  it('picks the last values file setting the key, in Helm order', async () => {
    const found = await locate({
      'apps/values.yaml': 'shop:\n  version: 1.0.0\n',
      'apps/values-prod.yaml': 'shop:\n  version: 1.2.0 # prod\n',
      'apps/values-override.yaml': 'other: 1\n',
    });
    expect(found).toMatchObject({
      repoURL: 'https://git.example.com/apps.git',
      branch: 'main',
      file: 'apps/values-prod.yaml',
      versionKey: 'shop.version',
    });
    expect(found.stillPins('shop:\n  version: 1.2.0\n')).toBe(true);
    expect(found.stillPins('shop: {}\n')).toBe(false);
    expect(found.stillPins('shop: [\n')).toBe(false);
  });

  it('refuses a key no file sets, and one not holding the version asked for', async () => {
    await expect(locate({ 'apps/values.yaml': 'a: 1\n' })).rejects.toThrow(
      'No values file of shop-apps (apps/values.yaml, apps/values-prod.yaml, apps/values-override.yaml in https://git.example.com/apps.git) sets shop.version',
    );
    await expect(
      locate({ 'apps/values.yaml': 'shop:\n  version: 1.0.0\n' }),
    ).rejects.toThrow(
      'shop.version in apps/values.yaml of shop-apps is 1.0.0, but the Application asks for 1.2.0',
    );
  });
});
