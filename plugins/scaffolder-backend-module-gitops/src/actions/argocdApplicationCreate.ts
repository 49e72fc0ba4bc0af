import {
  AuditorService,
  LoggerService,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { InputError, NotAllowedError } from '@backstage/errors';
import {
  createTemplateAction,
  TemplateActionOptions,
} from '@backstage/plugin-scaffolder-node';
import {
  isEntityRef,
  readArgoCdInstances,
  readProjectOwnership,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { stringify } from 'yaml';
import { ArgoCdClient } from './argoCdClient';
import { actorOf, ArgoCdCreateGuard, CreateRequest } from './argoCdCreateGuard';
import {
  applicationOf,
  applicationSetOf,
  DNS_LABEL,
  IN_CLUSTER,
  Input,
  repoURLsOf,
} from './argoCdManifests';
import { examples } from './argocdApplicationCreate.examples';

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
    chart: z
      .string()
      .optional()
      .describe(
        'Name of a chart in the Helm chart repository repoURL, instead of path; targetRevision is its version (or a semver range)',
      ),
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
    directory: z
      .object({
        recurse: z.boolean().optional(),
        include: z.string().optional(),
        exclude: z.string().optional(),
      })
      .optional()
      .describe(
        'A directory of manifests instead of a chart, e.g. the Application manifests an app of apps deploys',
      ),
  });

/**
 * `argocd:application:create`: registers an Argo CD Application (or an ApplicationSet
 * generating one per element) through the Argo CD API of a configured instance, for
 * config repositories that no app of apps watches. The Application names the entity
 * it belongs to; who may create what is ArgoCdCreateGuard's, and every attempt,
 * refused ones too, is an audit event.
 *
 * @public
 */
export function createArgoCdApplicationCreateAction(options: {
  config: Config;
  permissions: PermissionsService;
  userInfo: UserInfoService;
  auditor: AuditorService;
  logger?: LoggerService;
  /** Per call; creating renders the sources, so it may take a while. Default 30 s. */
  timeoutMs?: number;
}) {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const instances = readArgoCdInstances(options.config);
  const guard = new ArgoCdCreateGuard({
    projects: readProjectOwnership(options.config),
    permissions: options.permissions,
    userInfo: options.userInfo,
  });
  return createTemplateAction({
    id: 'argocd:application:create',
    description:
      'Creates (or, with upsert, updates its own) Argo CD Application, or an ApplicationSet generating one per element, through the API of a configured Argo CD instance, in a project app-config hands to the user running the template.',
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
        entityRef: z =>
          z
            .string()
            .min(1)
            .describe(
              'The catalog entity the Application belongs to, e.g. component:default/service-c; written as the annotation gitops.backstage.io/entity-ref, and an existing Application is replaced only when it names the same',
            ),
        project: z =>
          z
            .string()
            .optional()
            .describe(
              'Argo CD project, one app-config (gitops.projects) hands to you; default default',
            ),
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
              'Replace an existing different Application (ApplicationSet), which must name the same entity; default false',
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
      if (!isEntityRef(input.entityRef ?? '')) {
        throw new InputError(
          `Invalid entityRef "${input.entityRef}": a full entity ref such as component:default/service-c`,
        );
      }
      const entityRef = input.entityRef.toLocaleLowerCase('en-US');
      const application = applicationOf(input, entityRef);
      const { name, namespace } = application.metadata;
      const set = input.applicationSet
        ? applicationSetOf(input, application)
        : undefined;
      const kind = set ? 'ApplicationSet' : 'Application';
      const body = set?.applicationSet ?? application;
      const url = `${
        instance.frontendUrl
      }/${kind.toLowerCase()}s/${namespace}/${name}`;
      let applications = set?.generated.map(g => g.name) ?? [name];
      const request: CreateRequest = {
        kind,
        name,
        namespace,
        entityRef,
        deploys: set?.generated ?? [
          {
            name,
            project: application.spec.project,
            destination: application.spec.destination,
            repoURLs: repoURLsOf(application.spec),
          },
        ],
        upsert: input.upsert ?? false,
      };
      const credentials = await ctx.getInitiatorCredentials();
      const actor = actorOf(credentials);
      const audit = (severityLevel: 'medium' | 'high') =>
        options.auditor.createEvent({
          eventId: 'argocd-application-create',
          severityLevel,
          meta: {
            actor,
            instance: instance.name,
            kind,
            name: `${namespace}/${name}`,
            applications,
            entityRef,
            projects: [...new Set(request.deploys.map(d => d.project))],
            upsert: request.upsert,
            dryRun: Boolean(ctx.isDryRun),
            task: ctx.task?.id ?? null,
          },
        });

      // Who may create what: checked in a dry run too, which calls no Argo CD.
      const client = new ArgoCdClient(instance, timeoutMs);
      try {
        const initiator = await guard.authorize(credentials, request);
        if (!ctx.isDryRun) {
          await guard.checkExisting(client, request, initiator);
        }
      } catch (error) {
        // A refusal is a high-severity event; Argo CD not answering the check is not.
        const refused = error instanceof NotAllowedError;
        const event = await audit(refused ? 'high' : 'medium');
        await event.fail({ error: error as Error });
        throw error;
      }

      if (ctx.isDryRun) {
        ctx.logger.info(
          redactUrl(
            `Dry run: would create on Argo CD instance "${instance.name}"${
              set ? `, generating ${applications.join(', ')}` : ''
            }:\n${stringify({
              apiVersion: 'argoproj.io/v1alpha1',
              kind,
              ...body,
            })}`,
          ),
        );
      } else {
        const event = await audit('medium');
        try {
          // A retried task finds the checkpoint and does not create again.
          const created = await ctx.checkpoint({
            key: `argocd-${kind.toLowerCase()}-${instance.name}-${name}`,
            fn: async () => {
              const answer = set
                ? await client.createApplicationSet(body, request.upsert)
                : await client.createApplication(body, request.upsert);
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
          await event.success({ meta: { uid: created.uid } });
          ctx.logger.info(
            `Argo CD instance "${
              instance.name
            }" has ${kind} ${namespace}/${name}${
              set ? `, generating ${applications.join(', ')}` : ''
            }: ${url}`,
          );
          options.logger?.info(
            `Created Argo CD ${kind} ${namespace}/${name} (uid ${created.uid}) on instance "${instance.name}" for ${entityRef}, run by ${actor}`,
          );
        } catch (error) {
          await event.fail({ error: error as Error });
          throw error;
        }
      }
      ctx.output('name', name);
      ctx.output('namespace', namespace);
      ctx.output('instance', instance.name);
      ctx.output('url', url);
      ctx.output('applications', applications);
    },
  });
}
