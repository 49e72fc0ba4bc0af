import { ArgoApplication } from '@gitops-backstage/plugin-gitops-node';
import { parentOf, versionKeyIn } from './applicationManifests';

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
