import http from 'node:http';
import { compileLabelSelector } from '@gitops-backstage/plugin-gitops-common';
import { ArgoCdInstance } from './ArgoCdInstance';
import { ArgoError } from './errors';
import { AppState, Json } from './model';
import {
  answerStreamError,
  formatOf,
  OpenStream,
  PROXY_REFUSAL,
} from './streamWire';

export { isStreamRequest, sendStreamFault } from './streamWire';

// Argo CD's application watch, `GET /api/v1/stream/applications`, as its API server
// answers it (upstream at the commit of shared/contracts/argocd/SOURCE.md):
//
// - server/application/application.go, Watch and isApplicationPermitted: without a
//   resourceVersion (or with a name), first an ADDED event per matching Application,
//   sorted by namespace/name; then ADDED, MODIFIED and DELETED as the informer sees
//   them. Filters: `projects` (or the legacy `project`, which wins), `selector`,
//   `name` (with `appNamespace`, default the control plane's namespace; without a
//   name, appNamespace filters nothing), and `resourceVersion` as a minimum (an
//   Application with a lower one is not sent). `repo` and `refresh` are ignored.
//
// How it goes on the wire: streamWire.ts.

/** Watch's default `appNamespace`: the control plane's namespace. */
const CONTROL_PLANE_NAMESPACE = 'argocd';

/** What tests (and the control API) can do with an instance's watch streams. */
export interface StreamControls {
  /**
   * Drops the connection of every open stream mid-answer, as a proxy's timeout does
   * (no last chunk); answers how many.
   */
  cut(): number;
  /** While true, the stream endpoint answers a proxy's 403; every other route answers. */
  refuse: boolean;
  /** Streams open now. */
  readonly open: number;
  /** Stream requests received (refused ones too); `requestCount` counts them as well. */
  readonly requests: number;
  /** Whether the streams follow the instance's changes (only while one is open). */
  readonly listening: boolean;
  /**
   * The open streams: their `x-request-id` header, query, chunks sent so far, and
   * whether the status and headers went out (with the first chunk).
   */
  list(): Array<{
    requestId?: string;
    query: string;
    sent: number;
    answered: boolean;
  }>;
}

/** Go's strconv.Atoi, or undefined where it fails. */
function atoi(value: unknown): number | undefined {
  return typeof value === 'string' && /^[+-]?\d+$/.test(value)
    ? Number(value)
    : undefined;
}

/** Watch's filter (isApplicationPermitted) for one query. */
function permittedBy(query: URLSearchParams): (app: Json) => boolean {
  const legacy = query.getAll('project');
  const projects = new Set(legacy.length ? legacy : query.getAll('projects'));
  const minVersion = atoi(query.get('resourceVersion')) ?? 0;
  const name = query.get('name') ?? '';
  const namespace = query.get('appNamespace') || CONTROL_PLANE_NAMESPACE;
  const selector = query.get('selector');
  let matches: (labels: Record<string, string>) => boolean = () => true;
  try {
    if (selector) matches = compileLabelSelector(selector);
  } catch (error) {
    throw new Error(
      `error parsing labels with selectors: ${(error as Error).message}`,
    );
  }
  return app => {
    const { metadata, spec } = app;
    const version = atoi(metadata.resourceVersion);
    return (
      (projects.size === 0 || projects.has(spec.project || 'default')) &&
      !(version !== undefined && version < minVersion) &&
      (!name || (metadata.name === name && metadata.namespace === namespace)) &&
      matches(metadata.labels ?? {})
    );
  };
}

/** An Application's view as compared between changes (see ApplicationStreams). */
function comparable(view: Json): string {
  return JSON.stringify({
    ...view,
    metadata: { ...view.metadata, resourceVersion: undefined },
    status: view.status && {
      ...view.status,
      reconciledAt: undefined,
      observedAt: undefined,
    },
  });
}

const qualifiedName = (app: Json) =>
  `${app.metadata.namespace ?? ''}/${app.metadata.name}`;

/**
 * The watch streams of one instance. While any is open, each change of the instance
 * (its `touch()`, which bumps the resourceVersion) is followed, once the changing code
 * has run, by a comparison of every Application's view with the last one broadcast:
 * one event per Application that appeared (ADDED), changed (MODIFIED) or went
 * (DELETED), its full view as GET answers it. The view is compared without
 * `metadata.resourceVersion`, `status.reconciledAt` and `status.observedAt`: a pass
 * that changes nothing else bumps no version here, so it sends nothing (Argo CD's
 * controller, reconciling every few minutes, would send a MODIFIED). Scale mode's
 * fixed Applications never change, so they are not rendered again.
 */
