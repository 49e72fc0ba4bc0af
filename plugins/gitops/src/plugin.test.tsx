import { Entity } from '@backstage/catalog-model';
import {
  coreExtensionData,
  type FrontendPlugin,
} from '@backstage/frontend-plugin-api';
import { createExtensionTester } from '@backstage/frontend-test-utils';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import plugin from './index';
import {
  entityDeploymentsCard,
  entityDeploymentsContent,
  entityDoraCard,
  fleetPage,
} from './plugin';

function entity(kind: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: { name: 'service-a' },
  };
}

describe('gitops frontend plugin', () => {
  it('is the default export, with the deployments entity content', () => {
    expect((plugin as FrontendPlugin).pluginId).toBe('gitops');
    const extension = plugin.getExtension('entity-content:gitops/deployments');
    expect(extension).toMatchObject({
      kind: 'entity-content',
      namespace: 'gitops',
      name: 'deployments',
    });
  });

  it('mounts the tab at /deployments on every component', () => {
    const tester = createExtensionTester(entityDeploymentsContent);

    expect(tester.get(coreExtensionData.routePath)).toBe('/deployments');
    expect(tester.get(EntityContentBlueprint.dataRefs.title)).toBe(
      'Deployments',
    );
    const filter = tester.get(EntityContentBlueprint.dataRefs.filterFunction)!;
    expect(filter(entity('Component'))).toBe(true);
    expect(filter(entity('API'))).toBe(false);
  });

  it('has the API, the overview card for annotated entities and the fleet page in the nav', () => {
    for (const id of [
      'api:gitops',
      'entity-card:gitops/deployments',
      'entity-card:gitops/dora',
      'page:gitops',
    ] as const) {
      expect(plugin.getExtension(id)).toBeDefined();
    }
    const page = createExtensionTester(fleetPage);
    expect(page.get(coreExtensionData.routePath)).toBe('/gitops');
    expect(page.get(coreExtensionData.title)).toBe('GitOps');
    const card = createExtensionTester(entityDeploymentsCard);
    const filter = card.get(EntityCardBlueprint.dataRefs.filterFunction)!;
    expect(
      filter({
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: {
          name: 'a',
          annotations: { 'argocd/app-selector': 'app=a' },
        },
      }),
    ).toBe(true);
    expect(filter(entity('Component'))).toBe(false);
  });

  it('has the DORA card, for annotated entities only', () => {
    const card = createExtensionTester(entityDoraCard);
    const filter = card.get(EntityCardBlueprint.dataRefs.filterFunction)!;
    expect(
      filter({
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: {
          name: 'a',
          annotations: { 'argocd/app-name': 'a-dev' },
        },
      }),
    ).toBe(true);
    expect(filter(entity('Component'))).toBe(false);
  });
});
