import { ConfigReader } from '@backstage/config';
import { ScmIntegrations } from '@backstage/integration';
import { createFetchTemplateAction } from '@backstage/plugin-scaffolder-backend';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { createServicePlanAction } from '../actions/servicePlan';

// Tests run from source: __dirname is src/__testUtils__.
// eslint-disable-next-line no-restricted-syntax
export const TEMPLATES_DIR = path.resolve(__dirname, '../../../../templates');

export type TemplateName = 'gitops-service' | 'gitops-cronjob';
export type RepoHost = 'git' | 'github' | 'gitlab';
export type Language = 'typescript' | 'python';

/** Every template × language × repository host the app skeletons are rendered for. */
export const VARIANTS: Array<{
  template: TemplateName;
  language: Language;
  repoHost: RepoHost;
}> = (['gitops-service', 'gitops-cronjob'] as const).flatMap(template =>
  (['typescript', 'python'] as const).flatMap(language =>
    (['git', 'github', 'gitlab'] as const).map(repoHost => ({
      template,
      language,
      repoHost,
    })),
  ),
);

/** The real `gitops:service:plan` action, as the templates' first step runs it. */
async function plan(
  name: string,
  repoHost: RepoHost,
  environments: string[],
  chart: Pick<RenderOptions, 'chartSource' | 'chartRepository'> = {},
) {
  const action = createServicePlanAction({
    config: new ConfigReader({
      argocd: {
        appLocatorMethods: [
          {
            type: 'config',
            instances: [
              { name: 'main', url: 'http://127.0.0.1:1', token: 't' },
              { name: 'prod', url: 'http://127.0.0.1:2', token: 't' },
            ],
          },
        ],
      },
    }),
  });
  const ctx = createMockActionContext({
    input: {
      name,
      repoHost,
      ...(repoHost === 'git'
        ? { gitBaseUrl: 'http://127.0.0.1:7090/git' }
        : { repoOwner: 'acme' }),
      environments: environments.map((env, i) => ({
        name: env,
        instance: i === environments.length - 1 ? 'prod' : 'main',
      })),
      ingressHostPattern: '{service}.{environment}.example.com',
      ...chart,
    } as any,
  });
  await action.handler(ctx);
  return Object.fromEntries(
    (ctx.output as jest.Mock).mock.calls.map(([k, v]) => [k, v]),
  );
}

export interface RenderOptions {
  template: TemplateName;
  language: Language;
  repoHost: RepoHost;
  name?: string;
  imageRegistry?: string;
  imageRepository?: string;
  rollout?: 'rolling' | 'canary' | 'blueGreen';
  environments?: string[];
  /** gitops-service's chart source; chartRepository needs chartRepository. */
  chartSource?: 'git' | 'chartRepository';
  chartRepository?: string;
}

/**
 * The values the template's fetch:template steps get (its `&values` anchor), worked out
 * from the form and the plan as template.yaml does; fails when template.yaml names a key
 * this does not know, so the two cannot drift apart.
 */
export async function templateValues(options: RenderOptions) {
  const name = options.name ?? 'shop';
  const environments = options.environments ?? ['dev', 'staging', 'prod'];
  const planned = await plan(name, options.repoHost, environments, {
    chartSource: options.chartSource,
    chartRepository: options.chartRepository,
  });
  const known: Record<string, unknown> = {
    name,
    description: `${name} — created from the ${options.template} template`,
    owner: 'group:default/team-checkout',
    system: '',
    port: 8080,
    rollout: options.rollout ?? 'rolling',
    schedule: '0 3 * * *',
    concurrencyPolicy: 'Forbid',
    imageRegistry: options.imageRegistry ?? 'registry.example.com',
    imageRepository: options.imageRepository ?? `checkout/${name}`,
    appRepoWebUrl: planned.appRepo.webUrl,
    appRepoUrl: planned.appRepo.url,
    configRepoUrl: planned.configRepo.url,
    configRepoWebUrl: planned.configRepo.webUrl,
    configRepoSlug: planned.configRepo.slug,
    environmentNames: planned.environmentNames,
    firstEnvironment: planned.firstEnvironment,
    lastEnvironment: planned.lastEnvironment,
    argocdLayout: 'applications',
    chartSource: planned.chart.source,
    chartRepository: planned.chart.repository,
    chartVersion: planned.chart.version,
  };
  const template = parse(
    await fs.readFile(
      path.join(TEMPLATES_DIR, options.template, 'template.yaml'),
      'utf8',
    ),
    { merge: true },
  );
  const step = template.spec.steps.find((s: any) => s.id === 'app-common');
  const keys = Object.keys(step.input.values);
  const unknown = keys.filter(k => !(k in known));
  if (unknown.length) {
    throw new Error(
      `${
        options.template
      }/template.yaml passes values this helper does not know: ${unknown.join(
        ', ',
      )}`,
    );
  }
  return {
    planned,
    values: Object.fromEntries(keys.map(k => [k, known[k]])),
  };
}

