import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  GitopsLiveStateSource,
  gitopsLiveStateSourcesExtensionPoint,
} from '@gitops-backstage/plugin-gitops-node';
import { gitopsPermissions } from '@gitops-backstage/plugin-gitops-common';
import { readGitopsConfig } from './config';
import { createRouter } from './router';

/**
 * The GitOps backend plugin.
 *
 * @public
 */
export const gitopsPlugin = createBackendPlugin({
  pluginId: 'gitops',
  register(env) {
    const sources = new Map<string, GitopsLiveStateSource>();
    env.registerExtensionPoint(gitopsLiveStateSourcesExtensionPoint, {
      addLiveStateSource(...added) {
        for (const source of added) {
          if (sources.has(source.id)) {
            throw new Error(
              `Live-state source "${source.id}" is already registered`,
            );
          }
          sources.set(source.id, source);
        }
      },
    });

    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        permissionsRegistry: coreServices.permissionsRegistry,
      },
      async init({ config, logger, httpRouter, permissionsRegistry }) {
        const gitopsConfig = readGitopsConfig(config);
        permissionsRegistry.addPermissions(gitopsPermissions);
        httpRouter.use(
          await createRouter({
            config: gitopsConfig,
            liveStateSourceIds: () => [...sources.keys()],
          }),
        );
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
        logger.info(
          `GitOps plugin: ${
            gitopsConfig.instances.length
          } Argo CD instance(s), environments ${gitopsConfig.environments.join(
            ' → ',
          )}`,
        );
      },
    });
  },
});
