import { ArgoContracts } from '@gitops-backstage/gitops-sandbox';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { AddressInfo } from 'node:net';

const contracts = ArgoContracts.load();

export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

type Verb = 'get' | 'list' | 'watch';
type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Watcher {
  namespace?: string;
  bookmarks: boolean;
  res: http.ServerResponse;
}

/** An Application custom resource held to application-crd.yaml. */
export function applicationResource(
  name: string,
  project: string,
  env: string,
  options: { namespace?: string; health?: string } = {},
): KubeObject {
  const object = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name,
      namespace: options.namespace ?? 'argocd',
      labels: {
        'app.kubernetes.io/name': 'service-a',
        'gitops/environment': env,
      },
    },
    spec: {
      project,
      source: {
        repoURL: 'https://git.example.com/a-config.git',
        targetRevision: 'main',
        path: 'chart',
      },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: `a-${env}`,
      },
    },
    status: {
      sync: { status: 'Synced', revision: 'b'.repeat(40) },
      health: { status: options.health ?? 'Healthy' },
      summary: { images: ['registry.example.com/a:1.0.0'] },
    },
  };
  checkApplication(object);
  return object;
}

function checkApplication(object: unknown) {
  const errors = contracts?.applicationErrors(object) ?? [];
  if (errors.length > 0)
    throw new Error(`Not an Application: ${errors.join('; ')}`);
}

const keyOf = (object: KubeObject) =>
  `${object.metadata.namespace}/${object.metadata.name}`;

const inNamespace = (object: KubeObject, namespace?: string) =>
  !namespace || object.metadata.namespace === namespace;

