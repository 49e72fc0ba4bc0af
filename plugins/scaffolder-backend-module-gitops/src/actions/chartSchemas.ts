import vm from 'node:vm';

/**
 * The schema models of the kinds a service chart renders, by `apiVersion/kind`:
 * the module that exports a model class named as the kind.
 */
const MODELS: Record<string, string> = {
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'apps/v1/StatefulSet': 'kubernetes-models/apps/v1/StatefulSet',
  'apps/v1/DaemonSet': 'kubernetes-models/apps/v1/DaemonSet',
  'batch/v1/Job': 'kubernetes-models/batch/v1/Job',
  'batch/v1/CronJob': 'kubernetes-models/batch/v1/CronJob',
  'networking.k8s.io/v1/Ingress':
    'kubernetes-models/networking.k8s.io/v1/Ingress',
  'networking.k8s.io/v1/NetworkPolicy':
    'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
  'autoscaling/v2/HorizontalPodAutoscaler':
    'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget':
    'kubernetes-models/policy/v1/PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1/Role':
    'kubernetes-models/rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding':
    'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
  'argoproj.io/v1alpha1/Rollout':
    '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout',
  'argoproj.io/v1alpha1/AnalysisTemplate':
    '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate',
  'argoproj.io/v1alpha1/ClusterAnalysisTemplate':
    '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/ClusterAnalysisTemplate',
  'argoproj.io/v1alpha1/Application':
    '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application',
  'argoproj.io/v1alpha1/ApplicationSet':
    '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet',
  'argoproj.io/v1alpha1/AppProject':
    '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject',
};

type ModelClass = new (data: object) => { validate(): void };

/** One error of the ajv validator behind kubernetes-models. */
interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

const models = new Map<string, Promise<ModelClass>>();

function loadModel(key: string): Promise<ModelClass> | undefined {
  const specifier = MODELS[key];
  if (!specifier) return undefined;
  let model = models.get(key);
  if (!model) {
    const kind = key.slice(key.lastIndexOf('/') + 1);
    model = importEsm(specifier).then(module => module[kind] as ModelClass);
    models.set(key, model);
  }
  return model;
}

let mainContextImport:
  | ((specifier: string) => Promise<Record<string, unknown>>)
  | undefined;

/**
 * Loads an ES module. kubernetes-models and the Argo model packages are ESM only,
 * with an `import` export condition alone, so `require` cannot resolve them
 * (ERR_PACKAGE_PATH_NOT_EXPORTED, even where Node can require ESM); a dynamic
 * `import()` loads them from this CommonJS module (Backstage's Node transform
 * keeps `import()` as it is).
 *
 * Jest runs each test file in a vm context whose `import()` works only with
 * `--experimental-vm-modules`; there, and only there, the import goes through
 * Node's own loader of the main context instead. The model classes then come
 * from that context, so nothing here relies on `instanceof` for them.
 */
async function importEsm(specifier: string): Promise<Record<string, unknown>> {
  try {
    return await import(specifier);
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException)?.code !==
      'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG'
    ) {
      throw error;
    }
    mainContextImport ??= new vm.Script('specifier => import(specifier)', {
      filename: __filename,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }).runInThisContext();
    return mainContextImport!(specifier);
  }
}

/**
 * The schema problems of a rendered object, one message each (`/spec/replicas must be
 * integer (got "two")`); undefined when no model knows its kind.
 */
export async function schemaProblems(
  apiVersion: string,
  kind: string,
  object: object,
): Promise<string[] | undefined> {
  const model = loadModel(`${apiVersion}/${kind}`);
  if (!model) return undefined;
  const Model = await model;
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: unknown })?.errors;
    if (!Array.isArray(errors)) throw error;
    return [
      ...new Set(
        (errors as SchemaError[]).map(e => describeSchemaError(e, object)),
      ),
    ];
  }
}

/** `/spec/replicas must be integer (got "two")`, `/spec/template/spec/containers/0/name is required`. */
function describeSchemaError(error: SchemaError, object: unknown): string {
  const params = error.params ?? {};
  if (error.keyword === 'required') {
    return `${error.instancePath}/${params.missingProperty} is required`;
  }
  if (error.keyword === 'additionalProperties') {
    return `${error.instancePath}/${params.additionalProperty} is not allowed`;
  }
  const where = error.instancePath || '/';
  let message = error.message ?? `fails ${error.keyword}`;
  if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message = `must be one of ${params.allowedValues
      .map(v => JSON.stringify(v))
      .join(', ')}`;
  }
  const value = valueAt(object, error.instancePath);
  const got =
    value === null || ['string', 'number', 'boolean'].includes(typeof value)
      ? ` (got ${JSON.stringify(value)})`
      : '';
  return `${where} ${message}${got}`;
}

/** The value at a JSON pointer. */
function valueAt(object: unknown, pointer: string): unknown {
  let value = object;
  for (const token of pointer.split('/').slice(1)) {
    if (value === null || typeof value !== 'object') return undefined;
    const key = token.replaceAll('~1', '/').replaceAll('~0', '~');
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
