import { AppState, Json, isChild } from './model';

// App of apps: Applications and ApplicationSets that synced Applications deployed,
// and changes to them through the API reflected in their parents' live state.

export const TRACKING_ANNOTATION = 'argocd.argoproj.io/tracking-id';

/**
 * The Application and ApplicationSet manifests that synced Applications put into
 * this cluster (app of apps): Argo CD knows no others besides those created
 * through its API.
 */
export function deployedBy(
  apps: Iterable<AppState>,
  kind: 'Application' | 'ApplicationSet',
): Json[] {
  return [...apps].flatMap(state =>
    (state.live?.manifests ?? [])
      .filter(
        m =>
          m.kind === kind &&
          String(m.apiVersion).startsWith('argoproj.io/') &&
          m.metadata?.name &&
          m.spec,
      )
      .map(m => tracked(m, state.manifest.metadata)),
  );
}

/**
 * As Argo CD 3 applies a resource (annotation tracking, its default): the annotation
 * naming the Application that deployed it, `<app>:<group>/<kind>:<namespace>/<name>`
 * (`<app>` is `<namespace>_<name>` outside the control plane's namespace).
 */
function tracked(m: Json, parent: { name: string; namespace?: string }): Json {
  const app =
    !parent.namespace || parent.namespace === 'argocd'
      ? parent.name
      : `${parent.namespace}_${parent.name}`;
  const [group] = String(m.apiVersion).split('/');
  const namespace = m.metadata.namespace ?? 'argocd';
  return {
    ...m,
    metadata: {
      ...m.metadata,
      annotations: {
        ...m.metadata.annotations,
        [TRACKING_ANNOTATION]: `${app}:${group}/${m.kind}:${namespace}/${m.metadata.name}`,
      },
    },
  };
}

/** Puts an API-written Application in place of the one its parents deployed; false when none did. */
export function replaceInParents(
  apps: Iterable<AppState>,
  manifest: Json,
): boolean {
  const { namespace, name } = manifest.metadata;
  let found = false;
  for (const parent of apps) {
    const index =
      parent.live?.manifests.findIndex(m =>
        isChild(m, 'Application', namespace, name),
      ) ?? -1;
    if (index < 0) continue;
    const manifests = [...parent.live!.manifests];
    const { apiVersion, kind } = manifests[index];
    manifests[index] = { apiVersion, kind, ...manifest };
    parent.live = { ...parent.live!, manifests };
    found = true;
  }
  return found;
}

/** Takes one deleted through the API out of what its parents deployed: they show it missing. */
export function removeFromParents(
  apps: Iterable<AppState>,
  kind: string,
  namespace: string,
  name: string,
) {
  for (const parent of apps) {
    if (!parent.live) continue;
    const manifests = parent.live.manifests.filter(
      m => !isChild(m, kind, namespace, name),
    );
    if (manifests.length !== parent.live.manifests.length) {
      parent.live = { ...parent.live, manifests };
    }
  }
}
