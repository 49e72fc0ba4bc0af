import { Entity } from '@backstage/catalog-model';
import { ARGOCD_ANNOTATIONS } from '@gitops-backstage/plugin-gitops-common';

/**
 * Whether the entity names its Argo CD Applications, through `argocd/app-name` or
 * `argocd/app-selector`. For use as an entity page filter.
 *
 * @remarks
 *
 * Only checks that an annotation is present: a malformed one still shows the
 * Deployments tab, which then explains what is wrong.
 *
 * @public
 */
export function isGitopsAvailable(entity: Entity): boolean {
  const annotations = entity.metadata.annotations ?? {};
  return (
    annotations[ARGOCD_ANNOTATIONS.appName] !== undefined ||
    annotations[ARGOCD_ANNOTATIONS.appSelector] !== undefined
  );
}
