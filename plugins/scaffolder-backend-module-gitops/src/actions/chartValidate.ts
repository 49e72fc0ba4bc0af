import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  checkNamespace,
  checkReleaseName,
  HelmRunner,
} from '@gitops-backstage/plugin-gitops-node';
import fs from 'node:fs/promises';
import path from 'node:path';
import vm from 'node:vm';
import { parseAllDocuments, parseDocument } from 'yaml';
import { examples } from './chartValidate.examples';
import { insideWorkspace } from './workspacePath';

/** How long one `helm lint` or `helm template` may take. */
const HELM_TIMEOUT_MS = 60_000;

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

/** An environment as the action validates it. */
interface Environment {
  name: string;
  namespace: string;
  /** As given: relative to the chart. */
  valueFiles: string[];
  /** Absolute paths inside the workspace. */
  valueFilePaths: string[];
  /** `environment dev (values-dev.yaml)`, for messages. */
  label: string;
}

interface EnvironmentResult {
  environment: string;
  objects: number;
  kinds: string[];
}

/**
 * `gitops:chart:validate`: runs `helm lint` and `helm template` on a chart of the
 * workspace with the values files of each environment, and validates every
 * rendered object against the schema of its kind (Kubernetes, Argo Rollouts,
 * Argo CD).
 *
 * @public
 */
export function createChartValidateAction(options: { config: Config }) {
  const runner = HelmRunner.fromConfig(options.config);

  return createTemplateAction({
    id: 'gitops:chart:validate',
    description:
      'Validates a Helm chart of the workspace for each environment: helm lint, helm template, and a schema check of every rendered object (Kubernetes kinds, Argo Rollouts, Argo CD).',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        chartPath: z =>
          z
            .string()
            .min(1)
            .default('chart')
            .describe('Directory of the chart, relative to the workspace'),
        environments: z =>
          z
            .array(
              z.union([
                z.string().min(1),
                z.object({
                  name: z.string().min(1).describe('Environment name'),
                  valueFiles: z
                    .array(z.string().min(1))
                    .optional()
                    .describe(
                      'Values files, relative to the chart, in order (as Argo CD helm.valueFiles); an empty list uses the chart defaults alone. Default: from valuesFilePattern',
                    ),
                  namespace: z
                    .string()
                    .min(1)
                    .optional()
                    .describe('Namespace to render into'),
                }),
              ]),
            )
            .min(1)
            .describe(
              'Environments to validate: names (their values file follows valuesFilePattern), or objects with their own values files',
            ),
        valuesFilePattern: z =>
          z
            .string()
            .min(1)
            .default('values-{environment}.yaml')
            .describe(
              'Values file of an environment given by name, relative to the chart; {environment} is replaced by the name',
            ),
        releaseName: z =>
          z
            .string()
            .min(1)
            .optional()
            .describe('Release name to render with. Default: the chart name'),
        namespace: z =>
          z
            .string()
            .min(1)
            .default('{environment}')
            .describe(
              'Namespace to render into; {environment} is replaced by the environment name',
            ),
        strict: z =>
          z
            .boolean()
            .default(false)
            .describe('Run helm lint --strict: warnings fail too'),
      },
      output: {
        environments: z =>
          z
            .array(
              z.object({
                environment: z.string(),
                objects: z.number().describe('Objects rendered'),
                kinds: z.array(z.string()).describe('Kinds rendered'),
              }),
            )
            .describe('What each environment renders'),
      },
    },
    async handler(ctx) {
      const {
        chartPath = 'chart',
        valuesFilePattern = 'values-{environment}.yaml',
        namespace: namespacePattern = '{environment}',
        strict = false,
      } = ctx.input;

      const chartDir = insideWorkspace(
        ctx.workspacePath,
        chartPath,
        `chartPath ${JSON.stringify(chartPath)}`,
      );
      const chartName = await readChartName(chartDir, chartPath);
      const releaseName = ctx.input.releaseName || chartName;
      const environments = resolveEnvironments({
        workspacePath: ctx.workspacePath,
        chartPath,
        environments: ctx.input.environments,
        valuesFilePattern,
        namespacePattern,
      });
      await checkValueFilesExist(environments, chartPath);
      // Before helm runs at all: nothing typed into the template reaches helm as a flag.
      checkReleaseName(releaseName);
      environments.forEach(env => checkNamespace(env.namespace));

      // Validation only reads the workspace, so a dry run (the template editor's
      // preview) runs it in full: that is what a preview should show.
      const results = await Promise.all(
        environments.map(env =>
          validateEnvironment({
            runner,
            workspacePath: ctx.workspacePath,
            chartPath,
            env,
            releaseName,
            strict,
          }),
        ),
      );

      const problems: string[] = [];
      for (const [i, result] of results.entries()) {
        const env = environments[i];
        for (const warning of result.warnings) {
          ctx.logger.warn(`${env.label}: ${warning}`);
        }
        if (result.problems.length > 0) {
          ctx.logger.error(
            `${env.label}: ${count(result.problems.length, 'problem')}`,
          );
          problems.push(...result.problems.map(p => `- ${env.label}: ${p}`));
        } else {
          ctx.logger.info(`${env.label}: ${result.summary}`);
        }
      }
      if (problems.length > 0) {
        throw new InputError(
          `Chart ${chartPath} does not validate:\n${problems.join('\n')}`,
        );
      }

      ctx.output(
        'environments',
        results.map(r => r.output),
      );
    },
  });
}

