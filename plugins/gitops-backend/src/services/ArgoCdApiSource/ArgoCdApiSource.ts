import {
  ApplicationQuery,
  ApplicationWatchEvent,
  ArgoApplication,
  GitopsLiveStateSource,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import { RevisionMetadata } from '@gitops-backstage/plugin-gitops-common';
import { z } from 'zod';
import {
  StreamEvent,
  StreamRefusedError,
  streamEvents,
  watchApplications,
  WatchTiming,
} from './applicationWatch';
import { ArgoCdHttp, ArgoCdHttpOptions } from './argoCdHttp';

/** How Argo CD's resource routes name one live resource of an Application. */
function resourceQuery(
  application: { namespace?: string },
  resource: {
    group: string;
    version: string;
    kind: string;
    namespace: string;
    name: string;
  },
) {
  return {
    ...(application.namespace && { appNamespace: application.namespace }),
    namespace: resource.namespace,
    resourceName: resource.name,
    group: resource.group,
    version: resource.version,
    kind: resource.kind,
  };
}

/** Argo CD answers a resource action with an empty ApplicationResponse. */
const actionAnswerSchema = z.object({}).passthrough();
import {
  applicationListSchema,
  applicationSchema,
  itemsOf,
} from '../applicationSchema';

export { UpstreamStatusError } from './argoCdHttp';

const resourceSchema = z.object({ manifest: z.string() });
const revisionMetadataSchema = z.object({
  author: z.string().optional(),
  date: z.string().optional(),
  message: z.string().optional(),
  tags: z.array(z.string()).nullish(),
});

export interface ArgoCdApiSourceOptions extends ArgoCdHttpOptions {
  /** The watch's reconnects, and its polling where the stream is refused. */
  watch?: Partial<WatchTiming>;
}

/** Answers of the stream endpoint that say it will not stream, not that it failed. */
const STREAM_REFUSED = [403, 404, 405, 406, 501];

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
 * The live state of one Argo CD instance, through its REST API (see
 * {@link ArgoCdHttp} for auth, timeouts and retries), watched through its stream.
 */
export class ArgoCdApiSource implements GitopsLiveStateSource {
  readonly id: string;
  readonly frontendUrl: string;
  private readonly http: ArgoCdHttp;

  constructor(private readonly options: ArgoCdApiSourceOptions) {
    this.id = options.instance.name;
    this.frontendUrl = options.instance.frontendUrl;
    this.http = new ArgoCdHttp(options);
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
      this.http.get(
        '/api/v1/applications',
        applicationListSchema,
        options.signal,
        q,
      ),
    );
    const answers = await Promise.all(lists);
    return answers.flatMap(itemsOf) as ArgoApplication[];
  }

  watchApplications(options: {
    signal: AbortSignal;
  }): AsyncIterable<ApplicationWatchEvent> {
    return watchApplications(
      {
        list: async signal => {
          const list = await this.http.get(
            '/api/v1/applications',
            applicationListSchema,
            signal,
            {},
          );
          return {
            items: itemsOf(list),
            resourceVersion: list.metadata?.resourceVersion ?? undefined,
          };
        },
        stream: (resourceVersion, signal) =>
          this.stream(resourceVersion, signal),
      },
      {
        backoffMs: 500,
        maxBackoffMs: 30_000,
        pollMs: 10_000,
        streamRetryMs: 5 * 60_000,
        resyncMs: 10 * 60_000,
        ...this.options.watch,
      },
      options.signal,
    );
  }

  /** One watch answer from `resourceVersion` on; it ends when the connection does. */
  private async *stream(
    resourceVersion: string | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<StreamEvent> {
    const res = await this.http.openStream(
      this.http.url(
        '/api/v1/stream/applications',
        resourceVersion ? { resourceVersion } : {},
      ),
      signal,
    );
    if (STREAM_REFUSED.includes(res.status)) {
      await res.body?.cancel();
      throw new StreamRefusedError(
        'upstream-error',
        `Argo CD instance "${this.id}" refused the watch stream (${res.status})`,
      );
    }
    if (res.status !== 200 || !res.body) {
      // Throws the error the status means (401, 429, 5xx…).
      this.http.answer({ status: res.status, text: await res.text() });
      throw this.http.error(
        'invalid-response',
        `answered the watch with ${res.status}`,
      );
    }
    try {
      yield* streamEvents(res.body, message =>
        this.http.error('invalid-response', message),
      );
    } catch (error) {
      if (signal.aborted || error instanceof GitopsSourceError) throw error;
      throw this.http.error('unreachable', 'dropped the watch stream');
    }
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
    const { manifest } = await this.http.get(
      `/api/v1/applications/${encodeURIComponent(application.name)}/resource`,
      resourceSchema,
      options.signal,
      resourceQuery(application, resource),
    );
    try {
      return JSON.parse(manifest);
    } catch {
      throw this.http.error(
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
    const metadata = await this.http.get(
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
    return (await this.http.call(
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

  /**
   * Argo CD's RunResourceActionV2; an Argo CD without it (before 3.1) answers 404 and
   * gets the deprecated v1 call, which every version has.
   */
  async runResourceAction(
    application: { name: string; namespace?: string },
    resource: {
      group: string;
      version: string;
      kind: string;
      namespace: string;
      name: string;
    },
    action: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const path = `/api/v1/applications/${encodeURIComponent(
      application.name,
    )}/resource/actions`;
    const target = resourceQuery(application, resource);
    try {
      await this.http.call(`${path}/v2`, actionAnswerSchema, {
        signal: options.signal,
        body: { name: application.name, ...target, action },
      });
    } catch (error) {
      if (!(error instanceof GitopsSourceError && error.code === 'not-found'))
        throw error;
      await this.http.call(path, actionAnswerSchema, {
        signal: options.signal,
        query: target,
        body: action,
      });
    }
  }

  private async act(
    application: { name: string },
    action: string,
    signal: AbortSignal | undefined,
    body: object,
  ): Promise<ArgoApplication> {
    return (await this.http.call(
      `/api/v1/applications/${encodeURIComponent(application.name)}${action}`,
      applicationSchema,
      { signal, body },
    )) as unknown as ArgoApplication;
  }
}
