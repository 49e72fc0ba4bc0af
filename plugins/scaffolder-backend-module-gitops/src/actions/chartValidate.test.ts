import {
  createMockDirectory,
  mockServices,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { helmBinary } from '@gitops-backstage/gitops-sandbox';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createChartValidateAction } from './chartValidate';

const fixtures = path.join(__dirname, '__fixtures__', 'charts');

interface RunOptions {
  isDryRun?: boolean;
  action?: ReturnType<typeof createChartValidateAction>;
}

describe('gitops:chart:validate', () => {
  const workspace = createMockDirectory();
  let action: ReturnType<typeof createChartValidateAction>;

  beforeAll(async () => {
    action = createChartValidateAction({
      config: new ConfigReader({
        gitops: { helm: { command: await helmBinary() } },
      }),
    });
  });

  beforeEach(() => workspace.clear());

  /** Puts a fixture chart at config/chart of the workspace and runs the action. */
  async function run(
    chart: string | undefined,
    input: Record<string, unknown>,
    options: RunOptions = {},
  ) {
    if (chart) {
      await fs.cp(
        path.join(fixtures, chart),
        workspace.resolve('config/chart'),
        {
          recursive: true,
        },
      );
    }
    const logger = mockServices.logger.mock();
    const ctx = createMockActionContext({
      workspacePath: workspace.path,
      input: { chartPath: 'config/chart', ...input } as any,
      logger,
    });
    (ctx as { isDryRun?: boolean }).isDryRun = options.isDryRun;
    await (options.action ?? action).handler(ctx);
    const outputs = Object.fromEntries(
      (ctx.output as jest.Mock).mock.calls.map(([k, v]) => [k, v]),
    );
    return { outputs, logger };
  }

  async function failure(
    chart: string | undefined,
    input: Record<string, unknown>,
    options: RunOptions = {},
  ): Promise<Error> {
    const error = await run(chart, input, options).then(
      () => undefined,
      (e: Error) => e,
    );
    if (!error) throw new Error('expected the action to fail');
    return error;
  }

  it('validates the service chart for every environment, the Rollout of prod included', async () => {
    const { outputs, logger } = await run('service', {
      environments: ['dev', 'staging', 'prod'],
      releaseName: 'checkout',
    });

    expect(outputs).toEqual({
      environments: [
        {
          environment: 'dev',
          objects: 3,
          kinds: ['Deployment', 'Service', 'ServiceAccount'],
        },
        {
          environment: 'staging',
          objects: 3,
          kinds: ['Deployment', 'Service', 'ServiceAccount'],
        },
        {
          environment: 'prod',
          objects: 3,
          kinds: ['Rollout', 'Service', 'ServiceAccount'],
        },
      ],
    });
    expect(logger.info).toHaveBeenCalledWith(
      'environment prod (values-prod.yaml): helm lint passed, 3 objects rendered (Rollout, Service, ServiceAccount), 3 valid',
    );
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('runs helm named by a path relative to the backend, as app-config.yaml names it', async () => {
    const relative = createChartValidateAction({
      config: new ConfigReader({
        gitops: {
          helm: { command: path.relative(process.cwd(), await helmBinary()) },
        },
      }),
    });
    const { outputs } = await run(
      'service',
      { environments: ['dev'], releaseName: 'checkout' },
      { action: relative },
    );
    expect(outputs.environments).toEqual([
      expect.objectContaining({ environment: 'dev', objects: 3 }),
    ]);
  });

  it('names the chart, the values file and the message of a failing helm lint', async () => {
    const error = await failure('lint-error', { environments: ['dev'] });

    expect(error.name).toBe('InputError');
    expect(error.message).toBe(
      [
        'Chart config/chart does not validate:',
        '- environment dev (values-dev.yaml): helm lint failed:',
        '    [ERROR] templates/: parse error at (lint-error/templates/configmap.yaml:6): unexpected "}" in operand',
      ].join('\n'),
    );
  });

  it('names the environment, the object and the fields of an invalid Deployment, and runs in a dry run too', async () => {
    const error = await failure(
      'invalid-deployment',
      { environments: ['dev', 'staging'], releaseName: 'checkout' },
      { isDryRun: true },
    );

    expect(error.message).toBe(
      [
        'Chart config/chart does not validate:',
        '- environment staging (values-staging.yaml): Deployment/checkout (templates/deployment.yaml): /spec/replicas must be integer (got "two")',
        '- environment staging (values-staging.yaml): Deployment/checkout (templates/deployment.yaml): /spec/template/spec/containers/0/name is required',
      ].join('\n'),
    );
  });

  it('names the Rollout and the field of an invalid canary step', async () => {
    const error = await failure('invalid-rollout', {
      environments: ['prod'],
      releaseName: 'checkout',
    });

    expect(error.message).toBe(
      [
        'Chart config/chart does not validate:',
        '- environment prod (values-prod.yaml): Rollout/checkout (templates/rollout.yaml): /spec/strategy/canary/steps/0/setWeight must be integer (got "x")',
      ].join('\n'),
    );
  });

  it('reports kinds it has no schema for as not validated, and helm lint warnings, without failing', async () => {
    const { outputs, logger } = await run('unvalidated-kinds', {
      environments: [{ name: 'preview', valueFiles: [] }],
    });

    // The release name defaults to the chart name.
    expect(outputs.environments).toEqual([
      {
        environment: 'preview',
        objects: 3,
        kinds: ['ConfigMap', 'PodDisruptionBudget', 'ServiceMonitor'],
      },
    ]);
    expect(logger.warn.mock.calls.map(([message]) => message)).toEqual([
      'environment preview (no values file): [WARNING] templates/pdb.yaml: policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, unavailable in v1.25+; use policy/v1 PodDisruptionBudget',
      'environment preview (no values file): PodDisruptionBudget/unvalidated-kinds (templates/pdb.yaml) not validated: no schema for policy/v1beta1 PodDisruptionBudget',
      'environment preview (no values file): ServiceMonitor/unvalidated-kinds (templates/servicemonitor.yaml) not validated: no schema for monitoring.coreos.com/v1 ServiceMonitor',
    ]);
    expect(logger.info).toHaveBeenCalledWith(
      'environment preview (no values file): helm lint passed, 3 objects rendered (ConfigMap, PodDisruptionBudget, ServiceMonitor), 1 valid, 2 not validated (PodDisruptionBudget/unvalidated-kinds, ServiceMonitor/unvalidated-kinds)',
    );
  });

  it('fails on helm lint warnings with strict', async () => {
    const error = await failure('unvalidated-kinds', {
      environments: [{ name: 'preview', valueFiles: [] }],
      strict: true,
    });

    expect(error.message).toBe(
      [
        'Chart config/chart does not validate:',
        '- environment preview (no values file): helm lint --strict failed:',
        '    [WARNING] templates/pdb.yaml: policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, unavailable in v1.25+; use policy/v1 PodDisruptionBudget',
      ].join('\n'),
    );
  });

  it('refuses missing values files before running helm', async () => {
    const error = await failure('service', {
      environments: [
        'dev',
        'qa',
        { name: 'eu', valueFiles: ['values-eu.yaml'] },
      ],
    });

    expect(error.name).toBe('InputError');
    expect(error.message).toBe(
      'Missing values files: values-qa.yaml (environment qa) does not exist in chart config/chart; values-eu.yaml (environment eu) does not exist in chart config/chart',
    );
  });

  it('refuses paths outside the workspace and a directory that is no chart', async () => {
    await expect(
      failure(undefined, { chartPath: '../outside', environments: ['dev'] }),
    ).resolves.toMatchObject({
      name: 'InputError',
      message: 'chartPath "../outside" is outside the workspace',
    });

    await expect(
      failure('service', {
        environments: [{ name: 'dev', valueFiles: ['../../../secrets.yaml'] }],
      }),
    ).resolves.toMatchObject({
      message:
        'Values file "../../../secrets.yaml" of environment dev is outside the workspace',
    });

    await expect(
      failure(undefined, { chartPath: 'nothing-here', environments: ['dev'] }),
    ).resolves.toMatchObject({
      message:
        'nothing-here is not a Helm chart in the workspace: it has no Chart.yaml',
    });
  });

  it('says how to configure helm when the binary is missing', async () => {
    const withoutHelm = createChartValidateAction({
      config: new ConfigReader({
        gitops: { helm: { command: workspace.resolve('no-such-helm') } },
      }),
    });
    const error = await failure(
      'service',
      { environments: ['dev'] },
      { action: withoutHelm },
    );

    expect(error.message).toBe(
      `Cannot run helm: "${workspace.resolve(
        'no-such-helm',
      )}" (gitops.helm.command) was not found or is not executable. Install helm 3 on the backend's PATH, or set gitops.helm.command in the app-config to the path of the helm binary.`,
    );
  });

  it('publishes its schema and examples', () => {
    expect(action.id).toBe('gitops:chart:validate');
    expect(action.supportsDryRun).toBe(true);
    expect(action.schema?.input).toMatchObject({
      required: ['environments'],
    });
    expect(action.examples?.length).toBeGreaterThan(0);
  });
});