export class ApplicationStreams implements StreamControls {
  refuse = false;
  requests = 0;
  private readonly streams = new Set<OpenStream>();
  /** Each Application's comparable view at the last broadcast (fixed ones: null). */
  private seen?: Map<AppState, string | null>;
  private unsubscribe?: () => void;
  private flushQueued = false;

  constructor(private readonly instance: ArgoCdInstance) {}

  get open() {
    return this.streams.size;
  }

  get listening() {
    return this.unsubscribe !== undefined;
  }

  list() {
    return [...this.streams].map(stream => stream.describe());
  }

  cut(): number {
    const open = [...this.streams];
    for (const stream of open) {
      stream.drop();
      this.release(stream);
    }
    return open.length;
  }

  /**
   * Counts a stream request; while `refuse` is set, answers it as the proxy would.
   * Answers whether it did.
   */
  refused(res: http.ServerResponse): boolean {
    this.requests++;
    if (!this.refuse) return false;
    res.writeHead(403, { 'content-type': 'text/html' });
    res.end(PROXY_REFUSAL);
    return true;
  }

  /** Answers a watch request; `authenticate` throws an ArgoError to refuse it. */
  serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    query: URLSearchParams,
    authenticate: () => unknown,
  ) {
    const format = formatOf(req, query);
    let permitted: (app: Json) => boolean;
    try {
      authenticate();
      permitted = permittedBy(query);
    } catch (error) {
      if (error instanceof ArgoError) {
        answerStreamError(res, format, error.status, error.code, error.message);
      } else {
        // Not a gRPC status: Unknown, which grpc-gateway answers with 500.
        answerStreamError(res, format, 500, 2, (error as Error).message);
      }
      return;
    }
    // The client went away while the request waited (latency).
    if (!res.socket || res.socket.destroyed) return;
    const requestId = req.headers['x-request-id'];
    const stream = new OpenStream(res, format, permitted, {
      requestId: typeof requestId === 'string' ? requestId : undefined,
      query: query.toString(),
    });
    // Changes not broadcast yet go to the streams already open, before this one
    // starts from the present.
    this.follow();
    this.streams.add(stream);
    res.on('close', () => this.release(stream));
    if (!query.get('resourceVersion') || query.get('name')) {
      this.instance
        .all()
        .map(state => this.instance.toApplication(state))
        .sort((a, b) => {
          const [x, y] = [qualifiedName(a), qualifiedName(b)];
          return x < y ? -1 : Number(x > y);
        })
        .forEach(app => stream.offer('ADDED', app));
    }
  }

  private follow() {
    if (this.seen) {
      this.flush();
      return;
    }
    this.seen = new Map(
      this.instance
        .all()
        .map(state => [
          state,
          state.fixedStatus
            ? null
            : comparable(this.instance.toApplication(state)),
        ]),
    );
    this.unsubscribe = this.instance.onChange(() => {
      if (this.flushQueued) return;
      this.flushQueued = true;
      // After the code that changed the instance has run to its next await.
      queueMicrotask(() => {
        try {
          this.flush();
        } catch (error) {
          // eslint-disable-next-line no-console
          console.error(
            `sandbox watch streams of ${this.instance.name}: ${error}`,
          );
        }
      });
    });
  }

  private flush() {
    this.flushQueued = false;
    const seen = this.seen;
    if (!seen) return;
    const present = new Set(this.instance.all());
    const events: Array<['ADDED' | 'MODIFIED' | 'DELETED', Json]> = [];
    for (const state of seen.keys()) {
      if (present.has(state)) continue;
      seen.delete(state);
      events.push(['DELETED', this.instance.toApplication(state)]);
    }
    for (const state of present) {
      const before = seen.get(state);
      if (state.fixedStatus) {
        if (before === undefined) {
          seen.set(state, null);
          events.push(['ADDED', this.instance.toApplication(state)]);
        }
        continue;
      }
      const view = this.instance.toApplication(state);
      const now = comparable(view);
      if (before === now) continue;
      seen.set(state, now);
      events.push([before === undefined ? 'ADDED' : 'MODIFIED', view]);
    }
    for (const [type, view] of events) {
      for (const stream of this.streams) stream.offer(type, view);
    }
  }

  private release(stream: OpenStream) {
    if (!this.streams.delete(stream)) return;
    stream.stop();
    if (this.streams.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.seen = undefined;
  }
}
