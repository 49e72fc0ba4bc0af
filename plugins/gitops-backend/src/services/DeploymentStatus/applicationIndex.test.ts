import { ListedApplication } from '../applicationSchema';
import { ApplicationIndex } from './applicationIndex';

const app = (name: string, namespace: string) =>
  ({
    metadata: { name, namespace, labels: { 'gitops/service': 'shop' } },
    spec: { project: 'default' },
  } as unknown as ListedApplication);

const namespaces = (apps: ListedApplication[]) =>
  apps.map(a => a.metadata.namespace).sort();

describe('ApplicationIndex', () => {
  // Another team's Application may carry the same name in its own namespace.
  const apps = [app('shop-prod', 'argocd'), app('shop-prod', 'team-b')];

  it('finds a name without app namespace only where the source looks names up', () => {
    const index = new ApplicationIndex(apps, 'argocd');
    expect(
      namespaces(index.find({ kind: 'names', names: ['shop-prod'] })),
    ).toEqual(['argocd']);
    expect(
      namespaces(
        index.find({
          kind: 'names',
          names: ['shop-prod'],
          appNamespace: 'team-b',
        }),
      ),
    ).toEqual(['team-b']);
  });

  it('finds a name in every namespace when the source does not say where it looks', () => {
    const index = new ApplicationIndex(apps);
    expect(
      namespaces(index.find({ kind: 'names', names: ['shop-prod'] })),
    ).toEqual(['argocd', 'team-b']);
  });

  it('finds by selector in every namespace unless one is named', () => {
    const index = new ApplicationIndex(apps, 'argocd');
    const selector = {
      kind: 'selector' as const,
      selector: 'gitops/service=shop',
      projects: [],
    };
    expect(namespaces(index.find(selector))).toEqual(['argocd', 'team-b']);
    expect(
      namespaces(index.find({ ...selector, appNamespace: 'team-b' })),
    ).toEqual(['team-b']);
  });
});
