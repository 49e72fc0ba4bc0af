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
import { parseDocument } from 'yaml';
import { examples } from './chartValidate.examples';
import { count, Environment, validateEnvironment } from './chartEnvironment';
import { insideWorkspace } from './workspacePath';

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
