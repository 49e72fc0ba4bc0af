import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import {
  createTemplateAction,
  TemplateActionOptions,
} from '@backstage/plugin-scaffolder-node';
import {
  ArgoCdInstanceConfig,
  readArgoCdInstances,
} from '@gitops-backstage/plugin-gitops-node';
import { stringify } from 'yaml';
import { examples } from './argocdApplicationCreate.examples';

/** Kubernetes names (DNS-1123 labels): Argo CD also puts the name in a label value. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const IN_CLUSTER = 'https://kubernetes.default.svc';

/** The scaffolder's zod (its own copy), for schema parts used twice. */
type Zod = Parameters<
  NonNullable<NonNullable<TemplateActionOptions['schema']>['input']>[string]
>[0];

const sourceSchema = (z: Zod) =>
  z.object({
    repoURL: z.string().min(1).describe('Git repository of the config'),
    targetRevision: z
      .string()
      .optional()
      .describe('Branch, tag or commit; default HEAD'),
    path: z.string().optional().describe('Directory of the Helm chart'),
    ref: z
      .string()
      .optional()
      .describe('Name other sources use as $<ref>/ in valueFiles'),
    helm: z
      .object({
        valueFiles: z.array(z.string()).optional(),
        releaseName: z.string().optional(),
      })
      .optional(),
  });

type Source = {
  repoURL: string;
  targetRevision?: string;
  path?: string;
  ref?: string;
  helm?: { valueFiles?: string[]; releaseName?: string };
};

interface Input {
  instance?: string;
  name: string;
  namespace?: string;
  project?: string;
  labels?: Record<string, string>;
  source?: Source;
  sources?: Source[];
  destination: { server?: string; name?: string; namespace: string };
  syncPolicy?: {
    automated?: { prune?: boolean; selfHeal?: boolean };
    syncOptions?: string[];
  };
  automated?: boolean;
  upsert?: boolean;
  applicationSet?: {
    applicationName: string;
    elements: Array<Record<string, string>>;
    goTemplate?: boolean;
  };
}

/** The Application (argoproj.io/v1alpha1) the input describes. */
function applicationOf(input: Input) {
  // The scaffolder checks input against the JSON schema; this also holds without it.
  for (const [key, value] of [
    ['name', input.name],
    ['namespace', input.namespace ?? 'argocd'],
  ]) {
    if (!DNS_LABEL.test(value ?? '')) {
      throw new InputError(
        `Invalid ${key} "${value}": a DNS-1123 label (a-z, 0-9 and -, at most 63 characters)`,
      );
    }
  }
  if (Boolean(input.source) === Boolean(input.sources)) {
    throw new InputError('Give either source or sources');
  }
  const { server, name: cluster, namespace } = input.destination;
  if (server && cluster) {
    throw new InputError(
      'Give destination.server or destination.name, not both',
    );
  }
  if (input.automated !== undefined && input.syncPolicy?.automated) {
    throw new InputError('Give automated or syncPolicy.automated, not both');
  }
  const source = (s: Source) => ({
    ...s,
    targetRevision: s.targetRevision ?? 'HEAD',
  });
  const syncPolicy = {
    ...input.syncPolicy,
    ...(input.automated && { automated: { prune: true, selfHeal: true } }),
  };
  return {
    metadata: {
      name: input.name,
      namespace: input.namespace ?? 'argocd',
      ...(input.labels && { labels: input.labels }),
    },
    spec: {
      project: input.project ?? 'default',
      ...(input.source
        ? { source: source(input.source) }
        : { sources: input.sources!.map(source) }),
      destination: cluster
        ? { name: cluster, namespace }
        : { server: server ?? IN_CLUSTER, namespace },
      ...(Object.keys(syncPolicy).length > 0 && { syncPolicy }),
    },
  };
}

/** `{{key}}` (Argo CD's fasttemplate), or `{{.key}}` with goTemplate: the placeholders checked and filled here. */
function placeholders(goTemplate: boolean) {
  return goTemplate
    ? /\{\{-?\s*\.(\w+)\s*-?\}\}/g
    : /\{\{\s*([^{}\s]+)\s*\}\}/g;
}

/**
 * The ApplicationSet whose list generator has the input's elements and whose template
 * is the Application the input describes (placeholders kept), with the names of the
 * Applications it generates. Refuses elements that would not fill the template or
 * would make bad or clashing names, before Argo CD's controller does it quietly.
 */
