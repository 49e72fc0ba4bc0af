import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ApplicationQuery,
  ArgoApplication,
  ArgoCdInstanceConfig,
  GitopsLiveStateSource,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import { RevisionMetadata } from '@gitops-backstage/plugin-gitops-common';
import pLimit from 'p-limit';
import { z } from 'zod';
import {
  applicationListSchema,
  applicationSchema,
  firstIssue,
  itemsOf,
} from '../applicationSchema';

const resourceSchema = z.object({ manifest: z.string() });
const revisionMetadataSchema = z.object({
  author: z.string().optional(),
  date: z.string().optional(),
  message: z.string().optional(),
  tags: z.array(z.string()).nullish(),
});

const RETRIED_STATUSES = [429, 502, 503, 504];

/** An error status Argo CD answered with; after 502, 503 or 504 another try may work. */
export class UpstreamStatusError extends GitopsSourceError {
  constructor(message: string, readonly status: number) {
    super('upstream-error', message);
  }

  get retriable() {
    return RETRIED_STATUSES.includes(this.status);
  }
}

export interface ArgoCdApiSourceOptions {
  instance: ArgoCdInstanceConfig;
  logger: LoggerService;
  /** Per attempt. */
  timeoutMs: number;
  /** Retries of idempotent reads after a refused connection, 429 or 502/503/504. */
  retries?: number;
  /** The first retry's delay; it doubles with each retry. */
  backoffMs?: number;
  /** Requests in flight at once to this instance; more wait their turn. Default 8. */
  concurrency?: number;
}

/** Argo CD's List `fields` projection for a fleet view (history cannot be listed). */
const SUMMARY_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.labels',
  'spec.project',
  'spec.source',
  'spec.sources',
  'spec.destination',
  'spec.syncPolicy',
  'status.sync.status',
  'status.sync.revision',
  'status.health',
  'status.summary',
  'status.operationState.phase',
  'status.operationState.startedAt',
  'status.operationState.finishedAt',
];

/**
 * The live state of one Argo CD instance, through its REST API: token or session
 * auth (renewed on 401), a timeout on every call, retries with backoff for reads,
 * and errors as {@link GitopsSourceError} codes that never carry credentials.
 */
export class ArgoCdApiSource implements GitopsLiveStateSource {
  readonly id: string;
  readonly frontendUrl: string;
  private session?: Promise<string>;
  private readonly limit: pLimit.Limit;

  constructor(private readonly options: ArgoCdApiSourceOptions) {
    this.id = options.instance.name;
    this.frontendUrl = options.instance.frontendUrl;
    this.limit = pLimit(options.concurrency ?? 8);
  }

  /**
   * The Applications the query matches. Only the List's envelope is checked here: the
   * caller checks each item, so one malformed Application does not hide the others.
   */
  async listApplications(
    query: ApplicationQuery,
    options: { signal?: AbortSignal; summary?: boolean } = {},
  ): Promise<ArgoApplication[]> {
    const common = {
      ...(query.appNamespace && { appNamespace: query.appNamespace }),
      ...(options.summary && { fields: SUMMARY_FIELDS.join(',') }),
    };
    const queries =
      'names' in query
        ? query.names.map(name => ({ name, ...common }))
        : [
            {
              ...(query.selector && { selector: query.selector }),
              projects: query.projects,
              ...common,
            },
          ];
    const lists = queries.map(q =>
      this.get(
        '/api/v1/applications',
        applicationListSchema,
        options.signal,
        q,
      ),
    );
    const answers = await Promise.all(lists);
    return answers.flatMap(itemsOf) as ArgoApplication[];
  }

  async getResource(
    application: { name: string; namespace?: string },
    resource: {
      group: string;
      version: string;
      kind: string;
      namespace: string;
      name: string;
    },
    options: { signal?: AbortSignal } = {},
  ): Promise<unknown> {
    const { manifest } = await this.get(
      `/api/v1/applications/${encodeURIComponent(application.name)}/resource`,
      resourceSchema,
      options.signal,
      {
        ...(application.namespace && { appNamespace: application.namespace }),
        namespace: resource.namespace,
        resourceName: resource.name,
        group: resource.group,
        version: resource.version,
        kind: resource.kind,
      },
    );
    try {
      return JSON.parse(manifest);
    } catch {
      throw this.error(
        'invalid-response',
        'answered a resource manifest that is not JSON',
      );
    }
  }

