import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';

/**
 * The "Deployments" tab on component entity pages.
 *
 * @remarks
 *
 * Shown on every component: for one without Argo CD annotations it explains how to
 * add them.
 *
 * @public
 */
export const entityDeploymentsContent = EntityContentBlueprint.make({
  name: 'deployments',
  params: {
    path: '/deployments',
    title: 'Deployments',
    filter: { kind: 'component' },
    loader: () =>
      import('./components/DeploymentsContent').then(m => (
        <m.DeploymentsContent />
      )),
  },
});

/**
 * The GitOps frontend plugin, for the new frontend system.
 *
 * @public
 */
export const gitopsPlugin = createFrontendPlugin({
  pluginId: 'gitops',
  title: 'GitOps',
  extensions: [entityDeploymentsContent],
});

export default gitopsPlugin;
