import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import {
  createTemplateAction,
  TemplateActionOptions,
} from '@backstage/plugin-scaffolder-node';
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
}

interface ArgoCdInstance {
  name: string;
  url: string;
  frontendUrl: string;
  token?: string;
  username?: string;
  password?: string;
}

/** The instances as the GitOps backend reads them: `argocd.appLocatorMethods[type=config]`. */
function readInstances(config: Config): ArgoCdInstance[] {
  const username = config.getOptionalString('argocd.username');
  const password = config.getOptionalString('argocd.password');
  return (config.getOptionalConfigArray('argocd.appLocatorMethods') ?? [])
    .filter(method => method.getString('type') === 'config')
    .flatMap(method => method.getOptionalConfigArray('instances') ?? [])
    .map(instance => {
      const url = instance.getString('url').replace(/\/+$/, '');
      return {
        name: instance.getString('name'),
        url,
        frontendUrl: (instance.getOptionalString('frontendUrl') ?? url).replace(
          /\/+$/,
          '',
        ),
        token: instance.getOptionalString('token'),
        username: instance.getOptionalString('username') ?? username,
        password: instance.getOptionalString('password') ?? password,
      };
    });
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

/**
 * Argo CD's REST API, for one create: a token from config or a session from
 * username and password. Errors name the instance and carry Argo CD's message,
 * never a credential.
 */
class ArgoCdClient {
  constructor(
    private readonly instance: ArgoCdInstance,
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

  private async token(): Promise<string> {
    const { name, token, username, password } = this.instance;
    if (token) return token;
    if (!username || !password) {
      throw new InputError(
        `Argo CD instance "${name}" has no token, nor username and password, in app-config`,
      );
    }
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
 * `argocd:application:create`: registers an Argo CD Application through the Argo CD
 * API of a configured instance, for config repositories that no app of apps watches.
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
  return createTemplateAction({
    id: 'argocd:application:create',
    description:
      'Creates (or updates, with upsert) an Argo CD Application through the API of a configured Argo CD instance.',
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
            .describe('Name of the Application'),
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
              'Replace an existing different Application; default true',
            ),
      },
      output: {
        name: z => z.string(),
        namespace: z => z.string().describe('Namespace of the Application'),
        instance: z => z.string().describe('The Argo CD instance'),
        url: z => z.string().describe('The Application in the Argo CD UI'),
      },
    },
    async handler(ctx) {
      const input: Input = ctx.input;
      const instances = readInstances(options.config);
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
      const url = `${instance.frontendUrl}/applications/${namespace}/${name}`;

      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would create on Argo CD instance "${
            instance.name
          }":\n${stringify({
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'Application',
            ...application,
          })}`,
        );
      } else {
        // A retried task finds the checkpoint and does not create again.
        const created = await ctx.checkpoint({
          key: `argocd-application-${instance.name}-${name}`,
          fn: async () => {
            const answer = await new ArgoCdClient(
              instance,
              timeoutMs,
            ).createApplication(application, input.upsert ?? true);
            return { uid: String(answer.metadata?.uid ?? '') };
          },
        });
        ctx.logger.info(
          `Argo CD instance "${instance.name}" has Application ${namespace}/${name}: ${url}`,
        );
        options.logger?.info(
          `Created Argo CD Application ${namespace}/${name} (uid ${created.uid}) on instance "${instance.name}"`,
        );
      }
      ctx.output('name', name);
      ctx.output('namespace', namespace);
      ctx.output('instance', instance.name);
      ctx.output('url', url);
    },
  });
}