function applicationSetOf(
  input: Input,
  application: ReturnType<typeof applicationOf>,
) {
  const {
    applicationName,
    elements,
    goTemplate = false,
  } = input.applicationSet!;
  if (elements.length === 0) {
    throw new InputError(
      'applicationSet.elements is empty: give one element per Application',
    );
  }
  const { labels } = application.metadata;
  const template = {
    metadata: { name: applicationName, ...(labels && { labels }) },
    spec: application.spec,
  };
  const used = new Set(
    [...JSON.stringify(template).matchAll(placeholders(goTemplate))].map(
      m => m[1],
    ),
  );
  const names = elements.map((element, i) => {
    const missing = [...used].find(k => !Object.hasOwn(element, k));
    if (missing) {
      throw new InputError(
        `applicationSet.elements[${i}] has no "${missing}", which the Application template uses`,
      );
    }
    const name = applicationName.replace(
      placeholders(goTemplate),
      (_, k: string) => element[k],
    );
    if (!DNS_LABEL.test(name)) {
      throw new InputError(
        `applicationSet.elements[${i}] makes the Application name "${name}", not a DNS-1123 label (a-z, 0-9 and -, at most 63 characters)`,
      );
    }
    return name;
  });
  const twice = names.findIndex((n, i) => names.indexOf(n) !== i);
  if (twice >= 0) {
    throw new InputError(
      `applicationSet.elements[${names.indexOf(
        names[twice],
      )}] and [${twice}] both make the Application "${names[twice]}"`,
    );
  }
  const { name, namespace } = application.metadata;
  return {
    applicationSet: {
      metadata: { name, namespace },
      spec: {
        // missingkey=error: a missing key fails, not an Application named "<no value>".
        ...(goTemplate && {
          goTemplate: true,
          goTemplateOptions: ['missingkey=error'],
        }),
        generators: [{ list: { elements } }],
        template,
      },
    },
    names,
  };
}

/**
 * Argo CD's REST API, for one create: a token from config or a session from
 * username and password. Errors name the instance and carry Argo CD's message,
 * never a credential.
 */
class ArgoCdClient {
  constructor(
    private readonly instance: ArgoCdInstanceConfig,
    private readonly timeoutMs: number,
  ) {}

  async createApplication(application: object, upsert: boolean) {
    const token = await this.token();
    return this.call(
      'POST',
      `/api/v1/applications?upsert=${upsert}`,
      application,
      token,
      `refused to create Application "${
        (application as { metadata: { name: string } }).metadata.name
      }"`,
    );
  }

  async createApplicationSet(applicationSet: object, upsert: boolean) {
    const token = await this.token();
    return this.call(
      'POST',
      `/api/v1/applicationsets?upsert=${upsert}`,
      applicationSet,
      token,
      `refused to create ApplicationSet "${
        (applicationSet as { metadata: { name: string } }).metadata.name
      }"`,
    );
  }

  private async token(): Promise<string> {
    const { credentials } = this.instance;
    if (credentials.kind === 'token') return credentials.token;
    const { username, password } = credentials;
    const session = await this.call(
      'POST',
      '/api/v1/session',
      { username, password },
      undefined,
      'refused the login',
    );
    return session.token;
  }

  private async call(
    method: string,
    path: string,
    body: unknown,
    token: string | undefined,
    refused: string,
  ): Promise<any> {
    const where = `Argo CD instance "${this.instance.name}" (${this.instance.url})`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.instance.url}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          ...(token && { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify(body),
        signal: timeout,
      });
    } catch (error) {
      if (timeout.aborted) {
        throw new Error(
          `${where} did not answer within ${this.timeoutMs / 1000} s`,
        );
      }
      const code = (error as { cause?: { code?: string } }).cause?.code;
      throw new Error(`${where} is unreachable${code ? ` (${code})` : ''}`);
    }
    const text = await res.text();
    let answer: any;
    try {
      answer = text ? JSON.parse(text) : {};
    } catch {
      answer = undefined;
    }
    if (!res.ok) {
      const message =
        typeof answer?.message === 'string' ? `: ${answer.message}` : '';
      throw new Error(`${where} ${refused} (${res.status})${message}`);
    }
    if (answer === undefined) {
      throw new Error(`${where} answered ${path} with a body that is not JSON`);
    }
    return answer;
  }
}

/**
 * `argocd:application:create`: registers an Argo CD Application (or an ApplicationSet
 * generating one per element) through the Argo CD API of a configured instance, for
 * config repositories that no app of apps watches.
 *
 * @public
 */
