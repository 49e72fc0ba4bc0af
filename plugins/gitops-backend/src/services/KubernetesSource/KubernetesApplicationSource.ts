import type {
  CustomObjectsApi,
  KubeConfig,
  KubernetesObject,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import {
  ApplicationQuery,
  ApplicationWatchEvent,
  ArgoApplication,
  GitopsLiveStateSource,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import pLimit from 'p-limit';
import { KubernetesClusterConfig } from '../../config';
import {
  applicationListSchema,
  firstIssue,
  itemsOf,
} from '../applicationSchema';
import { InformerTiming, watchWithInformer } from './applicationInformer';
import { clientNode, isApiException } from './clientNode';

const APPLICATIONS = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  plural: 'applications',
};

/**
 * Live state read straight from the Application custom resources of one cluster
 * (Argo CD in core mode, or where no Argo CD token may be given), with a
 * service-account token. Same interface as the Argo CD API source.
 */
export class KubernetesApplicationSource implements GitopsLiveStateSource {
  readonly id: string;
  readonly frontendUrl?: string;
  readonly applicationNamespace: string;
  /** client-node's config and API client for the cluster, once client-node is loaded. */
  private readonly kube: Promise<{
    kubeConfig: KubeConfig;
    api: CustomObjectsApi;
  }>;
  private readonly limit: pLimit.Limit;
  private readonly watchTiming: InformerTiming;

  constructor(
    private readonly cluster: KubernetesClusterConfig,
    private readonly timeoutMs: number,
    /** Requests in flight at once to this cluster; more wait their turn. */
    concurrency = 8,
    watchTiming: Partial<InformerTiming> = {},
  ) {
    this.limit = pLimit(concurrency);
    this.id = cluster.name;
    this.applicationNamespace = cluster.applicationNamespace;
    this.frontendUrl = cluster.frontendUrl;
    this.watchTiming = { backoffMs: 500, maxBackoffMs: 30_000, ...watchTiming };
    this.kube = clientNode().then(k8s => {
      const kubeConfig = new k8s.KubeConfig();
      kubeConfig.loadFromOptions({
        clusters: [
          {
            name: cluster.name,
            server: cluster.url,
            caData: cluster.caData,
            skipTLSVerify: cluster.skipTLSVerify,
          },
        ],
        users: [{ name: 'backstage', token: cluster.token }],
        contexts: [
          { name: cluster.name, cluster: cluster.name, user: 'backstage' },
        ],
        currentContext: cluster.name,
      });
      return {
        kubeConfig,
        api: kubeConfig.makeApiClient(k8s.CustomObjectsApi),
      };
    });
  }

  /**
   * The Applications the query matches. Items are not checked one by one here: the
   * caller does, so one malformed Application does not hide the others.
   */
  async listApplications(query: ApplicationQuery): Promise<ArgoApplication[]> {
    if ('names' in query) {
      const namespace = query.appNamespace ?? this.cluster.applicationNamespace;
      const found = await Promise.all(
        query.names.map(name =>
          this.call(async () =>
            (
              await this.kube
            ).api.getNamespacedCustomObject({
              ...APPLICATIONS,
              namespace,
              name,
            }),
          )
            .then(object => [object as ArgoApplication])
            .catch(error => {
              if (
                error instanceof GitopsSourceError &&
                error.code === 'not-found'
              )
                return [];
              throw error;
            }),
        ),
      );
      return found.flat();
    }
    const labelSelector = query.selector || undefined;
    const list = await this.call(async () => {
      const { api } = await this.kube;
      return query.appNamespace
        ? api.listNamespacedCustomObject({
            ...APPLICATIONS,
            namespace: query.appNamespace,
            labelSelector,
          })
        : api.listClusterCustomObject({ ...APPLICATIONS, labelSelector });
    });
    // Kubernetes cannot filter by project: Argo CD's `projects` filter, done here.
    const items = itemsOf(this.checkList(list)) as Array<
      Partial<ArgoApplication>
    >;
    return items.filter(
      app =>
        query.projects.length === 0 ||
        query.projects.includes(app?.spec?.project as string),
    ) as ArgoApplication[];
  }

  /**
   * Every Application as it changes, from client-node's informer. It watches every
   * namespace, as selector queries list: the live index answers those from it.
   */
  async *watchApplications(options: {
    signal: AbortSignal;
  }): AsyncIterable<ApplicationWatchEvent> {
    const { group, version, plural } = APPLICATIONS;
    const { kubeConfig, api } = await this.kube;
    const abortedBy = await abortedByMiddleware();
    yield* watchWithInformer(
      {
        kubeConfig,
        path: `/apis/${group}/${version}/${plural}`,
        list: async signal => {
          const list = this.checkList(
            await this.call(() =>
              api.listClusterCustomObject(APPLICATIONS, abortedBy(signal)),
            ),
          );
          return {
            metadata: { resourceVersion: list.metadata?.resourceVersion ?? '' },
            // The informer files objects by metadata, which the API server always sets.
            items: itemsOf(list) as KubernetesObject[],
          };
        },
        errorOf: error => this.sourceError(error, 'watch'),
        timing: this.watchTiming,
      },
      options.signal,
    );
  }

  private checkList(list: unknown) {
    const parsed = applicationListSchema.safeParse(list);
    if (!parsed.success) {
      throw this.error(
        'invalid-response',
        `answered an Application list with an unexpected shape: ${firstIssue(
          parsed.error,
        )}`,
      );
    }
    return parsed.data;
  }

  /**
   * One API call with the plugin's timeout, within the cluster's concurrency limit
   * (the timeout starts with the call), its failure as a GitopsSourceError.
   */
  private call<T>(request: () => Promise<T>): Promise<T> {
    return this.limit(() => this.timed(request));
  }

  private async timed<T>(request: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            this.error(
              'timeout',
              `did not answer within ${this.timeoutMs / 1000} s`,
            ),
          ),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([request(), timeout]);
    } catch (error) {
      throw this.sourceError(error, 'list');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A failed request as a GitopsSourceError: an API answer (ApiException, or the
   * watch's `statusCode` error) by its status, anything else as the connection's failure.
   */
  private sourceError(
    error: unknown,
    action: 'list' | 'watch',
  ): GitopsSourceError {
    if (error instanceof GitopsSourceError) return error;
    const status = isApiException(error)
      ? error.code
      : (error as { statusCode?: unknown })?.statusCode;
    if (typeof status === 'number') {
      if (status === 401)
        return this.error(
          'unauthorized',
          'refused the service-account token (401)',
        );
      if (status === 403)
        return this.error(
          'forbidden',
          `does not let the service account ${action} Applications (403)`,
        );
      if (status === 404)
        return this.error(
          'not-found',
          action === 'list'
            ? 'has no such Application (404)'
            : 'has no Applications to watch (404)',
        );
      if (status === 429)
        return this.error('rate-limited', 'is rate limiting requests (429)');
      return this.error('upstream-error', `answered ${status}`);
    }
    if (error instanceof SyntaxError) {
      return this.error(
        'invalid-response',
        'answered with a body that is not JSON',
      );
    }
    // Node's and undici's codes (ECONNREFUSED, UND_ERR_SOCKET) say most.
    const failure = error as { code?: unknown; cause?: { code?: unknown } };
    const code = [failure?.code, failure?.cause?.code].find(
      c => typeof c === 'string',
    );
    const detail =
      code ?? (error instanceof Error ? error.message : String(error));
    return this.error(
      'unreachable',
      action === 'list'
        ? `is unreachable (${detail})`
        : `broke off the Application watch (${detail})`,
    );
  }

  private error(code: GitopsSourceError['code'], message: string) {
    return new GitopsSourceError(
      code,
      `Kubernetes cluster "${this.id}" ${message}`,
    );
  }
}

/** Request options under which a signal aborts the request. */
async function abortedByMiddleware() {
  const { Observable } = await clientNode();
  return (signal: AbortSignal) => ({
    middleware: [
      {
        pre: (request: RequestContext) => {
          request.setSignal(signal);
          return new Observable(Promise.resolve(request));
        },
        post: (response: ResponseContext) =>
          new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append' as const,
  });
}