const fetchTemplate = createFetchTemplateAction({
  reader: {
    readUrl: () => Promise.reject(new Error('no URL reads in tests')),
    readTree: () => Promise.reject(new Error('no URL reads in tests')),
    search: () => Promise.reject(new Error('no URL reads in tests')),
  } as any,
  integrations: ScmIntegrations.fromConfig(new ConfigReader({})),
});

/**
 * Renders `skeleton/<skeleton>` of a template into `<workspace>/<targetPath>` with the
 * scaffolder's own fetch:template action (nunjucks with `${{ }}`, templateFileExtension),
 * as a template run does from its template.yaml's location.
 */
export async function fetchSkeleton(
  template: TemplateName | 'gitops-add-instance',
  skeleton: string,
  workspace: string,
  targetPath: string,
  values: Record<string, unknown>,
) {
  const ctx = createMockActionContext({
    input: {
      url: `./skeleton/${skeleton}`,
      targetPath,
      templateFileExtension: true,
      values,
    } as any,
    workspacePath: workspace,
    templateInfo: {
      baseUrl: `file://${path.join(TEMPLATES_DIR, template, 'template.yaml')}`,
      entityRef: `template:default/${template}`,
    },
  });
  ctx.createTemporaryDirectory = () =>
    fs.mkdtemp(path.join(os.tmpdir(), 'gitops-fetch-template-'));
  await fetchTemplate.handler(ctx as any);
  return path.join(workspace, targetPath);
}

/**
 * The app repository of a variant as its template writes it (app-<language>, then
 * app-common); answers its directory and the values it was rendered with.
 */
export async function renderApp(workspace: string, options: RenderOptions) {
  const { values, planned } = await templateValues(options);
  await fetchSkeleton(
    options.template,
    `app-${options.language}`,
    workspace,
    'app',
    values,
  );
  const dir = await fetchSkeleton(
    options.template,
    'app-common',
    workspace,
    'app',
    values,
  );
  if (planned.chart.source === 'chartRepository') {
    // The chart, as the template's move-chart step puts it into the app repository.
    const config = await fetchSkeleton(
      options.template,
      'config',
      await fs.mkdtemp(path.join(workspace, 'config-')),
      'config',
      values,
    );
    await fs.rename(path.join(config, 'chart'), path.join(dir, 'chart'));
  }
  return { dir, values, planned };
}

/**
 * The config repository as its template writes it: the chart, then a values file per
 * environment (each environment's ingress host, production flag and destination from
 * the plan, as the template's `environments` step passes them).
 */
export async function renderConfig(
  workspace: string,
  options: RenderOptions & { ingress?: boolean },
) {
  const { values, planned } = await templateValues(options);
  const dir = await fetchSkeleton(
    options.template,
    'config',
    workspace,
    'config',
    values,
  );
  for (const env of planned.environments as any[]) {
    await fetchSkeleton(options.template, 'environment', workspace, 'config', {
      name: values.name,
      environment: env.name,
      instance: env.instance,
      cluster: env.cluster,
      namespace: env.namespace,
      ingressHost: options.ingress === false ? '' : env.ingressHost,
      production: env.production,
      project: 'default',
      configRepoUrl: planned.configRepo.url,
      firstEnvironment: planned.firstEnvironment,
    });
  }
  return { dir, values, planned };
}