async function readChartName(chartDir: string, chartPath: string) {
  let source: string;
  try {
    source = await fs.readFile(path.join(chartDir, 'Chart.yaml'), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InputError(
        `${chartPath} is not a Helm chart in the workspace: it has no Chart.yaml`,
      );
    }
    throw error;
  }
  const name = parseDocument(source).toJS()?.name;
  if (typeof name !== 'string' || !name) {
    throw new InputError(`${chartPath}/Chart.yaml has no name`);
  }
  return name;
}

function resolveEnvironments(options: {
  workspacePath: string;
  chartPath: string;
  environments: Array<
    string | { name: string; valueFiles?: string[]; namespace?: string }
  >;
  valuesFilePattern: string;
  namespacePattern: string;
}): Environment[] {
  const seen = new Set<string>();
  return options.environments.map(entry => {
    const spec = typeof entry === 'string' ? { name: entry } : entry;
    if (seen.has(spec.name)) {
      throw new InputError(`Environment ${spec.name} is listed twice`);
    }
    seen.add(spec.name);
    const fill = (pattern: string) =>
      pattern.replaceAll('{environment}', spec.name);
    const valueFiles = spec.valueFiles ?? [fill(options.valuesFilePattern)];
    const valueFilePaths = valueFiles.map(file =>
      insideWorkspace(
        options.workspacePath,
        path.join(options.chartPath, file),
        `Values file ${JSON.stringify(file)} of environment ${spec.name}`,
      ),
    );
    return {
      name: spec.name,
      namespace: spec.namespace ?? fill(options.namespacePattern),
      valueFiles,
      valueFilePaths,
      label: `environment ${spec.name} (${
        valueFiles.length > 0 ? valueFiles.join(', ') : 'no values file'
      })`,
    };
  });
}

async function checkValueFilesExist(
  environments: Environment[],
  chartPath: string,
) {
  const missing: string[] = [];
  for (const env of environments) {
    for (const [i, file] of env.valueFilePaths.entries()) {
      const stat = await fs.stat(file).catch(() => undefined);
      if (!stat?.isFile()) {
        missing.push(
          `${env.valueFiles[i]} (environment ${env.name}) ${
            stat ? 'is not a file' : 'does not exist'
          } in chart ${chartPath}`,
        );
      }
    }
  }
  if (missing.length > 0) {
    throw new InputError(`Missing values files: ${missing.join('; ')}`);
  }
}

