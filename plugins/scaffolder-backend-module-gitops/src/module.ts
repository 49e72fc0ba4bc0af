import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createArgoCdApplicationCreateAction } from './actions/argocdApplicationCreate';
import { createChartPublishAction } from './actions/chartPublish';
import { createChartValidateAction } from './actions/chartValidate';
import { createGitBranchAction } from './actions/gitBranch';
import { createGitPublishAction } from './actions/gitPublish';
import { createServicePlanAction } from './actions/servicePlan';
import { createValuesSetAction } from './actions/valuesSet';

/**
 * Adds the GitOps template actions to the scaffolder.
 *
 * @public
 */
export const scaffolderModuleGitops = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'gitops',
  register(reg) {
    reg.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        // argocd:application:create checks the permission and the projects of the
        // user running the template, and audits every attempt.
        permissions: coreServices.permissions,
        userInfo: coreServices.userInfo,
        auditor: coreServices.auditor,
      },
      async init({
        scaffolder,
        config,
        logger,
        permissions,
        userInfo,
        auditor,
      }) {
        scaffolder.addActions(
          createServicePlanAction({ config }),
          createChartValidateAction({ config }),
          createChartPublishAction({ config }),
          createGitPublishAction({ config }),
          createGitBranchAction({ config }),
          createArgoCdApplicationCreateAction({
            config,
            logger,
            permissions,
            userInfo,
            auditor,
          }),
          createValuesSetAction(),
        );
      },
    });
  },
});
