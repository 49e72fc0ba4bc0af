import { Entity } from '@backstage/catalog-model';
import {
  coreExtensionData,
  type FrontendPlugin,
} from '@backstage/frontend-plugin-api';
import { createExtensionTester } from '@backstage/frontend-test-utils';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import plugin from './index';
import { entityDeploymentsContent } from './plugin';

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
});
