import {
  createApiFactory,
  createApiRef,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import {
  GitopsApi,
  GitopsClient,
} from '@gitops-backstage/plugin-gitops-common';

/**
 * The GitOps backend's API, for `useApi`.
 *
 * @public
 */
export const gitopsApiRef = createApiRef<GitopsApi>({
  id: 'plugin.gitops.api',
});

/** The client on the app's discovery and fetch APIs (the fetch API adds the user's token). */
export const gitopsApiFactory = createApiFactory({
  api: gitopsApiRef,
  deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
  factory: ({ discoveryApi, fetchApi }) =>
    new GitopsClient({ discoveryApi, fetchApi }),
});
