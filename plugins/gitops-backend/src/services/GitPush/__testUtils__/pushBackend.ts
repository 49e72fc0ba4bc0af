import {
  BackendFeature,
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import eventsPlugin from '@backstage/plugin-events-backend';
import {
  eventsServiceFactory,
  eventsServiceRef,
} from '@backstage/plugin-events-node';
import { createHmac } from 'node:crypto';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { GitPush, subscribeToGitPushes } from '../gitPushes';

export const GITHUB_SECRET = 'github-webhook-secret-for-tests';
export const GITLAB_SECRET = 'gitlab-webhook-token-for-tests';

/**
 * The backend modules inside an events module package. Its default export loads them
 * with a native `import()`, which Jest runs only under --experimental-vm-modules; so
 * the test requires the same compiled modules (the package's own dist files, as
 * `backend.add(import(...))` gets them) itself.
 */
function modulesOf(pkg: string, files: string[]): BackendFeature[] {
  const dist = path.dirname(require.resolve(pkg));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return files.map(file => require(path.join(dist, 'service', file)).default);
}

/** What the test plugin's subscription heard. */
export const received: GitPush[] = [];

/** A plugin of its own that subscribes, as the gitops plugin will. */
const pushListener = createBackendPlugin({
  pluginId: 'git-push-test',
  register(env) {
    env.registerInit({
      deps: { events: eventsServiceRef, logger: coreServices.logger },
      async init({ events, logger }) {
        await subscribeToGitPushes(
          events,
          push => {
            received.push(push);
          },
          { logger },
        );
      },
    });
  },
});

export const sign = (body: string, secret = GITHUB_SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * A test backend with the events backend, its GitHub and GitLab modules (receiving
 * at /api/events/http/<github|gitlab>, checked with the secrets above) and the
 * listener; answers its base URL.
 */
export async function startPushBackend(): Promise<string> {
  const { server } = await startTestBackend({
    features: [
      eventsPlugin,
      // The real events service, shared by the plugins as in a backend (the test
      // backend's default is a mock per plugin).
      eventsServiceFactory,
      ...modulesOf('@backstage/plugin-events-backend-module-github', [
        'eventsModuleGithubEventRouter.cjs.js',
        'eventsModuleGithubWebhook.cjs.js',
      ]),
      ...modulesOf('@backstage/plugin-events-backend-module-gitlab', [
        'eventsModuleGitlabEventRouter.cjs.js',
        'eventsModuleGitlabWebhook.cjs.js',
      ]),
      pushListener,
      mockServices.rootConfig.factory({
        data: {
          // The modules open POST /api/events/http/<topic> when their secret is set;
          // events.http.topics is not needed (and would accept unchecked posts on a
          // topic whose secret is missing).
          events: {
            // The bus's long polls end within a second, so the backend stops quickly.
            notifyTimeoutMs: 1000,
            modules: {
              github: { webhookSecret: GITHUB_SECRET },
              gitlab: { webhookSecret: GITLAB_SECRET },
            },
          },
        },
      }),
    ],
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
