// `yarn start` in this package: the plugin alone, against the backend of `./portal start`
// (run the portal first, or point app-config at another backend).
import { createDevApp } from '@backstage/dev-utils';
import { Entity } from '@backstage/catalog-model';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import {
  EntityDoraCard,
  EntityGitopsDeploymentsCard,
  EntityGitopsDeploymentsContent,
  GitopsFleetPage,
  gitopsPlugin,
} from '../src/legacy';

const serviceA: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'service-a',
    namespace: 'default',
    annotations: { 'argocd/app-selector': 'app.kubernetes.io/name=service-a' },
  },
  spec: { type: 'service', owner: 'team-checkout', lifecycle: 'production' },
};

createDevApp()
  .registerPlugin(gitopsPlugin)
  .addPage({
    path: '/service-a',
    title: 'service-a',
    element: (
      <EntityProvider entity={serviceA}>
        <EntityGitopsDeploymentsCard />
        <EntityDoraCard />
        <EntityGitopsDeploymentsContent />
      </EntityProvider>
    ),
  })
  .addPage({ path: '/gitops', title: 'Fleet', element: <GitopsFleetPage /> })
  .render();
