import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { helmBinary } from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { createChartValidateAction } from '../actions/chartValidate';

const exec = promisify(execFile);

/**
 * The templates' own check of `<workspace>/config/chart`: gitops:chart:validate (helm
 * lint, helm template and the schemas) for every environment; throws as the step fails.
 */
export async function validateChart(workspace: string, environments: string[]) {
  const logger = mockServices.logger.mock();
  const ctx = createMockActionContext({
    workspacePath: workspace,
    input: {
      chartPath: 'config/chart',
      environments,
      releaseName: 'shop',
    } as any,
    logger,
  });
  await createChartValidateAction({
    config: new ConfigReader({
      gitops: { helm: { command: await helmBinary() } },
    }),
  }).handler(ctx);
  return logger;
}

/**
 * The objects real `helm template` renders from the chart with the given values files
 * (relative to the chart, in Argo CD's order) and `--set` values.
 */
export async function helmTemplate(
  chart: string,
  valueFiles: string[],
  options: { set?: string[]; releaseName?: string } = {},
) {
  const { stdout } = await exec(
    await helmBinary(),
    [
      'template',
      options.releaseName ?? 'shop',
      chart,
      ...valueFiles.flatMap(f => ['-f', path.join(chart, f)]),
      ...(options.set ?? []).flatMap(s => ['--set', s]),
    ],
    { maxBuffer: 10 * 1024 * 1024 },
  );
  const objects: any[] = parseAllDocuments(stdout)
    .map(d => d.toJS())
    .filter(Boolean);
  const find = (kind: string, name: string) =>
    objects.find(o => o.kind === kind && o.metadata.name === name);
  return { objects, find };
}
