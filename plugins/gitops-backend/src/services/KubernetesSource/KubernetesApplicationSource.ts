import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
} from '@kubernetes/client-node';
import {
  ApplicationQuery,
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
  private readonly api: CustomObjectsApi;
  private readonly limit: pLimit.Limit;

  constructor(
    private readonly cluster: KubernetesClusterConfig,
    private readonly timeoutMs: number,
    /** Requests in flight at once to this cluster; more wait their turn. */
    concurrency = 8,
  ) {
    this.limit = pLimit(concurrency);
    this.id = cluster.name;
    this.frontendUrl = cluster.frontendUrl;
    const kubeConfig = new KubeConfig();
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
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
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
          this.call(() =>
            this.api.getNamespacedCustomObject({
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
    const list = await this.call(() =>
      query.appNamespace
        ? this.api.listNamespacedCustomObject({
            ...APPLICATIONS,
            namespace: query.appNamespace,
            labelSelector,
          })
        : this.api.listClusterCustomObject({ ...APPLICATIONS, labelSelector }),
    );
    const parsed = applicationListSchema.safeParse(list);
    if (!parsed.success) {
      throw this.error(
        'invalid-response',
        `answered an Application list with an unexpected shape: ${firstIssue(
          parsed.error,
        )}`,
      );
    }
    // Kubernetes cannot filter by project: Argo CD's `projects` filter, done here.
    const items = itemsOf(parsed.data) as Array<Partial<ArgoApplication>>;
    return items.filter(
      app =>
        query.projects.length === 0 ||
        query.projects.includes(app?.spec?.project as string),
    ) as ArgoApplication[];
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
      if (error instanceof GitopsSourceError) throw error;
      if (error instanceof ApiException) {
        const status = error.code;
        if (status === 401)
          throw this.error(
            'unauthorized',
            'refused the service-account token (401)',
          );
        if (status === 403)
          throw this.error(
            'forbidden',
            'does not let the service account list Applications (403)',
          );
        if (status === 404)
          throw this.error('not-found', 'has no such Application (404)');
        if (status === 429)
          throw this.error('rate-limited', 'is rate limiting requests (429)');
        throw this.error('upstream-error', `answered ${status}`);
      }
      if (error instanceof SyntaxError) {
        throw this.error(
          'invalid-response',
          'answered with a body that is not JSON',
        );
      }
      const cause = error as { code?: string; cause?: { code?: string } };
      const code = cause.code ?? cause.cause?.code;
      throw this.error(
        'unreachable',
        `is unreachable (${code ?? (error as Error).message})`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private error(code: GitopsSourceError['code'], message: string) {
    return new GitopsSourceError(
      code,
      `Kubernetes cluster "${this.id}" ${message}`,
    );
  }
}
