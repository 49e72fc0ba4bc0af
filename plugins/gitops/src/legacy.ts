/**
 * The GitOps frontend plugin for apps on the legacy frontend system.
 *
 * @packageDocumentation
 */
import {
  createPlugin,
  createRoutableExtension,
  createRouteRef,
} from '@backstage/core-plugin-api';

export { isGitopsAvailable } from './components/DeploymentsContent/isGitopsAvailable';

const entityContentRouteRef = createRouteRef({
  id: 'gitops:entity-deployments',
});

/**
 * The GitOps frontend plugin, for the legacy frontend system.
 *
 * @public
 */
export const gitopsPlugin = createPlugin({
  id: 'gitops',
  routes: {
    entityContent: entityContentRouteRef,
  },
});

/**
 * The content of the entity "Deployments" tab, for use in an `EntityLayout.Route`.
 *
 * @public
 */
export const EntityGitopsDeploymentsContent = gitopsPlugin.provide(
  createRoutableExtension({
    name: 'EntityGitopsDeploymentsContent',
    component: () =>
      import('./components/DeploymentsContent/DeploymentsContent').then(
        m => m.DeploymentsContent,
      ),
    mountPoint: entityContentRouteRef,
  }),
);