function send(res: http.ServerResponse, type: string, object: unknown) {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

function json(res: http.ServerResponse, code: number, body: unknown) {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A Kubernetes Status answer, as the API server refuses. */
function status(
  res: http.ServerResponse,
  code: number,
  reason: string,
  message: string,
) {
  json(res, code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

const APPLICATIONS_PATH =
  /^\/apis\/argoproj\.io\/v1alpha1\/(?:namespaces\/([^/]+)\/)?applications(?:\/([^/]+))?$/;

/**
 * A stand-in Kubernetes API server on 127.0.0.1 holding Argo CD Applications, answering
 * get, list and watch as the API server does (msw cannot intercept
 * @kubernetes/client-node 2, which calls its own undici fetch). A watch
 * (`?watch=true` or `1`) is a chunked answer that stays open, one
 * `{"type", "object"}` line per event: from `resourceVersion` on (the history kept
 * since the last compaction), or every object as ADDED first when none is given; a
 * version older than the compaction gets an ERROR event with a 410 Expired Status, and
 * the watch ends. BOOKMARK events go to watches that allow them. It emits `change`
 * whenever a request arrives or a watch opens or closes.
 */
export class StandInKubernetes extends EventEmitter {
  /** The token the API server accepts; anything else is answered 401. */
  token: string;
  /** Verbs the service account is not granted (answered 403). */
  readonly forbidden = new Set<Verb>();
  /** Called as a watch request arrives, before it is answered. */
  onWatch?: (url: URL) => void;
  /** Every request, in order. */
  readonly requests: Array<{ verb: Verb; url: URL }> = [];
  private revision = 1000;
  /** Watches from a version older than this are too old (etcd compacted it). */
  private compactedRevision = 0;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: Array<{
    revision: number;
    type: ChangeType;
    object: KubeObject;
  }> = [];
  private readonly watchers = new Set<Watcher>();
  private readonly server: http.Server;
  private port = 0;

  static async start(token: string) {
    const cluster = new StandInKubernetes(token);
    await new Promise<void>(resolve =>
      cluster.server.listen(0, '127.0.0.1', resolve),
    );
    cluster.port = (cluster.server.address() as AddressInfo).port;
    return cluster;
  }

  private constructor(token: string) {
    super();
    this.token = token;
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get openWatches() {
    return this.watchers.size;
  }

  /** Resolves once `condition` holds, checked now and on every `change`. */
  until(condition: () => boolean): Promise<void> {
    return new Promise(resolve => {
      const check = () => {
        if (!condition()) return;
        this.off('change', check);
        resolve();
      };
      this.on('change', check);
      check();
    });
  }

  /** Creates or replaces an Application, as `kubectl apply` would. */
  apply(application: KubeObject): KubeObject {
    const key = keyOf(application);
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const object = this.stamp(application);
    checkApplication(object);
    this.objects.set(key, object);
    this.record(type, object);
    return object;
  }

  delete(namespace: string, name: string) {
    const key = `${namespace}/${name}`;
    const held = this.objects.get(key);
    if (!held) throw new Error(`No Application ${key}`);
    this.objects.delete(key);
    this.record('DELETED', this.stamp(held));
  }

  /** Forgets the history so far, as etcd's compaction does. */
  compact() {
    this.compactedRevision = this.revision;
    this.history.length = 0;
  }

  /** Drops every open watch's connection without ending its answer. */
  cutWatches() {
    for (const watcher of this.watchers) {
      this.watchers.delete(watcher);
      watcher.res.socket?.destroy();
    }
    this.emit('change');
  }

  /** Ends every open watch properly, as the API server does after its timeout. */
  endWatches() {
    for (const watcher of this.watchers) {
      this.watchers.delete(watcher);
      watcher.res.end();
    }
    this.emit('change');
  }

  /** Sends a BOOKMARK with the current version to the watches that allow them. */
  bookmark() {
    const object = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { resourceVersion: String(this.revision) },
    };
    for (const watcher of this.watchers) {
      if (watcher.bookmarks) send(watcher.res, 'BOOKMARK', object);
    }
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
  }

  private stamp(application: KubeObject): KubeObject {
    const object = structuredClone(application);
    object.metadata.resourceVersion = String(++this.revision);
    return object;
  }

  private record(type: ChangeType, object: KubeObject) {
    this.history.push({ revision: this.revision, type, object });
    for (const watcher of this.watchers) {
      if (inNamespace(object, watcher.namespace))
        send(watcher.res, type, object);
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url!, this.url);
    const route = APPLICATIONS_PATH.exec(url.pathname);
    const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
    const [, namespace, name] = route ?? [];
    let verb: Verb = watch ? 'watch' : 'list';
    if (name) verb = 'get';
    this.requests.push({ verb, url });
    this.emit('change');
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      status(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    if (!route || req.method !== 'GET') {
      status(
        res,
        404,
        'NotFound',
        'the server could not find the requested resource',
      );
      return;
    }
    if (this.forbidden.has(verb)) {
      const scope = namespace
        ? `in the namespace "${namespace}"`
        : 'at the cluster scope';
      status(
        res,
        403,
        'Forbidden',
        `applications.argoproj.io${name ? ` "${name}"` : ''} is forbidden: ` +
          `User "system:serviceaccount:argocd:backstage" cannot ${verb} ` +
          `resource "applications" in API group "argoproj.io" ${scope}`,
      );
      return;
    }
    if (
      url.searchParams.has('labelSelector') ||
      url.searchParams.has('fieldSelector')
    ) {
      // Selectors are not implemented here: refused rather than ignored.
      status(res, 400, 'BadRequest', 'the stand-in takes no selectors');
      return;
    }
    if (name) {
      const object = this.objects.get(`${namespace}/${name}`);
      if (object) json(res, 200, object);
      else
        status(
          res,
          404,
          'NotFound',
          `applications.argoproj.io "${name}" not found`,
        );
      return;
    }
    if (watch) {
      this.watch(res, url, namespace);
      return;
    }
    const metadata = { resourceVersion: String(this.revision) };
    const metadataErrors = contracts?.definitionErrors('v1ListMeta', metadata);
    if (metadataErrors?.length) throw new Error(metadataErrors.join('; '));
    json(res, 200, {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'ApplicationList',
      metadata,
      items: [...this.objects.values()].filter(o => inNamespace(o, namespace)),
    });
  }

  private watch(res: http.ServerResponse, url: URL, namespace?: string) {
    this.onWatch?.(url);
    const from = url.searchParams.get('resourceVersion');
    // The headers go at once: a quiet watch is an answer with no line yet.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    if (from && from !== '0' && Number(from) < this.compactedRevision) {
      send(res, 'ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${from} (${this.compactedRevision})`,
        reason: 'Expired',
        code: 410,
      });
      res.end();
      return;
    }
    if (!from || from === '0') {
      // No version: the current state first, as synthetic additions.
      for (const object of this.objects.values()) {
        if (inNamespace(object, namespace)) send(res, 'ADDED', object);
      }
    } else {
      for (const event of this.history) {
        if (
          event.revision > Number(from) &&
          inNamespace(event.object, namespace)
        )
          send(res, event.type, event.object);
      }
    }
    const watcher: Watcher = {
      namespace,
      bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
      res,
    };
    this.watchers.add(watcher);
    this.emit('change');
    res.on('close', () => {
      this.watchers.delete(watcher);
      this.emit('change');
    });
  }
}
