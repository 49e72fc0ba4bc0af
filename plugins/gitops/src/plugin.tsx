import {
  ApiBlueprint,
  createFrontendPlugin,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import DeviceHubIcon from '@material-ui/icons/DeviceHub';
import { gitopsApiFactory } from './api';
import { isGitopsAvailable } from './components/DeploymentsContent/isGitopsAvailable';

/** The GitOps backend's client. @public */
export const gitopsApi = ApiBlueprint.make({
  params: defineParams => defineParams(gitopsApiFactory),
});

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

/** The overview card: one line per environment. @public */
export const entityDeploymentsCard = EntityCardBlueprint.make({
  name: 'deployments',
  params: {
    filter: isGitopsAvailable,
    loader: () =>
      import('./components/DeploymentsCard/EntityDeploymentsCard').then(m => (
        <m.EntityDeploymentsCard />
      )),
  },
});

/** The overview card of the four DORA figures. @public */
export const entityDoraCard = EntityCardBlueprint.make({
  name: 'dora',
  params: {
    filter: isGitopsAvailable,
    loader: () =>
      import('./components/DoraCard/EntityDoraCard').then(m => (
        <m.EntityDoraCard />
      )),
  },
});

/** The fleet page at /gitops, in the sidebar. @public */
export const fleetPage = PageBlueprint.make({
  params: {
    path: '/gitops',
    title: 'GitOps',
    icon: <DeviceHubIcon />,
    loader: () =>
      import('./components/FleetPage/FleetPage').then(m => <m.FleetPage />),
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
  extensions: [
    gitopsApi,
    entityDeploymentsContent,
    entityDeploymentsCard,
    entityDoraCard,
    fleetPage,
  ],
});

export default gitopsPlugin;
