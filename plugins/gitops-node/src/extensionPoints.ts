import { createExtensionPoint } from '@backstage/backend-plugin-api';
import type { ApplicationLocator } from '@gitops-backstage/plugin-gitops-common';

/**
 * Where the live state of Argo CD Applications comes from: the Argo CD REST API of one
 * instance, the Application custom resources of one cluster, or anything a module adds.
 *
 * @public
 */
export interface GitopsLiveStateSource {
  /** Unique and stable, e.g. `argocd:main`; it names the source in errors and logs. */
  readonly id: string;
  /**
   * The Argo CD Applications (argoproj.io/v1alpha1 objects, as the Argo CD API returns
   * them) that match the locator. Throws when the source cannot answer; the caller keeps
   * other sources' answers.
   */
  listApplications(
    locator: ApplicationLocator,
    options?: { signal?: AbortSignal },
  ): Promise<unknown[]>;
}

/**
 * Lets a backend module add live-state sources to the GitOps backend plugin.
 *
 * @public
 */
export interface GitopsLiveStateSourcesExtensionPoint {
  addLiveStateSource(...sources: GitopsLiveStateSource[]): void;
}

/**
 * @public
 */
export const gitopsLiveStateSourcesExtensionPoint =
  createExtensionPoint<GitopsLiveStateSourcesExtensionPoint>({
    id: 'gitops.live-state-sources',
  });
