/**
 * Annotation names read from catalog entities.
 *
 * The `argocd/*` names are the ones the existing Argo CD plugins use, so entities
 * annotated for them work unchanged.
 *
 * @public
 */
export const ARGOCD_ANNOTATIONS = {
  appName: 'argocd/app-name',
  appSelector: 'argocd/app-selector',
  projectName: 'argocd/project-name',
  appNamespace: 'argocd/app-namespace',
  instanceName: 'argocd/instance-name',
} as const;

/**
 * Label on an Argo CD Application naming the environment it deploys to.
 * The templates of this plugin set write it.
 *
 * @public
 */
export const ENVIRONMENT_LABEL = 'gitops/environment';

/**
 * Environments in pipeline order when neither config nor the entity names others.
 *
 * @public
 */
export const DEFAULT_ENVIRONMENTS: readonly string[] = [
  'dev',
  'staging',
  'prod',
];

/**
 * Entity annotation choosing which of app-config's environments (`gitops.environments`)
 * this entity shows and promotes between, e.g. `gitops/environments: dev,staging`. It may
 * leave environments out (a shorter pipeline), never reorder them: promotions follow
 * app-config's order, so leaving staging out does not make dev → prod one step.
 *
 * @public
 */
export const ENVIRONMENTS_ANNOTATION = 'gitops/environments';

/**
 * Entity annotation tightening the promotion policy of app-config for this entity, as
 * YAML or JSON, e.g. `{ methods: { staging: pull-request }, soakMinutes: { staging: 120 } }`
 * (keys: methods, allowSkip, soakMinutes, freezeWindows). It may add gates (a pull
 * request where app-config commits, a longer soak, no skipping, more freeze windows),
 * never remove them: a looser value is refused (400) naming the app-config rule.
 *
 * @public
 */
export const PROMOTION_POLICY_ANNOTATION = 'gitops/promotion-policy';

/**
 * Annotation on an Argo CD Application naming the catalog entity it belongs to, as an
 * entity ref (`component:default/service-a`). Writes (sync, refresh, rollback,
 * promotion, updating the Application) from an entity are allowed only on Applications
 * that name that entity, or whose Argo CD project app-config maps to the entity's owner
 * (`gitops.projects`). The templates, the examples and `argocd:application:create`
 * write it; reads do not need it.
 *
 * @public
 */
export const APPLICATION_ENTITY_ANNOTATION = 'gitops.backstage.io/entity-ref';

/**
 * Entity annotation saying where the version of a chart from a chart repository is
 * pinned in Git, for the status and for promotions:
 * - `application` (the default): the `targetRevision` of the Application's own
 *   manifest, in the Git directory of the Application that deployed it (app of apps);
 * - `values:<key>`: a key of the values of the Application that deployed it, when that
 *   one is a Helm chart in Git rendering the Applications (the `argocd-apps` chart,
 *   a platform's own), e.g. `values:services.shop.{environment}.chartVersion`;
 *   `{environment}` stands for the environment's name.
 *
 * @public
 */
export const CHART_VERSION_ANNOTATION = 'gitops/chart-version-at';

/**
 * Where an environment's chart version is pinned in Git (see CHART_VERSION_ANNOTATION).
 *
 * @public
 */
export type ChartVersionLocation =
  | { kind: 'application' }
  | { kind: 'values'; key: string };

const VALUES_KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * The entity's chart version location for `environment`; throws an Error naming the
 * problem when the annotation is malformed.
 *
 * @public
 */
export function readChartVersionLocation(
  annotations: Record<string, string> | undefined,
  environment: string,
): ChartVersionLocation {
  const value = annotations?.[CHART_VERSION_ANNOTATION]?.trim();
  if (!value || value === 'application') return { kind: 'application' };
  const key = value.startsWith('values:')
    ? value.slice('values:'.length).split('{environment}').join(environment)
    : undefined;
  if (key === undefined || !VALUES_KEY.test(key)) {
    throw new Error(
      `${CHART_VERSION_ANNOTATION} must be "application" or "values:<key>" (dotted, with letters, digits, _ and - and an optional {environment}), not ${JSON.stringify(
        value,
      )}`,
    );
  }
  return { kind: 'values', key };
}

/**
 * Entity annotation naming the app repository (the code the images are built from),
 * for the change log between versions, e.g.
 * `gitops/app-repository: https://github.com/org/service-a`. The templates write it;
 * without it `backstage.io/source-location` is used.
 *
 * @public
 */
export const APP_REPOSITORY_ANNOTATION = 'gitops/app-repository';