async function validateEnvironment(options: {
  runner: HelmRunner;
  workspacePath: string;
  chartPath: string;
  env: Environment;
  releaseName: string;
  strict: boolean;
}): Promise<{
  problems: string[];
  warnings: string[];
  summary: string;
  output: EnvironmentResult;
}> {
  const { runner, workspacePath, chartPath, env, releaseName, strict } =
    options;
  const problems: string[] = [];
  const warnings: string[] = [];
  const output: EnvironmentResult = {
    environment: env.name,
    objects: 0,
    kinds: [],
  };
  const chart = {
    root: workspacePath,
    chartPath,
    // Relative to the chart, as the workspace paths checked above.
    valueFiles: env.valueFilePaths.map(file =>
      path.relative(path.resolve(workspacePath, chartPath), file),
    ),
    namespace: env.namespace,
  };
  const timeout = { timeoutMs: HELM_TIMEOUT_MS };
  const done = () => ({ problems, warnings, summary: '', output });

  // 1. helm lint
  const lint = await runner.lint({ ...chart, strict }, timeout);
  const lintLines = lines(lint.stdout);
  if (!lint.ok) {
    const flagged = lintLines.filter(line =>
      strict ? /^\[(ERROR|WARNING)\]/.test(line) : line.startsWith('[ERROR]'),
    );
    const quoted =
      flagged.length > 0
        ? flagged
        : lines(lint.stderr).filter(line => !/chart\(s\) linted/.test(line));
    problems.push(
      `helm lint${strict ? ' --strict' : ''} failed:\n${indent(quoted)}`,
    );
    return done();
  }
  warnings.push(...lintLines.filter(line => line.startsWith('[WARNING]')));

  // 2. helm template
  const template = await runner.template({ ...chart, releaseName }, timeout);
  if (!template.ok) {
    const quoted = lines(template.stderr).filter(
      line => !line.startsWith('Use --debug flag'),
    );
    problems.push(`helm template failed:\n${indent(quoted)}`);
    return done();
  }

  // 3. The schema of each rendered object
  const kinds = new Set<string>();
  const valid: string[] = [];
  const notValidated: string[] = [];
  for (const doc of parseAllDocuments(template.stdout)) {
    const source = sourceOf(doc);
    if (doc.errors.length > 0) {
      problems.push(
        `${source}: the rendered YAML does not parse: ${doc.errors[0].message}`,
      );
      continue;
    }
    const object = doc.toJS();
    if (object === null || object === undefined) continue;
    output.objects += 1;
    if (
      typeof object !== 'object' ||
      Array.isArray(object) ||
      typeof object.apiVersion !== 'string' ||
      typeof object.kind !== 'string'
    ) {
      problems.push(`${source}: a rendered object has no apiVersion and kind`);
      continue;
    }
    const { apiVersion, kind } = object as { apiVersion: string; kind: string };
    kinds.add(kind);
    const name = object.metadata?.name;
    const id = `${kind}/${typeof name === 'string' ? name : '(no name)'}`;
    const where = `${id} (${source})`;
    if (typeof name !== 'string' || !name) {
      problems.push(`${where}: /metadata/name is required`);
    }

    const model = loadModel(`${apiVersion}/${kind}`);
    if (!model) {
      notValidated.push(id);
      warnings.push(
        `${where} not validated: no schema for ${apiVersion} ${kind}`,
      );
      continue;
    }
    const Model = await model;
    try {
      new Model(object).validate();
      valid.push(id);
    } catch (error) {
      const errors = (error as { errors?: unknown })?.errors;
      if (!Array.isArray(errors)) throw error;
      const messages = new Set(
        (errors as SchemaError[]).map(e => describeSchemaError(e, object)),
      );
      problems.push(...[...messages].map(message => `${where}: ${message}`));
    }
  }

  output.kinds = [...kinds].sort();
  const summary = [
    `helm lint passed, ${count(output.objects, 'object')} rendered${
      output.kinds.length > 0 ? ` (${output.kinds.join(', ')})` : ''
    }`,
    `${valid.length} valid`,
    ...(notValidated.length > 0
      ? [`${notValidated.length} not validated (${notValidated.join(', ')})`]
      : []),
  ].join(', ');
  return { problems, warnings, summary, output };
}

/** `templates/deployment.yaml`, from helm's `# Source: <chart>/templates/deployment.yaml`. */
function sourceOf(doc: {
  commentBefore?: string | null;
  contents?: unknown;
}): string {
  const comments = [
    doc.commentBefore,
    (doc.contents as { commentBefore?: string | null } | null)?.commentBefore,
  ].join('\n');
  const match = /Source: (\S+)/.exec(comments);
  if (!match) return 'rendered manifest';
  return match[1].split('/').slice(1).join('/') || match[1];
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

function lines(text: string) {
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean);
}

function indent(quoted: string[]) {
  return quoted.map(line => `    ${line}`).join('\n');
}

function count(n: number, noun: string) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
