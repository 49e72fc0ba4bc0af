/**
 * The GitOps frontend plugin for apps on the legacy frontend system.
 *
 * @packageDocumentation
 */
import {
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  createRouteRef,
} from '@backstage/core-plugin-api';
import { gitopsApiFactory } from './api';

export { isGitopsAvailable } from './components/DeploymentsContent/isGitopsAvailable';
export { gitopsApiRef } from './api';

const entityContentRouteRef = createRouteRef({
  id: 'gitops:entity-deployments',
});
const fleetRouteRef = createRouteRef({ id: 'gitops:fleet' });

/**
 * The GitOps frontend plugin, for the legacy frontend system.
 *
 * @public
 */
export const gitopsPlugin = createPlugin({
  id: 'gitops',
  apis: [gitopsApiFactory],
  routes: {
    entityContent: entityContentRouteRef,
    fleet: fleetRouteRef,
  },
});

/**
 * The content of the entity "Deployments" tab, for use in an `EntityLayout.Route`.
 *
 * @public
 */
export const EntityGitopsDeploymentsContent: () => JSX.Element =
  gitopsPlugin.provide(
    createRoutableExtension({
      name: 'EntityGitopsDeploymentsContent',
      component: () =>
        import('./components/DeploymentsContent/DeploymentsContent').then(
          m => m.DeploymentsContent,
        ),
      mountPoint: entityContentRouteRef,
    }),
  );

/**
 * The overview card: one line per environment.
 *
 * @public
 */
export const EntityGitopsDeploymentsCard: () => JSX.Element =
  gitopsPlugin.provide(
    createComponentExtension({
      name: 'EntityGitopsDeploymentsCard',
      component: {
        lazy: () =>
          import('./components/DeploymentsCard/EntityDeploymentsCard').then(
            m => m.EntityDeploymentsCard,
          ),
      },
    }),
  );

/**
 * The overview card of the four DORA figures: deployment frequency, lead time, change
 * failure rate and time to restore, per environment over 7, 30 or 90 days.
 *
 * @public
 */
export const EntityDoraCard: () => JSX.Element = gitopsPlugin.provide(
  createComponentExtension({
    name: 'EntityDoraCard',
    component: {
      lazy: () =>
        import('./components/DoraCard/EntityDoraCard').then(
          m => m.EntityDoraCard,
        ),
    },
  }),
);

/**
 * The fleet page: every service × environment. Mount it on a route, e.g. `/gitops`.
 *
 * @public
 */
export const GitopsFleetPage: () => JSX.Element = gitopsPlugin.provide(
  createRoutableExtension({
    name: 'GitopsFleetPage',
    component: () =>
      import('./components/FleetPage/FleetPage').then(m => m.FleetPage),
    mountPoint: fleetRouteRef,
  }),
);