export function createArgoCdApplicationCreateAction(options: {
  config: Config;
  logger?: LoggerService;
  /** Per call; creating renders the sources, so it may take a while. Default 30 s. */
  timeoutMs?: number;
}) {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const instances = readArgoCdInstances(options.config);
  return createTemplateAction({
    id: 'argocd:application:create',
    description:
      'Creates (or updates, with upsert) an Argo CD Application, or an ApplicationSet generating one per element, through the API of a configured Argo CD instance.',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        instance: z =>
          z
            .string()
            .optional()
            .describe(
              'Name of a configured Argo CD instance; default the first',
            ),
        name: z =>
          z
            .string()
            .regex(DNS_LABEL, 'a DNS-1123 label')
            .describe('Name of the Application (of the ApplicationSet)'),
        namespace: z =>
          z
            .string()
            .regex(DNS_LABEL, 'a DNS-1123 label')
            .optional()
            .describe('Namespace of the Application; default argocd'),
        project: z =>
          z.string().optional().describe('Argo CD project; default default'),
        labels: z =>
          z
            .record(z.string(), z.string())
            .optional()
            .describe(
              'Labels; the GitOps plugin reads gitops/environment and app.kubernetes.io/name',
            ),
        source: z =>
          sourceSchema(z).optional().describe('The source (or sources)'),
        sources: z =>
          z
            .array(sourceSchema(z))
            .min(1)
            .optional()
            .describe('Multi-source, e.g. a chart and a `ref: values` source'),
        destination: z =>
          z.object({
            server: z
              .string()
              .optional()
              .describe(`Cluster API URL; default ${IN_CLUSTER}`),
            name: z.string().optional().describe('Cluster name, or server'),
            namespace: z.string().min(1).describe('Namespace to deploy to'),
          }),
        syncPolicy: z =>
          z
            .object({
              automated: z
                .object({
                  prune: z.boolean().optional(),
                  selfHeal: z.boolean().optional(),
                })
                .optional(),
              syncOptions: z.array(z.string()).optional(),
            })
            .optional(),
        automated: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Shorthand: syncPolicy.automated with prune and selfHeal',
            ),
        upsert: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Replace an existing different Application (ApplicationSet); default true',
            ),
        applicationSet: z =>
          z
            .object({
              applicationName: z
                .string()
                .min(1)
                .describe(
                  'Name of each Application, with placeholders: service-c-{{environment}}',
                ),
              elements: z
                .array(z.record(z.string(), z.string()))
                .min(1)
                .describe(
                  "The list generator's elements: one Application each, its values filling the {{key}} placeholders of every input",
                ),
              goTemplate: z
                .boolean()
                .optional()
                .describe(
                  'Placeholders are Go templates ({{.key}}), with missingkey=error',
                ),
            })
            .optional()
            .describe(
              'Create an ApplicationSet named name instead, whose template is the Application the other inputs describe',
            ),
      },
      output: {
        name: z => z.string(),
        namespace: z =>
          z.string().describe('Namespace of the Application (ApplicationSet)'),
        instance: z => z.string().describe('The Argo CD instance'),
        url: z =>
          z
            .string()
            .describe('The Application (ApplicationSet) in the Argo CD UI'),
        applications: z =>
          z
            .array(z.string())
            .describe(
              "Names of the Applications: the ApplicationSet's as Argo CD's answer lists them, else (dry run, or a controller yet to generate them) as its elements make them",
            ),
      },
    },
    async handler(ctx) {
      const input: Input = ctx.input;

      const instance = input.instance
        ? instances.find(i => i.name === input.instance)
        : instances[0];
      if (!instance) {
        const known = instances.map(i => `"${i.name}"`).join(', ');
        throw new InputError(
          input.instance
            ? `Unknown Argo CD instance "${input.instance}"; configured: ${
                known || 'none'
              }`
            : 'No Argo CD instance is configured (argocd.appLocatorMethods[].instances)',
        );
      }
      const application = applicationOf(input);
      const { name, namespace } = application.metadata;
      const set = input.applicationSet
        ? applicationSetOf(input, application)
        : undefined;
      const kind = set ? 'ApplicationSet' : 'Application';
      const body = set?.applicationSet ?? application;
      const url = `${
        instance.frontendUrl
      }/${kind.toLowerCase()}s/${namespace}/${name}`;
      const generating = set ? `, generating ${set.names.join(', ')}` : '';
      let applications = set?.names ?? [name];

      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would create on Argo CD instance "${
            instance.name
          }"${generating}:\n${stringify({
            apiVersion: 'argoproj.io/v1alpha1',
            kind,
            ...body,
          })}`,
        );
      } else {
        // A retried task finds the checkpoint and does not create again.
        const created = await ctx.checkpoint({
          key: `argocd-${kind.toLowerCase()}-${instance.name}-${name}`,
          fn: async () => {
            const client = new ArgoCdClient(instance, timeoutMs);
            const upsert = input.upsert ?? true;
            const answer = set
              ? await client.createApplicationSet(body, upsert)
              : await client.createApplication(body, upsert);
            // Argo CD's controller generates a set's Applications after the answer
            // (the sandbox's at once): names from the answer when it has them.
            const listed: string[] = set
              ? (answer.status?.resources ?? [])
                  .filter((r: { kind?: string }) => r.kind === 'Application')
                  .map((r: { name: string }) => r.name)
              : [];
            return {
              uid: String(answer.metadata?.uid ?? ''),
              applications: listed.length > 0 ? listed : applications,
            };
          },
        });
        applications = created.applications ?? applications;
        ctx.logger.info(
          `Argo CD instance "${
            instance.name
          }" has ${kind} ${namespace}/${name}${
            set ? `, generating ${applications.join(', ')}` : ''
          }: ${url}`,
        );
        options.logger?.info(
          `Created Argo CD ${kind} ${namespace}/${name} (uid ${created.uid}) on instance "${instance.name}"`,
        );
      }
      ctx.output('name', name);
      ctx.output('namespace', namespace);
      ctx.output('instance', instance.name);
      ctx.output('url', url);
      ctx.output('applications', applications);
    },
  });
}