  async getRevisionMetadata(
    application: { name: string; namespace?: string },
    revision: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<RevisionMetadata> {
    const metadata = await this.get(
      `/api/v1/applications/${encodeURIComponent(
        application.name,
      )}/revisions/${encodeURIComponent(revision)}/metadata`,
      revisionMetadataSchema,
      options.signal,
      application.namespace ? { appNamespace: application.namespace } : {},
    );
    return { ...metadata, tags: metadata.tags ?? [] };
  }

  syncApplication(
    application: { name: string; namespace?: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<ArgoApplication> {
    return this.act(application, '/sync', options.signal, {
      ...(application.namespace && { appNamespace: application.namespace }),
    });
  }

  async refreshApplication(
    application: { name: string; namespace?: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<ArgoApplication> {
    // Argo CD has no refresh route: a GET with refresh=normal refreshes and waits.
    return (await this.call(
      `/api/v1/applications/${encodeURIComponent(application.name)}`,
      applicationSchema,
      {
        signal: options.signal,
        query: {
          refresh: 'normal',
          ...(application.namespace && { appNamespace: application.namespace }),
        },
      },
    )) as unknown as ArgoApplication;
  }

  rollbackApplication(
    application: { name: string; namespace?: string },
    historyId: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<ArgoApplication> {
    return this.act(application, '/rollback', options.signal, {
      id: historyId,
      ...(application.namespace && { appNamespace: application.namespace }),
    });
  }

  private async act(
    application: { name: string },
    action: string,
    signal: AbortSignal | undefined,
    body: object,
  ): Promise<ArgoApplication> {
    return (await this.call(
      `/api/v1/applications/${encodeURIComponent(application.name)}${action}`,
      applicationSchema,
      { signal, body },
    )) as unknown as ArgoApplication;
  }

  /** A GET, validated against `schema`, retried on transient failures. */
  private get<T>(
    path: string,
    schema: z.ZodType<T>,
    signal: AbortSignal | undefined,
    query: Record<string, string | string[]>,
  ): Promise<T> {
    return this.call(path, schema, { signal, query });
  }

  /**
   * One call, its answer validated against `schema`. A read (no body) is retried on
   * transient failures; a write (a POST body) never is.
   */
  private async call<T>(
    path: string,
    schema: z.ZodType<T>,
    options: {
      signal?: AbortSignal;
      query?: Record<string, string | string[]>;
      body?: unknown;
    },
  ): Promise<T> {
    const { signal, query = {}, body: requestBody } = options;
    const url = new URL(`${this.options.instance.url}${path}`);
    for (const [key, value] of Object.entries(query)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        url.searchParams.append(key, v);
      }
    }
    const retries = requestBody === undefined ? this.options.retries ?? 2 : 0;
    const backoffMs = this.options.backoffMs ?? 200;
    for (let attempt = 0; ; attempt++) {
      try {
        const body = await this.request(url, signal, requestBody);
        const parsed = schema.safeParse(body);
        if (!parsed.success) {
          throw this.error(
            'invalid-response',
            `answered ${path} with an unexpected shape: ${firstIssue(
              parsed.error,
            )}`,
          );
        }
        return parsed.data;
      } catch (error) {
        const transient =
          error instanceof GitopsSourceError &&
          (error.code === 'unreachable' ||
            error.code === 'rate-limited' ||
            (error instanceof UpstreamStatusError && error.retriable));
        if (!transient || attempt >= retries || signal?.aborted) throw error;
        this.options.logger.warn(`${(error as Error).message}; retrying`);
        await sleep(backoffMs * 2 ** attempt, signal);
      }
    }
  }

  /** One authenticated call; renews an expired session once. */
  private async request(
    url: URL,
    signal?: AbortSignal,
    body?: unknown,
  ): Promise<unknown> {
    const first = await this.fetchJson(url, await this.token(), signal, body);
    if (
      first.status !== 401 ||
      this.options.instance.credentials.kind !== 'password'
    ) {
      return this.answer(first);
    }
    this.session = undefined;
    // A 401 was not acted on: the same call again after a new login is safe.
    return this.answer(
      await this.fetchJson(url, await this.token(), signal, body),
    );
  }

  private token(): Promise<string> {
    const credentials = this.options.instance.credentials;
    if (credentials.kind === 'token') return Promise.resolve(credentials.token);
    this.session ??= (async () => {
      const url = new URL(`${this.options.instance.url}/api/v1/session`);
      const answer = await this.fetchJson(url, undefined, undefined, {
        username: credentials.username,
        password: credentials.password,
      });
      const body = this.answer(answer) as { token?: unknown };
      if (typeof body?.token !== 'string') {
        throw this.error(
          'invalid-response',
          'answered a session without a token',
        );
      }
      return body.token;
    })();
    // A failed login is not cached: the next call tries again.
    this.session.catch(() => {
      this.session = undefined;
    });
    return this.session;
  }

  /** One HTTP exchange, within the instance's concurrency limit; the timeout starts with it. */
  private fetchJson(
    url: URL,
    token: string | undefined,
    signal?: AbortSignal,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    return this.limit(() => this.exchange(url, token, signal, body));
  }

  private async exchange(
    url: URL,
    token: string | undefined,
    signal?: AbortSignal,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const res = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          accept: 'application/json',
          ...(token && { authorization: `Bearer ${token}` }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      return { status: res.status, text: await res.text() };
    } catch (error) {
      if (timeout.aborted) {
        throw this.error(
          'timeout',
          `did not answer within ${this.options.timeoutMs / 1000} s`,
        );
      }
      if (signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw this.error(
        'unreachable',
        `is unreachable${cause ? ` (${cause})` : ''}`,
      );
    }
  }

  private answer(answer: { status: number; text: string }): unknown {
    const { status, text } = answer;
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      if (status >= 200 && status < 300) {
        throw this.error(
          'invalid-response',
          'answered with a body that is not JSON',
        );
      }
    }
    if (status >= 200 && status < 300) return body;
    const upstream = (body as { message?: unknown })?.message;
    const detail = typeof upstream === 'string' ? `: ${upstream}` : '';
    if (status === 401)
      throw this.error(
        'unauthorized',
        `refused the credentials (401)${detail}`,
      );
    if (status === 403)
      throw this.error('forbidden', `denied access (403)${detail}`);
    if (status === 404)
      throw this.error('not-found', `has no such object (404)${detail}`);
    if (status === 429)
      throw this.error('rate-limited', `is rate limiting requests (429)`);
    throw new UpstreamStatusError(
      `Argo CD instance "${this.id}" answered ${status}${detail}`,
      status,
    );
  }

  private error(code: GitopsSourceError['code'], message: string) {
    return new GitopsSourceError(
      code,
      `Argo CD instance "${this.id}" ${message}`,
    );
  }
}

function sleep(ms: number, signal?: AbortSignal) {
  return new Promise<void>(resolve => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
