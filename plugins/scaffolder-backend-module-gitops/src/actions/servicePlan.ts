import { InputError } from '@backstage/errors';
import { Config } from '@backstage/config';
import {
  createTemplateAction,
  TemplateActionOptions,
} from '@backstage/plugin-scaffolder-node';
import { readArgoCdInstances } from '@gitops-backstage/plugin-gitops-node';
import { checkRemoteUrl } from './gitRemote';
import { CHART_SOURCE_DOCS, planChartSource } from './serviceChartSource';

/** DNS-1123 label: names of services, environments and namespaces. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A GitHub organisation or a GitLab group, with its subgroups: one URL path each. */
const REPO_OWNER =
  /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** A host name (DNS-1123 subdomain): what an Ingress takes. */
function isHostName(value: string) {
  return (
    value.length <= 253 &&
    value.split('.').every(l => l.length <= 63 && DNS_LABEL.test(l))
  );
}

type Host = 'git' | 'github' | 'gitlab';

/** The scaffolder's zod (its own copy), for the environment schema used twice. */
type Zod = Parameters<
  NonNullable<NonNullable<TemplateActionOptions['schema']>['output']>[string]
>[0];

interface PlannedEnvironment {
  name: string;
  instance: string;
  cluster: string;
  namespace: string;
  ingressHost: string;
  production: boolean;
}

const plannedEnvironment = (z: Zod) =>
  z.object({
    name: z.string(),
    instance: z.string(),
    cluster: z.string(),
    namespace: z.string(),
    ingressHost: z.string(),
    production: z.boolean(),
  });

const plannedRepository = (z: Zod) =>
  z.object({
    url: z.string().describe('Clone URL'),
    webUrl: z.string(),
    slug: z.string().describe('owner/name'),
    publishUrl: z.string().describe('repoUrl for the publish actions'),
    catalogInfoUrl: z.string().describe('URL of its catalog-info.yaml'),
  });

/** Where a repository lives, in the forms the later steps need. */
function repository(
  host: Host,
  name: string,
  options: { owner?: string; gitBaseUrl?: string; gitRawUrlPattern: string },
) {
  if (host === 'git') {
    const base = options.gitBaseUrl!.replace(/\/+$/, '');
    const url = `${base}/${name}.git`;
    return {
      url,
      webUrl: url,
      slug: name,
      publishUrl: url,
      catalogInfoUrl: options.gitRawUrlPattern
        .replaceAll('{repo}', name)
        .replaceAll('{path}', 'catalog-info.yaml'),
    };
  }
  const domain = host === 'github' ? 'github.com' : 'gitlab.com';
  const webUrl = `https://${domain}/${options.owner}/${name}`;
  return {
    url: `${webUrl}.git`,
    webUrl,
    slug: `${options.owner}/${name}`,
    catalogInfoUrl: `${webUrl}${
      host === 'gitlab' ? '/-' : ''
    }/blob/main/catalog-info.yaml`,
    // publish:github / publish:gitlab's repoUrl form.
    publishUrl: `${domain}?owner=${encodeURIComponent(
      options.owner!,
    )}&repo=${encodeURIComponent(name)}`,
  };
}

/**
 * One app of apps per Argo CD instance: it deploys the Application manifests of that
 * instance's environments from argocd/ (`<env>.yaml`, add-instance's
 * `<env>-<instance>.yaml`) and its ApplicationSets (`applicationset-<instance>[-production].yaml`),
 * so what is merged there later deploys without another template run.
 */
function rootApplicationsOf(
  service: string,
  environments: PlannedEnvironment[],
) {
  const instances = [...new Set(environments.map(e => e.instance))];
  return instances.map(instance => {
    const files = [
      ...environments
        .filter(e => e.instance === instance)
        .flatMap(e => [`${e.name}.yaml`, `${e.name}-*.yaml`]),
      `applicationset-${instance}.yaml`,
      `applicationset-${instance}-*.yaml`,
    ];
    return {
      instance,
      name: `${service}-apps`,
      include: `{${files.join(',')}}`,
    };
  });
}

/**
 * The environments grouped by Argo CD instance and production flag, in order of first
 * appearance: one ApplicationSet each, as a set's template has one sync policy
 * (production syncs by hand, the others automatically). A production group is named
 * `<service>-production` (file `applicationset-<instance>-production.yaml`), so it never
 * clashes with the other group of its instance.
 */
function applicationSetsOf(
  service: string,
  environments: PlannedEnvironment[],
) {
  const groups = new Map<string, PlannedEnvironment[]>();
  for (const env of environments) {
    const key = `${env.instance}${env.production ? '-production' : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), env]);
  }
  return [...groups].map(([key, members]) => ({
    key,
    name: `${service}${members[0].production ? '-production' : ''}`,
    instance: members[0].instance,
    production: members[0].production,
    environments: members,
    // The list generator's elements: what the template's placeholders take.
    elements: members.map(e => ({
      environment: e.name,
      namespace: e.namespace,
      cluster: e.cluster,
    })),
  }));
}

/**
 * `gitops:service:plan`: turns the template's form into what the later steps need —
 * the two repositories' URLs and, per environment, its Argo CD instance, destination,
 * namespace, ingress host and whether it is production, and the ApplicationSets that
 * would deploy them — and refuses bad input before anything is created.
 *
 * @public
 */
export function createServicePlanAction(options: { config: Config }) {
  // The Argo CD instances the portal knows, as the gitops backend plugin reads them.
  const instances = readArgoCdInstances(options.config).map(i => i.name);
  return createTemplateAction({
    id: 'gitops:service:plan',
    description:
      "Plans a GitOps service's app and config repositories and its environments from a template's form; refuses invalid names before anything is created.",
    supportsDryRun: true,
    examples: [
      {
        description:
          'Plan service-c on the sandbox Git server, three environments',
        example: [
          'steps:',
          '  - id: plan',
          '    action: gitops:service:plan',
          '    input:',
          '      name: service-c',
          '      repoHost: git',
          '      gitBaseUrl: http://127.0.0.1:7090/git',
          '      environments:',
          '        - { name: dev, instance: main }',
          '        - { name: staging, instance: main }',
          '        - { name: prod, instance: prod }',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        name: z =>
          z
            .string()
            .max(50)
            .regex(DNS_LABEL, 'a DNS label: lower-case letters, digits and -')
            .describe('The service name'),
        repoHost: z =>
          z
            .enum(['git', 'github', 'gitlab'])
            .describe('Where both repositories are created'),
        repoOwner: z =>
          z
            .string()
            .optional()
            .describe('GitHub organisation or GitLab group (github, gitlab)'),
        gitBaseUrl: z =>
          z
            .string()
            .url()
            .optional()
            .describe('Base URL of repositories on a plain Git server (git)'),
        gitRawUrlPattern: z =>
          z
            .string()
            .default('http://127.0.0.1:7090/git/{repo}/raw/main/{path}')
            .describe(
              "URL of a file of a repository on the plain Git server, for the catalog to read ({repo}, {path}); the sandbox's by default",
            ),
        environments: z =>
          z
            .array(
              z.object({
                name: z
                  .string()
                  .max(63)
                  .regex(DNS_LABEL, 'a DNS label')
                  .describe('Environment name'),
                instance: z.string().min(1).describe('Argo CD instance'),
                cluster: z
                  .string()
                  .url()
                  .default('https://kubernetes.default.svc')
                  .describe('Destination cluster API URL'),
                namespace: z
                  .string()
                  .max(63)
                  .regex(DNS_LABEL, 'a DNS label')
                  .optional()
                  .describe('Destination namespace'),
              }),
            )
            .min(1)
            .describe('The environments, in promotion order'),
        namespacePattern: z =>
          z
            .string()
            .default('{service}-{environment}')
            .describe('Namespace of an environment without its own'),
        ingressHostPattern: z =>
          z
            .string()
            .default('')
            .describe(
              'Ingress host per environment, e.g. {service}.{environment}.example.com; empty: no Ingress',
            ),
        chartSource: z =>
          z
            .enum(['git', 'chartRepository'])
            .optional()
            .describe(CHART_SOURCE_DOCS.chartSource),
        chartRepository: z =>
          z.string().optional().describe(CHART_SOURCE_DOCS.chartRepository),
        argocdLayout: z =>
          z
            .enum(['applications', 'applicationSet'])
            .optional()
            .describe(CHART_SOURCE_DOCS.argocdLayout),
      },
      output: {
        appRepo: z => plannedRepository(z),
        configRepo: z => plannedRepository(z),
        environments: z => z.array(plannedEnvironment(z)),
        applicationSets: z =>
          z
            .array(
              z.object({
                key: z
                  .string()
                  .describe(
                    'The instance, with -production for its production group: names the file',
                  ),
                name: z.string().describe('Name of the ApplicationSet'),
                instance: z.string(),
                production: z.boolean(),
                environments: z.array(plannedEnvironment(z)),
                elements: z
                  .array(
                    z.object({
                      environment: z.string(),
                      namespace: z.string(),
                      cluster: z.string(),
                    }),
                  )
                  .describe("Its list generator's elements"),
              }),
            )
            .describe(
              'The environments grouped by Argo CD instance and production flag: one ApplicationSet each',
            ),
        rootApplications: z =>
          z
            .array(
              z.object({
                instance: z.string(),
                name: z.string(),
                include: z.string(),
              }),
            )
            .describe(
              "Per Argo CD instance, the app of apps over argocd/: the files of that instance's environments, add-instance's and ApplicationSets' included",
            ),
        environmentNames: z => z.array(z.string()),
        firstEnvironment: z => z.string(),
        lastEnvironment: z => z.string(),
        chart: z =>
          z
            .object({
              source: z.enum(['git', 'chartRepository']),
              name: z.string(),
              repository: z.string(),
              path: z.string(),
              version: z.string(),
              valuesFilePattern: z.string(),
            })
            .describe(CHART_SOURCE_DOCS.chart),
      },
    },
    async handler(ctx) {
      // The scaffolder checks input against the schema but fills no defaults.
      const {
        name,
        repoHost,
        repoOwner,
        gitBaseUrl,
        environments,
        namespacePattern = '{service}-{environment}',
        ingressHostPattern = '',
        gitRawUrlPattern = 'http://127.0.0.1:7090/git/{repo}/raw/main/{path}',
      } = ctx.input;
      if (repoHost === 'git' && !gitBaseUrl) {
        throw new InputError('gitBaseUrl is required for a plain Git server');
      }
      if (repoHost !== 'git' && !repoOwner) {
        throw new InputError(
          `repoOwner (organisation or group) is required on ${repoHost}`,
        );
      }
      // Each becomes part of a URL the later steps push to or register.
      if (repoHost === 'git') {
        const base = checkRemoteUrl(gitBaseUrl!, 'gitBaseUrl');
        if (base.search || base.hash) {
          throw new InputError(
            'gitBaseUrl must not have a query or fragment: repository URLs are made by appending /<name>.git',
          );
        }
        checkRemoteUrl(
          gitRawUrlPattern
            .replaceAll('{repo}', name)
            .replaceAll('{path}', 'catalog-info.yaml'),
          'gitRawUrlPattern',
        );
      } else if (repoOwner!.length > 255 || !REPO_OWNER.test(repoOwner!)) {
        throw new InputError(
          `repoOwner ${JSON.stringify(
            repoOwner!.slice(0, 100),
          )} is not an organisation or group: letters, digits, '.', '_' and '-', subgroups after '/'`,
        );
      }
      environments.forEach((env, i) =>
        checkRemoteUrl(
          env.cluster || 'https://kubernetes.default.svc',
          `environments[${i}].cluster`,
        ),
      );
      const names = environments.map(e => e.name);
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      if (twice) {
        throw new InputError(`Environment "${twice}" is listed twice`);
      }
      const unknown = environments.find(
        e => instances.length > 0 && !instances.includes(e.instance),
      );
      if (unknown) {
        throw new InputError(
          `Argo CD instance "${unknown.instance}" of ${
            unknown.name
          } is not configured; the portal knows ${instances.join(', ')}`,
        );
      }
      const chart = planChartSource(ctx.input);
      const fill = (pattern: string, environment: string) =>
        pattern
          .replaceAll('{service}', name)
          .replaceAll('{environment}', environment);
      const planned = environments.map((env, i) => {
        const namespace = env.namespace || fill(namespacePattern, env.name);
        if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
          throw new InputError(
            `Namespace "${namespace}" of ${env.name} is not a DNS label`,
          );
        }
        const ingressHost = fill(ingressHostPattern, env.name);
        if (ingressHost && !isHostName(ingressHost)) {
          throw new InputError(
            `ingressHostPattern makes the host ${JSON.stringify(
              ingressHost.slice(0, 100),
            )} for ${env.name}, which is not a DNS name`,
          );
        }
        return {
          name: env.name,
          instance: env.instance,
          cluster: env.cluster || 'https://kubernetes.default.svc',
          namespace,
          ingressHost,
          // The last environment is production: manual sync, pull requests.
          production: i === environments.length - 1,
        };
      });
      const repoOptions = {
        owner: repoOwner,
        gitBaseUrl,
        gitRawUrlPattern,
      };
      const appRepo = repository(repoHost, name, repoOptions);
      const configRepo = repository(repoHost, `${name}-config`, repoOptions);
      ctx.logger.info(
        `${name}: app ${appRepo.url}, config ${configRepo.url}, ${names.join(
          ' → ',
        )}`,
      );
      ctx.output('appRepo', appRepo);
      ctx.output('configRepo', configRepo);
      ctx.output('environments', planned);
      ctx.output('applicationSets', applicationSetsOf(name, planned));
      ctx.output('rootApplications', rootApplicationsOf(name, planned));
      ctx.output('environmentNames', names);
      ctx.output('firstEnvironment', names[0]);
      ctx.output('lastEnvironment', names[names.length - 1]);
      ctx.output('chart', chart);
    },
  });
}
